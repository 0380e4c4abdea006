package gbt

import (
	"errors"
	"math"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
)

// TestScoreRowMatches checks ScoreRow against PredictLogOdds and Contributions, bit for bit,
// row by row with one scratch reused, on the batch form of the trees and on the float walk;
// and that CheckColumns refuses columns PredictLogOdds would not find.
func TestScoreRowMatches(t *testing.T) {
	X, y := synth(3000, 4)
	m, err := Fit(X, y, nil, Options{Trees: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	// a frame whose columns are in another order than the model's features
	Y := &frame.Frame{}
	for _, i := range []int{3, 2, 1, 0} {
		Y.Columns = append(Y.Columns, X.Columns[i])
	}
	cols, err := m.columns(Y)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckColumns(cols); err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{"batch", "float walk"} {
		if form == "float walk" {
			m.batch = nil
		} else if m.batch == nil {
			t.Fatal("the fitted model has no batch form")
		}
		want, err := m.PredictLogOdds(Y)
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewRowScratch()
		for row := range 300 {
			z, contrib := m.ScoreRow(cols, row, s)
			if math.Float64bits(z) != math.Float64bits(want[row]) {
				t.Fatalf("%s, row %d: log-odds %v, PredictLogOdds %v", form, row, z, want[row])
			}
			_, wantC, err := m.Contributions(Y, row)
			if err != nil {
				t.Fatal(err)
			}
			for j := range wantC {
				if math.Float64bits(contrib[j]) != math.Float64bits(wantC[j]) {
					t.Fatalf("%s, row %d, feature %d: contribution %v, Contributions %v", form, row, j, contrib[j], wantC[j])
				}
			}
		}
	}
	if err := m.CheckColumns(cols[:3]); err == nil {
		t.Error("three columns for four features accepted")
	}
	swapped := []*frame.Column{cols[0], cols[1], cols[3], cols[2]}
	if err := m.CheckColumns(swapped); !errors.Is(err, ErrMissingColumn) {
		t.Errorf("columns out of the features' order: %v, want ErrMissingColumn", err)
	}
	asText := *cols[0]
	asText.Kind, asText.Cat = frame.Categorical, make([]string, asText.Len())
	if err := m.CheckColumns([]*frame.Column{&asText, cols[1], cols[2], cols[3]}); !errors.Is(err, ErrColumnKind) {
		t.Errorf("a numeric feature given text: %v, want ErrColumnKind", err)
	}
}
