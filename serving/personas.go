package serving

import (
	"math"

	"github.com/propensity-dev/propensity/models/persona"
)

// personaAssigner is persona.Model.Assign for a record given by position (values), which
// spares building and reading a map of a hundred inputs per score. It follows the model's
// Transform (log1p, standardising, one-hot levels, the median for a missing number) and
// nearest-centroid rule step by step, so that its answers are Assign's bit for bit;
// newPersonaAssigner checks that on probe records and does not use it otherwise, and the
// end-to-end tests compare served personas with the batch path. Records that Assign would
// read in another way (a string for a numeric input, a number for a categorical one, an
// infinite number) are left to Assign.
//
// It would sit better in package persona, as a positional Assign; until then it lives here.
type personaAssigner struct {
	m      *persona.Model
	dim    int
	ranges [][2]int         // output dimensions of each input
	levels []map[string]int // level → dimension offset, for categorical inputs
}

// newPersonaAssigner returns the assigner of m, or nil when m's layout is not the one it
// knows or it disagrees with m.Assign on a probe.
func newPersonaAssigner(m *persona.Model) *personaAssigner {
	t := &m.Transform
	a := &personaAssigner{m: m, dim: t.Dim(), ranges: make([][2]int, len(t.Inputs)), levels: make([]map[string]int, len(t.Inputs))}
	n := 0
	for i, in := range t.Inputs {
		lo := n
		switch in.Kind {
		case "numeric":
			n++
		case "categorical":
			a.levels[i] = make(map[string]int, len(in.Levels))
			for j, l := range in.Levels {
				a.levels[i][l] = j
			}
			n += len(in.Levels)
			if len(in.LevelMean) != len(in.Levels) || len(in.LevelStd) != len(in.Levels) {
				return nil
			}
		default:
			return nil
		}
		a.ranges[i] = [2]int{lo, n}
	}
	if n != a.dim || len(m.Centroids) != m.K*a.dim || len(m.Personas) != m.K || m.K < 1 {
		return nil
	}
	if !a.agrees() {
		return nil
	}
	return a
}

// agrees compares the assigner with m.Assign on probe records: every input missing, and
// mixes of medians, means, zeros, large values, known and unknown levels.
func (a *personaAssigner) agrees() bool {
	ins := a.m.Transform.Inputs
	names := a.m.InputNames()
	for probe := range 12 {
		v := values{names: names, num: make([]float64, len(ins)), str: make([]string, len(ins))}
		for i, in := range ins {
			k := i*7 + probe*3
			v.num[i] = math.NaN()
			if probe == 0 {
				continue
			}
			if in.Kind == "numeric" {
				v.num[i] = []float64{math.NaN(), 0, in.Median, in.Mean, -1, 1e6, in.Mean + 2*in.Std}[k%7]
			} else if len(in.Levels) > 0 {
				v.str[i] = []string{"", in.Levels[0], in.Levels[len(in.Levels)-1], "(not a level)"}[k%4]
			}
		}
		id, name, dist, ok := a.assign(v.num, v.str)
		wid, wname, wdist, err := a.m.Assign(v.record())
		if !ok || err != nil || id != wid || name != wname || math.Float64bits(dist) != math.Float64bits(wdist) {
			return false
		}
	}
	return true
}

// assign is m.Assign of the record (num, str) in values' form; ok is false when the record
// must go through m.Assign instead.
func (a *personaAssigner) assign(num []float64, str []string) (id int, name string, distance float64, ok bool) {
	t := &a.m.Transform
	if len(num) != len(t.Inputs) || len(str) != len(t.Inputs) {
		return 0, "", 0, false
	}
	var buf [256]float64
	x := buf[:0]
	if a.dim <= len(buf) {
		x = buf[:a.dim]
	} else {
		x = make([]float64, a.dim)
	}
	for i := range t.Inputs {
		in := &t.Inputs[i]
		lo, hi := a.ranges[i][0], a.ranges[i][1]
		if in.Kind == "numeric" {
			v := num[i]
			if str[i] != "" || math.IsInf(v, 0) {
				return 0, "", 0, false
			}
			if math.IsNaN(v) {
				v = in.Median
			}
			if in.Log {
				v = math.Log1p(math.Max(v, 0))
			}
			x[lo] = (v - in.Mean) / in.Std
			continue
		}
		if str[i] == "" && !math.IsNaN(num[i]) {
			return 0, "", 0, false
		}
		hit, known := a.levels[i][str[i]]
		for j := range x[lo:hi] {
			e := 0.0
			if known && j == hit {
				e = 1
			}
			x[lo+j] = (e - in.LevelMean[j]) / in.LevelStd[j]
		}
	}
	best, bj := math.Inf(1), 0
	for j := range a.m.K {
		c := a.m.Centroids[j*a.dim : (j+1)*a.dim]
		d := 0.0
		for k, v := range x {
			e := v - c[k]
			d += e * e
		}
		if d < best {
			best, bj = d, j
		}
	}
	return bj, a.m.Personas[bj].Name, math.Sqrt(best), true
}
