package history

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// TestWorkersSameOutput checks that the feature file is byte-identical for one worker and
// several, with the people split into many ranges and the file into many row groups.
func TestWorkersSameOutput(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour}
	var files [][]byte
	workers := []int{1, 2, 7}
	for _, w := range workers {
		e := Engine{Workers: w, rangeRows: 50, groupRows: 128}
		tab, rep, err := e.Build(context.Background(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.People < 500 {
			t.Fatalf("%d people, want a history with many ranges of 50", rep.People)
		}
		out := filepath.Join(t.TempDir(), "f.parquet")
		if err := e.WriteParquet(out, tab); err != nil {
			t.Fatal(err)
		}
		tab.Release()
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	for i := 1; i < len(files); i++ {
		if !bytes.Equal(files[0], files[i]) {
			t.Errorf("feature file with %d workers differs from 1 worker", workers[i])
		}
	}
	back, err := ReadParquet(writeTemp(t, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Release()
	ref, _, err := Engine{Workers: 1}.Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Release()
	if back.Len() != ref.Len() {
		t.Fatalf("file has %d rows, table %d", back.Len(), ref.Len())
	}
	for i := 0; i < ref.Len(); i += 37 {
		a, b := ref.Row(i), back.Row(i)
		for c := range a.Nums {
			if a.Strs[c] != b.Strs[c] || !sameNum(a.Nums[c], b.Nums[c]) {
				t.Fatalf("row %d column %s: table %v %q, file %v %q", i, ref.Schema().Columns[c].Name, a.Nums[c], a.Strs[c], b.Nums[c], b.Strs[c])
			}
		}
	}
}

func sameNum(a, b float64) bool { return a == b || (a != a && b != b) }

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReportWithConcurrentTransactions checks the report of a run that reads the
// transactions while it folds the events: its files come in the order they are read in
// sequence (contacts, identities, events, transactions), it counts every transaction row,
// and it is the same in memory, spilled, and with one worker or several.
func TestReportWithConcurrentTransactions(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour}
	var reps []Report
	for _, e := range []Engine{{Workers: 1}, {Workers: 3}, {Workers: 2, Memory: 1, groupRows: 128}} {
		_, rep, err := e.WriteFeatures(context.Background(), dir, opts, filepath.Join(t.TempDir(), "f.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	rep := reps[0]
	var names []string
	var txRows int64
	for _, f := range rep.Files {
		names = append(names, filepath.Base(f.File))
		if filepath.Base(f.File) == "transactions.parquet" {
			txRows += f.Rows
		}
	}
	want := []string{"contacts.parquet", "identities.parquet", "events.parquet", "transactions.parquet"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	if rep.Transactions == 0 || rep.Transactions != txRows {
		t.Errorf("%d transactions counted, the file report has %d rows", rep.Transactions, txRows)
	}
	// The spilled run says how it was split; otherwise the reports are the same.
	if sp := reps[2]; sp.Partitions < 2 || sp.SpillBytes < (rep.Transactions-rep.Unattributed)*txMinSize || sp.StitchedBytes <= 0 {
		t.Errorf("spilled run: %d partitions, %d spill bytes, %d stitched bytes; want several partitions, at least %d bytes of transactions spilled, and the stitched memory measured",
			sp.Partitions, sp.SpillBytes, sp.StitchedBytes, (rep.Transactions-rep.Unattributed)*txMinSize)
	}
	if rep.Partitions != 1 || rep.SpillBytes != 0 {
		t.Errorf("in-memory run: %d partitions, %d spill bytes; want 1 and 0", rep.Partitions, rep.SpillBytes)
	}
	reps[2].Partitions, reps[2].SpillBytes, reps[2].StitchedBytes = rep.Partitions, rep.SpillBytes, rep.StitchedBytes
	for i, r := range reps[1:] {
		if !reflect.DeepEqual(r, rep) {
			t.Errorf("run %d: report %+v, want %+v", i+1, r, rep)
		}
	}
}
