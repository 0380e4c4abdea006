package pipeline

import (
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/serving/batch"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	code := m.Run()
	if generatedDir.Load() != nil {
		os.RemoveAll(*generatedDir.Load())
	}
	os.Exit(code)
}

// generatedDir is the history generated, removed when the tests end.
var generatedDir atomic.Pointer[string]

// generated is one 20,000-contact history shared by the tests (generating it takes seconds).
var generated = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "propensity-beam-history-")
	if err != nil {
		return "", err
	}
	generatedDir.Store(&dir)
	_, err = synth.Generate(context.Background(), dir, synth.Options{Contacts: 20000})
	return dir, err
})

func history20k(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("the Prism runs take a minute: not in -short")
	}
	dir, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// runPrism runs p on the Prism runner in this process.
func runPrism(t *testing.T, p *beam.Pipeline) beam.PipelineResult {
	t.Helper()
	res, err := beam.Run(context.Background(), "prism", p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// readFeatureShards reads every shard of a features job's output.
func readFeatureShards(t *testing.T, dir string) (rows map[string]features.Row, opts features.Options, schema *features.Schema) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shards in %s (%v)", dir, err)
	}
	rows = map[string]features.Row{}
	for i, f := range files {
		tb, err := history.ReadParquet(f)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			opts, schema = tb.Options(), tb.Schema()
		} else if !reflect.DeepEqual(tb.Schema(), schema) {
			t.Fatalf("%s: schema differs from the first shard's", f)
		}
		for r := range tb.Len() {
			row := tb.Row(r)
			if _, dup := rows[row.Strs[0]]; dup {
				t.Fatalf("contact %s in two rows", row.Strs[0])
			}
			rows[row.Strs[0]] = row
		}
		tb.Release()
	}
	return rows, opts, schema
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestFeaturesMatchEmbedded: on a generated history with merged identities, the Beam job on
// Prism writes the table `propensity features` (history.Build) writes, cell by cell.
func TestFeaturesMatchEmbedded(t *testing.T) {
	dir := history20k(t)
	opts := features.Options{AsOf: synth.DefaultAsOf(), Horizon: 90 * 24 * time.Hour}
	want, _, err := history.Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	out := t.TempDir()
	p, err := Features(Config{Dir: dir, Opts: opts, Out: out, Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	res := runPrism(t, p)
	rounds, err := StitchRounds(res, 12)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stitching needed %d of 12 rounds", rounds)
	got, gotOpts, schema := readFeatureShards(t, out)
	merged, diffs := compareFeatures(t, want, got, gotOpts, schema)
	if merged == 0 {
		t.Fatal("the history has no merged people: the test does not check stitching")
	}
	t.Logf("%d people (%d merged), %d differing cells", want.Len(), merged, diffs)
}

// compareFeatures compares the job's rows with the embedded table cell by cell; it returns
// the number of merged people and of differing cells.
func compareFeatures(t *testing.T, want *history.Table, got map[string]features.Row, gotOpts features.Options, schema *features.Schema) (merged, diffs int) {
	t.Helper()
	if !reflect.DeepEqual(schema, want.Schema()) {
		t.Fatalf("schema differs:\n got %v\nwant %v", schema.Columns, want.Schema().Columns)
	}
	wo := want.Options()
	if !reflect.DeepEqual(gotOpts.Attributes, wo.Attributes) || !slices.Equal(gotOpts.ProductCategories, wo.ProductCategories) {
		t.Fatalf("options differ: got %+v / %v, want %+v / %v", gotOpts.Attributes, gotOpts.ProductCategories, wo.Attributes, wo.ProductCategories)
	}
	if len(got) != want.Len() {
		t.Errorf("%d people, want %d", len(got), want.Len())
	}
	for i := range want.Len() {
		w := want.Row(i)
		id := w.Strs[0]
		g, ok := got[id]
		if !ok {
			t.Errorf("person %s missing", id)
			diffs++
			continue
		}
		if len(w.MergedIDs) > 0 {
			merged++
		}
		if !slices.Equal(g.MergedIDs, w.MergedIDs) {
			t.Errorf("person %s: merged ids %v, want %v", id, g.MergedIDs, w.MergedIDs)
			diffs++
		}
		for c, col := range schema.Columns {
			if !same(g.Nums[c], w.Nums[c]) || g.Strs[c] != w.Strs[c] {
				diffs++
				if diffs <= 20 {
					t.Errorf("person %s, %s: got %v %q, want %v %q", id, col.Name, g.Nums[c], g.Strs[c], w.Nums[c], w.Strs[c])
				}
			}
		}
	}
	return merged, diffs
}

// TestScoreMatchesEmbedded: the Beam score job equals `propensity score --data` (batch.Score)
// with the embedded scorecard.
func TestScoreMatchesEmbedded(t *testing.T) {
	dir := history20k(t)
	asOf := synth.DefaultAsOf()
	ctx := context.Background()
	set, cards, err := LoadModelSet(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	wantFile := filepath.Join(t.TempDir(), "scores.parquet")
	if _, err := batch.Score(ctx, set, batch.Options{Dir: dir, AsOf: asOf, Out: wantFile, Scorecards: cards}); err != nil {
		t.Fatal(err)
	}
	want, err := batch.ReadFile(wantFile)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	p, err := Score(ctx, ScoreConfig{Config: Config{Dir: dir, Opts: features.Options{AsOf: asOf}, Out: out, Shards: 2}})
	if err != nil {
		t.Fatal(err)
	}
	runPrism(t, p)
	files, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	got := map[string]batch.Row{}
	for _, f := range files {
		rows, err := batch.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got[r.ContactID] = r
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
	mql, diffs := 0, 0
	for _, w := range want {
		if w.MQL {
			mql++
		}
		if g := got[w.ContactID]; !reflect.DeepEqual(g, w) {
			diffs++
			if diffs <= 10 {
				t.Errorf("contact %s:\n got %+v\nwant %+v", w.ContactID, g, w)
			}
		}
	}
	if mql == 0 {
		t.Fatal("no MQL in the embedded scores: the test checks little")
	}
	t.Logf("%d rows, %d MQL, %d differ", len(want), mql, diffs)
}
