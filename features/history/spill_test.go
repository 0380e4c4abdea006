package history

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// TestSpillSameOutput checks that a budget small enough to split the people into many
// partitions (events spilled to disk) gives the same feature file, byte for byte, as an
// unbounded in-memory run, whatever the number of workers, and leaves no temporary files.
func TestSpillSameOutput(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour}
	ref := Engine{Workers: 1, groupRows: 128}
	tab, _, err := ref.Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(t.TempDir(), "want.parquet")
	if err := ref.WriteParquet(want, tab); err != nil {
		t.Fatal(err)
	}
	tab.Release()
	wantBytes, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{1, 3} {
		tmp := t.TempDir()
		spilled := false
		e := Engine{Workers: w, groupRows: 128, Memory: 300 << 10, TmpDir: tmp,
			afterSpill: func(d string) { spilled = len(spillFiles(t, d)) > 3 }}
		out := filepath.Join(t.TempDir(), "got.parquet")
		if _, _, err := e.WriteFeatures(context.Background(), dir, opts, out); err != nil {
			t.Fatal(err)
		}
		if !spilled {
			t.Fatalf("workers %d: the budget did not split the people into several spilled partitions", w)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantBytes) {
			t.Errorf("workers %d: feature file with a small budget differs from the unbounded one", w)
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("workers %d: temporary files left after success: %v", w, left)
		}
	}
	// An unbounded WriteFeatures writes the same file too.
	out := filepath.Join(t.TempDir(), "mem.parquet")
	if _, _, err := (Engine{Workers: 2, groupRows: 128, Memory: 1 << 40}).WriteFeatures(context.Background(), dir, opts, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, wantBytes) {
		t.Error("WriteFeatures in memory differs from Build + WriteParquet")
	}
}

// TestSpillCleanup interrupts a spilling run once its events are on disk, and makes one fail
// at its output, and checks that neither leaves temporary files or an output behind.
func TestSpillCleanup(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf}
	t.Run("interrupted", func(t *testing.T) {
		tmp := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var seen []string
		e := Engine{Workers: 2, groupRows: 128, Memory: 300 << 10, TmpDir: tmp,
			afterSpill: func(d string) { seen = spillFiles(t, d); cancel() }}
		out := filepath.Join(t.TempDir(), "f.parquet")
		_, _, err := e.WriteFeatures(ctx, dir, opts, out)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(seen) == 0 {
			t.Fatal("no spill files existed when the run was interrupted")
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("temporary files left after interrupt: %v", left)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("output exists after interrupt (%v)", err)
		}
	})
	t.Run("failed", func(t *testing.T) {
		tmp := t.TempDir()
		out := filepath.Join(t.TempDir(), "missing", "f.parquet")
		e := Engine{Workers: 2, groupRows: 128, Memory: 300 << 10, TmpDir: tmp}
		if _, _, err := e.WriteFeatures(context.Background(), dir, opts, out); err == nil {
			t.Fatal("writing into a missing directory succeeded")
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("temporary files left after failure: %v", left)
		}
	})
}

// spillFiles lists every file and directory under d.
func spillFiles(t *testing.T, d string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(d, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != d {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFoldRecordsRefusesDamage checks that a spill block that does not hold whole records of
// the partition's people is an error, not a fold of garbage: a record cut short, a value cut
// short, and a person outside the partition.
func TestFoldRecordsRefusesDamage(t *testing.T) {
	accs := make([]features.EventAcc, 10)
	rec := func(person int32, value float64) []byte {
		return putRecord(nil, &evRec{person: person, ts: testAsOf.UnixNano() - 1e9, code: 1, value: value})
	}
	good := append(rec(100, math.NaN()), rec(109, 2.5)...)
	if err := foldRecords(good, accs, 100, testAsOf.UnixNano(), 30); err != nil {
		t.Fatalf("whole records of the partition: %v", err)
	}
	for name, b := range map[string][]byte{
		"record cut short": good[:spillHead-1],
		"value cut short":  rec(101, 1)[:spillHead+4],
		"person below":     rec(99, math.NaN()),
		"person beyond":    rec(110, math.NaN()),
		"second cut short": append(rec(100, math.NaN()), rec(101, math.NaN())[:3]...),
	} {
		if err := foldRecords(b, accs, 100, testAsOf.UnixNano(), 30); !errors.Is(err, errSpillRecord) {
			t.Errorf("%s: got %v, want errSpillRecord", name, err)
		}
	}
}
