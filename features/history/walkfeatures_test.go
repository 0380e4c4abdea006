package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// TestMapPersonsWithFeaturesRows checks that MapPersonsWithFeatures hands each person the row
// Engine.Build gives for their contact_id, value for value, and nil to a person the feature
// table has no row for: with the walk in one piece and split into many partitions (the
// feature file then written through spill files too, in row groups smaller than the
// partitions, so that partitions begin and end inside row groups), and with feature options
// that stitch people otherwise than the walk's: on a history with identity links after the
// as-of time, strict identity keeps apart people that the default stitching merges, so the
// walk has people without a row, or the table rows without a person. No temporary files are
// left.
func TestMapPersonsWithFeaturesRows(t *testing.T) {
	dir := appendAfter(t, generated(t), false, 5)
	// Forty links after the as-of time, between people of the first hundred and the rest.
	var people []string
	if _, err := ForEachPerson(context.Background(), dir, features.Options{AsOf: testAsOf}, func(p *Person) error {
		people = append(people, p.ContactID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var links []idRowT
	for i := range 40 {
		links = append(links, idRowT{IDA: people[i], IDB: people[100+i*17], TS: testAsOf.Add(time.Duration(i) * time.Hour).UnixMicro()})
	}
	writeRows(t, filepath.Join(dir, "identities.parquet", "part-0001.parquet"), links)
	strict := features.Options{AsOf: testAsOf, StrictIdentity: true}
	cases := []struct {
		name             string
		walk, feats      features.Options
		missing, skipped bool // people without a row, rows without a person
	}{
		{"same options", features.Options{AsOf: testAsOf}, features.Options{AsOf: testAsOf}, false, false},
		{"strict rows", features.Options{AsOf: testAsOf, KeepEvent: func(typ, _ string) bool { return typ != "page_view" }}, strict, false, true},
		{"strict walk", strict, features.Options{AsOf: testAsOf}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab, _, err := Engine{Workers: 2}.Build(context.Background(), dir, tc.feats)
			if err != nil {
				t.Fatal(err)
			}
			defer tab.Release()
			want := map[string]features.Row{}
			for i, id := range tab.ContactIDs() {
				want[id] = tab.Row(i)
			}
			merged := 0
			for _, r := range want {
				merged += min(1, len(r.MergedIDs))
			}
			if len(want) < 500 || merged == 0 {
				t.Fatalf("fixture too small: %d rows, %d with merged ids", len(want), merged)
			}
			people = people[:0]
			if _, err := (Engine{Workers: 2, Memory: 1 << 40}).ForEachPerson(context.Background(), dir, tc.walk, func(p *Person) error {
				people = append(people, p.ContactID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			withRow := 0
			for _, id := range people {
				if _, ok := want[id]; ok {
					withRow++
				}
			}
			if withRow < len(people)/2 || (withRow < len(people)) != tc.missing || (withRow < len(want)) != tc.skipped {
				t.Fatalf("%d people, %d rows, %d people with a row: not the case tested", len(people), len(want), withRow)
			}
			engines := map[string]Engine{
				"one partition": {Workers: 2, Memory: 1 << 40},
				"partitions":    {Workers: 3, Memory: 1, walkRows: 150, groupRows: 128, rangeRows: 64},
			}
			for ename, e := range engines {
				tmp := t.TempDir()
				e.TmpDir = tmp
				var got []string
				rows := 0
				rep, err := MapPersonsWithFeatures(context.Background(), e, dir, tc.walk, tc.feats, func(p *Person, row *features.Row) (string, error) {
					w, ok := want[p.ContactID]
					switch {
					case row == nil && ok:
						return "", fmt.Errorf("%s: no row, Build has one", p.ContactID)
					case row != nil && !ok:
						return "", fmt.Errorf("%s: a row, Build has none", p.ContactID)
					case row != nil:
						if d := rowDiff(row, &w); d != "" {
							return "", fmt.Errorf("%s: %s", p.ContactID, d)
						}
					}
					if row != nil {
						return "+" + p.ContactID, nil
					}
					return p.ContactID, nil
				}, func(s string) error {
					if id, ok := strings.CutPrefix(s, "+"); ok {
						s = id
						rows++
					}
					got = append(got, s)
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", ename, err)
				}
				if ename == "partitions" && rep.Partitions < 4 {
					t.Fatalf("%s: %d partitions: the budget did not split the walk", ename, rep.Partitions)
				}
				if !slices.Equal(got, people) {
					t.Fatalf("%s: %d people, want the walk's %d, in its order", ename, len(got), len(people))
				}
				if rows != withRow {
					t.Fatalf("%s: %d people with a row, want %d", ename, rows, withRow)
				}
				if left := spillFiles(t, tmp); len(left) > 0 {
					t.Errorf("%s: temporary files left after success: %v", ename, left)
				}
			}
		})
	}
}

// rowDiff describes how got differs from want, or returns "". Numbers are compared bit for
// bit, NaN (null) included.
func rowDiff(got, want *features.Row) string {
	if !slices.Equal(got.Schema.Names(), want.Schema.Names()) {
		return fmt.Sprintf("columns %v, want %v", got.Schema.Names(), want.Schema.Names())
	}
	names := want.Schema.Names()
	for c := range names {
		g, w := got.Nums[c], want.Nums[c]
		if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
			return fmt.Sprintf("%s = %v, want %v", names[c], g, w)
		}
		if got.Strs[c] != want.Strs[c] {
			return fmt.Sprintf("%s = %q, want %q", names[c], got.Strs[c], want.Strs[c])
		}
	}
	if (got.MergedIDs == nil) != (want.MergedIDs == nil) || !slices.Equal(got.MergedIDs, want.MergedIDs) {
		return fmt.Sprintf("merged ids %#v, want %#v", got.MergedIDs, want.MergedIDs)
	}
	return ""
}

// TestMapPersonsWithFeaturesCleanup interrupts MapPersonsWithFeatures while the feature
// table is being written and once it is written and the walk's events are spilled, and
// stops it with an error from fn, and checks that none of them leaves temporary files.
func TestMapPersonsWithFeaturesCleanup(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf}
	nothing := func(*Person, *features.Row) (int, error) { return 0, nil }
	ignore := func(int) error { return nil }
	// The feature file is under the temporary directory once written.
	written := func(files []string) bool {
		return slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, "features.parquet") })
	}
	for _, stage := range []string{"writing features", "walking"} {
		t.Run("interrupted "+stage, func(t *testing.T) {
			tmp := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seen []string
			e := Engine{Workers: 2, Memory: 1, TmpDir: tmp, walkRows: 100, groupRows: 128, afterSpill: func(string) {
				if files := spillFiles(t, tmp); written(files) == (stage == "walking") {
					seen = files
					cancel()
				}
			}}
			_, err := MapPersonsWithFeatures(ctx, e, dir, opts, opts, nothing, ignore)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if len(seen) == 0 {
				t.Fatalf("the run was not interrupted %s", stage)
			}
			if left := spillFiles(t, tmp); len(left) > 0 {
				t.Errorf("temporary files left after interrupt: %v", left)
			}
		})
	}
	t.Run("fn error", func(t *testing.T) {
		tmp := t.TempDir()
		stop := errors.New("stop")
		var n atomic.Int64
		e := Engine{Workers: 2, Memory: 1, TmpDir: tmp, walkRows: 100}
		_, err := MapPersonsWithFeatures(context.Background(), e, dir, opts, opts, func(*Person, *features.Row) (int, error) {
			if n.Add(1) == 250 {
				return 0, stop
			}
			return 0, nil
		}, ignore)
		if !errors.Is(err, stop) {
			t.Fatalf("err = %v, want fn's error", err)
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("temporary files left after an error: %v", left)
		}
	})
}

// TestWalkPartitionsCountHeld checks that the memory a caller holds for each person shrinks
// the walk's partitions: a budget that holds the people's events whole is split when each
// person also holds a share of twice the budget.
func TestWalkPartitionsCountHeld(t *testing.T) {
	var rep Report
	h, err := openHistory(context.Background(), generated(t), features.Options{AsOf: testAsOf}, &rep, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	e := Engine{Memory: 1 << 40}
	for _, tc := range []struct {
		held       int64
		minP, maxP int
	}{{0, 1, 1}, {2 * e.Memory / int64(len(h.pContact)), 4, 5}} {
		parts, _, err := e.walkPartitions(context.Background(), h, tc.held)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) < tc.minP || len(parts) > tc.maxP {
			t.Errorf("held %d bytes a person: %d partitions, want %d to %d", tc.held, len(parts), tc.minP, tc.maxP)
		}
	}
}
