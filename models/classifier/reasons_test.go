package classifier

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/logistic"
)

// countsData is a table with count columns (non-negative, skewed, some missing), for
// models with log1p features.
func countsData(n int, seed uint64) *dataset {
	rng := rand.New(rand.NewPCG(seed, 9))
	clicks, visits := make([]float64, n), make([]float64, n)
	plan := make([]string, n)
	y := make([]float64, n)
	for i := range n {
		clicks[i] = math.Floor(rng.ExpFloat64() * 2)
		visits[i] = math.Floor(rng.ExpFloat64() * 10)
		plan[i] = []string{"basic", "pro", "team"}[rng.IntN(3)]
		z := -2 + 1.2*math.Log1p(clicks[i]) - 0.05*visits[i]
		if rng.Float64() < logistic.Sigmoid(z) {
			y[i] = 1
		}
		if i%13 == 0 {
			visits[i] = math.NaN()
		}
	}
	f := &frame.Frame{}
	f.AddNumeric("clicks", clicks)
	f.AddNumeric("visits", visits)
	f.AddCategorical("plan", plan)
	return &dataset{X: f, Y: y}
}

// TestReasonsMergeLog1p: with log1p features, a column's value and log features are one
// reason named after the column, showing its value; the effects of all reasons add up to the
// per-feature effects; and the one-record path agrees with the general one.
func TestReasonsMergeLog1p(t *testing.T) {
	d := countsData(3000, 1)
	res, err := train(d, encode.Options{Log1p: true}, artifact.KindConversion)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	lr := m.scorer.(*logisticScorer)
	if !strings.Contains(strings.Join(lr.Enc.Features, ","), "clicks__log1p") {
		t.Fatalf("no log1p features: %v", lr.Enc.Features)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for range 200 {
		rec := map[string]any{"clicks": math.Floor(rng.ExpFloat64() * 3), "visits": math.Floor(rng.ExpFloat64() * 12),
			"plan": []any{"basic", "pro", "team", nil}[rng.IntN(4)]}
		if rng.IntN(6) == 0 {
			rec["visits"] = nil
		}
		checkSamePaths(t, m, rec)
		_, rs, err := m.PredictRow(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if strings.HasSuffix(r.Feature, "__log1p") {
				t.Fatalf("%v: reason %+v names a log1p feature", rec, r)
			}
			if r.Feature == "clicks" && r.Value != rec["clicks"] {
				t.Fatalf("%v: clicks reason shows %v, want the input value", rec, r.Value)
			}
		}
	}
	// All reasons (k <= 0) add up to the sum of the per-feature effects.
	X := d.X.Take([]int{0, 1, 2, 3, 4, 5})
	for row := range X.Rows() {
		all, err := lr.Reasons(X, row, 0)
		if err != nil {
			t.Fatal(err)
		}
		per, err := lr.LR.Reasons(mustRow(t, lr, X, row), 0)
		if err != nil {
			t.Fatal(err)
		}
		var a, b float64
		for _, r := range all {
			a += r.Effect
		}
		for _, r := range per {
			b += r.Effect
		}
		if math.Abs(a-b) > 1e-12 || len(all) >= len(per) {
			t.Errorf("row %d: %d merged reasons sum to %v, %d feature effects to %v", row, len(all), a, len(per), b)
		}
	}
}

func mustRow(t *testing.T, s *logisticScorer, X *frame.Frame, row int) []float64 {
	t.Helper()
	M, err := s.Enc.Transform(X.Take([]int{row}))
	if err != nil {
		t.Fatal(err)
	}
	return M.RawRowView(0)
}

func TestRoundValue(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0.9999999999999998, 1}, {-1e-17, 0}, {2.5e-10, 0}, {0.1234567891234, 0.123456789}, {math.Inf(1), math.Inf(1)},
	} {
		got := roundValue(c.in)
		if got != c.want || math.Signbit(got) != math.Signbit(c.want) {
			t.Errorf("roundValue(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := roundValue(math.NaN()); !math.IsNaN(got) {
		t.Errorf("roundValue(NaN) = %v", got)
	}
}
