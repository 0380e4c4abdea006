package persona

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAssignValues checks the positional assign against Assign on random records of a
// model with plain, logged, derived (share and ratio) and weighted categorical inputs:
// missing values, zero denominators, unknown levels, and the records it leaves to Assign
// (texts for numbers, numbers for categories, infinities).
func TestAssignValues(t *testing.T) {
	f := mixed()
	res, err := Fit(f, Settings{K: 3, Transform: mixedSettings()}, rand.NewPCG(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	names := m.InputNames()
	kind := map[string]string{}
	for _, in := range m.Transform.Inputs {
		for _, n := range append([]string{in.Name}, in.Of...) {
			kind[n] = in.Kind
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	fast := 0
	for range 5000 {
		num, str := make([]float64, len(names)), make([]string, len(names))
		rec := map[string]any{}
		for k, n := range names {
			num[k] = math.NaN()
			switch c := rng.IntN(12); {
			case c == 0: // missing
				rec[n] = nil
			case c == 1:
				str[k] = []string{"12.5", " 3 ", "x", "b"}[rng.IntN(4)]
				rec[n] = str[k]
			case c == 2:
				num[k] = []float64{math.Inf(1), 0, -1, 1e300}[rng.IntN(4)]
				rec[n] = num[k]
			case kind[n] == "categorical":
				str[k] = []string{"a", "b", "c", "d", "zz"}[rng.IntN(5)]
				rec[n] = str[k]
			default:
				num[k] = float64(rng.IntN(9)) * rng.Float64() * 20
				rec[n] = num[k]
			}
		}
		id, name, dist, ok := m.AssignValues(num, str)
		wid, wname, wdist, werr := m.Assign(rec)
		if !ok {
			continue
		}
		fast++
		if werr != nil || id != wid || name != wname || math.Float64bits(dist) != math.Float64bits(wdist) {
			t.Fatalf("%v %q: AssignValues %d %q %v, Assign %d %q %v %v", num, str, id, name, dist, wid, wname, wdist, werr)
		}
	}
	if fast < 500 {
		t.Errorf("AssignValues answered %d records of 5000", fast)
	}
	if _, _, _, ok := m.AssignValues(make([]float64, len(names)-1), make([]string, len(names)-1)); ok {
		t.Error("a record of the wrong length was assigned")
	}
}
