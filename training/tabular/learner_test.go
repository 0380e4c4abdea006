package tabular

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/logistic"
)

// TestHistorySizeGuards: the history-mode settings adapt to small tables. The gbt minimum
// child weight is capped by MinChildShare (without the cap, 20 forbids every split when
// positives are rare and rows few, and the model is constant), and the logistic log1p
// features need Log1pMinPositives positives.
func TestHistorySizeGuards(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	n := 2000
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i] = math.Floor(rng.ExpFloat64() * 3)
		if rng.Float64() < logistic.Sigmoid(-6+0.4*x[i]) {
			y[i] = 1
		}
	}
	f := &frame.Frame{}
	f.AddNumeric("clicks", x)
	distinct := func(s classifier.Scorer) int {
		z, err := s.LogOdds(f)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[float64]bool{}
		for _, v := range z {
			seen[v] = true
		}
		return len(seen)
	}
	o := HistoryDefaults(Options{Model: classifier.ModelGBT}).EnsureDefaults()
	for _, share := range []float64{0, o.MinChildShare} {
		o.MinChildShare = share
		l, err := NewLearner(classifier.ModelGBT, o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Fit(f, y, nil, rand.NewPCG(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		if d := distinct(s); (share > 0) != (d > 1) {
			pos, _ := countPos(y)
			t.Errorf("min child share %v: %d distinct scores (positives %d of %d)", share, d, pos, n)
		}
	}
	lo := HistoryDefaults(Options{Model: classifier.ModelLogistic}).EnsureDefaults()
	for _, min := range []int{0, lo.Log1pMinPositives} {
		lo.Log1pMinPositives = min
		l, err := NewLearner(classifier.ModelLogistic, lo)
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Fit(f, y, nil, rand.NewPCG(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		hasLog := strings.Contains(strings.Join(s.Features(), ","), "__log1p")
		if pos, _ := countPos(y); hasLog != (pos >= min) {
			t.Errorf("log1p min positives %d with %d positives: log1p features %v, want %v", min, pos, hasLog, pos >= min)
		}
	}
}
