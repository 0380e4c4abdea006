package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestEventRowGroupsParallel checks that the events file, whose row groups are encoded
// concurrently, is byte-identical whatever the number of workers when it has many row
// groups, and holds the same rows as a file with one row group.
func TestEventRowGroupsParallel(t *testing.T) {
	opts := Options{Contacts: 700, Seed: 5}
	const groupRows = 3000
	var files [][]byte
	for _, w := range []int{1, 2, 5} {
		dir := t.TempDir()
		opts.Workers = w
		if _, err := generate(context.Background(), dir, opts, groupRows); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, EventsFile))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	for i := 1; i < len(files); i++ {
		if !bytes.Equal(files[0], files[i]) {
			t.Errorf("events file with workers %d differs from workers 1", []int{1, 2, 5}[i])
		}
	}
	f, err := parquet.OpenFile(bytes.NewReader(files[0]), int64(len(files[0])))
	if err != nil {
		t.Fatal(err)
	}
	groups := f.RowGroups()
	if len(groups) < 3 {
		t.Fatalf("%d row groups, want several of %d rows", len(groups), groupRows)
	}
	for i, g := range groups[:len(groups)-1] {
		if g.NumRows() != groupRows {
			t.Errorf("row group %d has %d rows, want %d", i, g.NumRows(), groupRows)
		}
	}
	one := t.TempDir()
	opts.Workers = 2
	if _, err := Generate(context.Background(), one, opts); err != nil {
		t.Fatal(err)
	}
	want, err := parquet.ReadFile[eventRow](filepath.Join(one, EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[eventRow](bytes.NewReader(files[0]), int64(len(files[0])))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b eventRow) bool {
		return a.TS == b.TS && a.Type == b.Type && a.ContactID == b.ContactID && a.AnonymousID == b.AnonymousID &&
			a.Email == b.Email && a.Page == b.Page && a.Channel == b.Channel && a.Campaign == b.Campaign &&
			(a.Value == nil) == (b.Value == nil) && (a.Value == nil || *a.Value == *b.Value)
	}) {
		t.Errorf("events in small row groups (%d rows) differ from those in one row group (%d rows)", len(got), len(want))
	}
}
