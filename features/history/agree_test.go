package history

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// sameValue compares two feature cells: exactly for counts and strings, to 1e-9 relative
// for floating-point features.
func sameValue(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// TestBatchOnlineAgree checks that the online path (a Person turned into a Profile, through
// JSON as a client would send it, then ComputeProfile) gives the batch row on every column.
func TestBatchOnlineAgree(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour}
	table, _, err := Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	rowOf := map[string]int{}
	for i, id := range table.ContactIDs() {
		rowOf[id] = i
	}
	online := table.Options()
	oc := features.NewOnline(online)
	checked, merged := 0, 0
	_, err = ForEachPerson(context.Background(), dir, opts, func(p *Person) error {
		i, ok := rowOf[p.ContactID]
		if !ok {
			t.Errorf("person %s has no batch row", p.ContactID)
			return nil
		}
		// every 7th person, and every stitched one
		if i%7 != 0 && len(p.MergedIDs) == 0 {
			return nil
		}
		if len(p.MergedIDs) > 0 {
			merged++
		}
		body, err := json.Marshal(p.Profile(testAsOf))
		if err != nil {
			return err
		}
		prof, err := features.DecodeProfile(bytes.NewReader(body), time.Now())
		if err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
		got, err := features.ComputeProfile(prof, online)
		if err != nil {
			return err
		}
		// Online, with its schema built once, gives ComputeProfile's row.
		again, err := oc.Compute(prof)
		if err != nil {
			return err
		}
		if !slices.Equal(again.Schema.Names(), got.Schema.Names()) || !slices.Equal(again.Strs, got.Strs) ||
			!slices.Equal(again.MergedIDs, got.MergedIDs) ||
			!slices.EqualFunc(again.Nums, got.Nums, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
			t.Fatalf("%s: Online.Compute differs from ComputeProfile", p.ContactID)
		}
		want := table.Row(i)
		if len(got.Nums) != len(want.Nums) {
			t.Fatalf("online row has %d columns, batch %d", len(got.Nums), len(want.Nums))
		}
		for c, col := range want.Schema.Columns {
			if got.Schema.Columns[c].Name != col.Name {
				t.Fatalf("column %d: online %s, batch %s", c, got.Schema.Columns[c].Name, col.Name)
			}
			switch col.Kind {
			case features.KindID, features.KindCategorical:
				if got.Strs[c] != want.Strs[c] {
					t.Errorf("%s of %s: online %q, batch %q", col.Name, p.ContactID, got.Strs[c], want.Strs[c])
				}
			case features.KindIDList:
			default:
				if !sameValue(got.Nums[c], want.Nums[c]) {
					t.Errorf("%s of %s: online %v, batch %v", col.Name, p.ContactID, got.Nums[c], want.Nums[c])
				}
			}
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 || merged == 0 {
		t.Errorf("checked %d people (%d stitched): too few", checked, merged)
	}
}
