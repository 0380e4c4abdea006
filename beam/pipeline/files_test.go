package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

// TestFeaturesOnMemfs: a history on one of Beam's file systems (memfs, standing in for gs://
// and s3://), its events file a directory of part files, gives the embedded table, and the
// output shards land on that file system only when the job has succeeded.
func TestFeaturesOnMemfs(t *testing.T) {
	if testing.Short() {
		t.Skip("a Prism run: not in -short")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Generate(ctx, dir, synth.Options{Contacts: 2000}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"contacts.parquet", "identities.parquet", "transactions.parquet"} {
		copyToMemfs(t, filepath.Join(dir, name), "memfs://hist/"+name)
	}
	copyToMemfs(t, filepath.Join(dir, "events.parquet"), "memfs://hist/events.parquet/part-00000.parquet")

	opts := features.Options{AsOf: synth.DefaultAsOf(), Horizon: 90 * 24 * time.Hour}
	want, _, err := history.Build(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	tmp, commit, _, err := PrepareOutput(ctx, "memfs://out")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Features(Config{Dir: "memfs://hist", Opts: opts, Out: tmp, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	runPrism(t, p)
	fs := memfs.New(ctx)
	if files, _ := fs.List(ctx, "memfs://out/*"); len(files) != 0 {
		t.Fatalf("shards published before commit: %v", files)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	files, err := fs.List(ctx, "memfs://out/*")
	if err != nil || len(files) != 2 {
		t.Fatalf("want 2 shards at memfs://out, have %v (%v)", files, err)
	}
	local := t.TempDir()
	for _, f := range files {
		if _, err := fetch(ctx, f, local, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
	got, gotOpts, schema := readFeatureShards(t, local)
	if _, diffs := compareFeatures(t, want, got, gotOpts, schema); diffs > 0 {
		t.Errorf("%d differing cells", diffs)
	}
	if _, _, _, err := PrepareOutput(ctx, "memfs://out"); err == nil {
		t.Error("PrepareOutput accepted an output that holds files")
	}
}

func copyToMemfs(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	memfs.Write(dst, b)
}

// TestRemoteSplits: a remote history file is split by part file, in name order; a missing
// contacts file is the embedded build's error.
func TestRemoteSplits(t *testing.T) {
	ctx := context.Background()
	memfs.Write("memfs://splits/events.parquet/part-1.parquet", []byte("x"))
	memfs.Write("memfs://splits/events.parquet/part-0.parquet", []byte("x"))
	memfs.Write("memfs://splits/events.parquet/notes.txt", []byte("x"))
	opts := features.Options{}
	s, err := remoteSplits(ctx, "memfs://splits", opts, history.Events)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].File != "memfs://splits/events.parquet/part-0.parquet" || s[1].Part != 1 || s[0].RowGroup != -1 {
		t.Errorf("splits %+v", s)
	}
	if s, err := remoteSplits(ctx, "memfs://splits", opts, history.Transactions); err != nil || len(s) != 0 {
		t.Errorf("a missing transactions file: %v, %v; want no splits", s, err)
	}
	if _, err := remoteSplits(ctx, "memfs://splits", opts, history.Contacts); !errors.Is(err, history.ErrEmptyDir) {
		t.Errorf("a missing contacts file: %v, want ErrEmptyDir", err)
	}
}
