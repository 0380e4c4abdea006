package tabular

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

// TestFeatureFrame checks that the frame holds exactly the kept columns, in table order, with
// each column's values as the table's typed accessors give them.
func TestFeatureFrame(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sum, err := synth.Generate(ctx, dir, synth.Options{Contacts: 200, Seed: 2, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	tab, _, err := history.Build(ctx, dir, features.Options{AsOf: sum.AsOf, Horizon: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Release()

	var feats, cats []string
	for _, c := range tab.Schema().Columns {
		if c.IsFeature() {
			feats = append(feats, c.Name)
			if c.Kind == features.KindCategorical {
				cats = append(cats, c.Name)
			}
		}
	}
	if len(cats) == 0 {
		t.Fatal("the generated table has no categorical feature; the test needs one")
	}

	t.Run("nil keeps the feature columns", func(t *testing.T) {
		f, err := FeatureFrame(tab, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Names(); !slices.Equal(got, feats) {
			t.Fatalf("columns %v, want %v", got, feats)
		}
		for _, c := range f.Columns {
			if c.Len() != tab.Len() {
				t.Errorf("%s has %d rows, want %d", c.Name, c.Len(), tab.Len())
			}
			if slices.Contains(cats, c.Name) {
				want, _ := tab.Strings(c.Name)
				if !slices.Equal(c.Cat, want) {
					t.Errorf("%s differs from Table.Strings", c.Name)
				}
				continue
			}
			want, _ := tab.Float64s(c.Name)
			if !slices.EqualFunc(c.Num, want, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Errorf("%s differs from Table.Float64s", c.Name)
			}
		}
	})

	t.Run("keep chooses, labels included on request", func(t *testing.T) {
		want := []string{feats[0], cats[0], "label_converted"}
		f, err := FeatureFrame(tab, func(c features.Column) bool { return slices.Contains(want, c.Name) })
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range tab.Schema().Columns { // table order, not want's order
			if slices.Contains(want, c.Name) {
				got = append(got, c.Name)
			}
		}
		if !slices.Equal(f.Names(), got) {
			t.Errorf("columns %v, want %v", f.Names(), got)
		}
	})
}
