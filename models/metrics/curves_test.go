package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPRCurveSumsToAveragePrecision: the step-wise area under PRCurve is AveragePrecision,
// with ties, weights and a random score.
func TestPRCurveSumsToAveragePrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	y, p, w := make([]float64, 500), make([]float64, 500), make([]float64, 500)
	for i := range y {
		p[i] = math.Round(r.Float64()*20) / 20 // ties
		if r.Float64() < p[i] {
			y[i] = 1
		}
		w[i] = 0.5 + r.Float64()
	}
	for _, wt := range [][]float64{nil, w} {
		curve, err := PRCurve(y, p, wt)
		if err != nil {
			t.Fatal(err)
		}
		ap, err := AveragePrecision(y, p, wt)
		if err != nil {
			t.Fatal(err)
		}
		area := 0.0
		for k := 1; k < len(curve); k++ {
			area += (curve[k].Recall - curve[k-1].Recall) * curve[k].Precision
		}
		if math.Abs(area-ap) > 1e-12 {
			t.Errorf("area %v, average precision %v", area, ap)
		}
		if curve[0].Recall != 0 || math.Abs(curve[len(curve)-1].Recall-1) > 1e-12 {
			t.Errorf("curve from recall %v to %v", curve[0].Recall, curve[len(curve)-1].Recall)
		}
		if th := Thin(curve, 5); len(th) != 5 || th[0] != curve[0] || th[4] != curve[len(curve)-1] {
			t.Errorf("thinned %+v", th)
		}
	}
	if _, err := PRCurve([]float64{0, 0}, []float64{0.1, 0.2}, nil); err != ErrOneClass {
		t.Errorf("one class: %v", err)
	}
}

// TestCutoffs works one threshold table out by hand: 10 rows, 4 positives (base rate 0.4).
func TestCutoffs(t *testing.T) {
	y := []float64{1, 1, 0, 1, 0, 0, 1, 0, 0, 0}
	p := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05}
	got, err := Cutoffs(y, p, nil, []float64{0.1, 0.2, 0.35, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := []Cutoff{
		{Share: 0.1, Rows: 1, Threshold: 0.9, Positives: 1, Precision: 1, Recall: 0.25, Lift: 2.5},
		{Share: 0.2, Rows: 2, Threshold: 0.8, Positives: 2, Precision: 1, Recall: 0.5, Lift: 2.5},
		{Share: 0.35, Rows: 4, Threshold: 0.6, Positives: 3, Precision: 0.75, Recall: 0.75, Lift: 1.875},
		{Share: 0.5, Rows: 5, Threshold: 0.5, Positives: 3, Precision: 0.6, Recall: 0.75, Lift: 1.5},
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Rows != w.Rows || g.Threshold != w.Threshold || g.Positives != w.Positives ||
			math.Abs(g.Precision-w.Precision) > 1e-12 || math.Abs(g.Recall-w.Recall) > 1e-12 || math.Abs(g.Lift-w.Lift) > 1e-12 {
			t.Errorf("share %v: got %+v, want %+v", w.Share, g, w)
		}
	}
}

// TestWilson checks the interval against the worked values of the score interval at 95%
// (z = 1.96): 5 of 10 gives [0.2366, 0.7634], 0 of 10 gives [0, 0.2775] (Newcombe 1998,
// table I, method 3).
func TestWilson(t *testing.T) {
	for _, tc := range []struct{ rate, n, lo, hi float64 }{
		{0.5, 10, 0.2366, 0.7634},
		{0, 10, 0, 0.2775},
		{1, 10, 0.7225, 1},
	} {
		lo, hi := Wilson(tc.rate, tc.n, 1.96)
		if math.Abs(lo-tc.lo) > 5e-5 || math.Abs(hi-tc.hi) > 5e-5 {
			t.Errorf("Wilson(%v, %v) = [%.4f, %.4f], want [%.4f, %.4f]", tc.rate, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
	if lo, hi := Wilson(0.3, 0, 1.96); lo != 0 || hi != 1 {
		t.Errorf("no trials: [%v, %v]", lo, hi)
	}
}
