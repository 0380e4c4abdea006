package serving

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/persona"
)

// TestPersonaAssigner checks the positional assigner against persona.Model.Assign on random
// records: missing values, skewed (logged) columns, known and unknown levels, and the
// records it leaves to Assign (strings for numbers, numbers for categories, infinities).
func TestPersonaAssigner(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 600
	spend, visits, score := make([]float64, n), make([]float64, n), make([]float64, n)
	plan := make([]string, n)
	for i := range n {
		spend[i] = math.Exp(rng.NormFloat64() * 2) // skewed: log1p'd
		visits[i] = float64(rng.IntN(40))
		score[i] = rng.NormFloat64()
		plan[i] = []string{"basic", "pro", "team", ""}[rng.IntN(4)]
		if i%13 == 0 {
			score[i] = math.NaN()
		}
	}
	f := &frame.Frame{}
	f.AddNumeric("spend", spend)
	f.AddNumeric("visits", visits)
	f.AddCategorical("plan", plan)
	f.AddNumeric("score", score)
	res, err := persona.Fit(f, persona.Settings{K: 3, Transform: persona.TransformSettings{Impute: true}}, rand.NewPCG(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	a := newPersonaAssigner(m)
	if a == nil {
		t.Fatal("no positional assigner for a fitted model")
	}
	names := m.InputNames()
	fast := 0
	for range 3000 {
		v := values{names: names, num: make([]float64, len(names)), str: make([]string, len(names))}
		for i, in := range m.Transform.Inputs {
			v.num[i] = math.NaN()
			switch k := rng.IntN(12); {
			case k == 0: // missing
			case k == 1:
				v.str[i] = []string{"12.5", " 3 ", "x", "pro"}[rng.IntN(4)]
			case k == 2:
				v.num[i] = []float64{math.Inf(1), -1, 0, 1e300}[rng.IntN(4)]
			case in.Kind == "categorical":
				v.str[i] = []string{"basic", "pro", "team", "enterprise"}[rng.IntN(4)]
			default:
				v.num[i] = rng.NormFloat64() * 10
			}
		}
		id, name, dist, ok := a.assign(v.num, v.str)
		wid, wname, wdist, werr := m.Assign(v.record())
		if !ok {
			continue
		}
		fast++
		if werr != nil || id != wid || name != wname || math.Float64bits(dist) != math.Float64bits(wdist) {
			t.Fatalf("%v %q: assigner %d %q %v, Assign %d %q %v %v", v.num, v.str, id, name, dist, wid, wname, wdist, werr)
		}
	}
	if fast < 300 {
		t.Errorf("the assigner answered %d records of 3000", fast)
	}
}
