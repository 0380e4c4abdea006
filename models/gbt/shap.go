package gbt

import (
	"fmt"
	"math"

	"github.com/propensity-dev/propensity/models/frame"
)

// Contributions explains the prediction for one row of X with exact TreeSHAP values
// (Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree
// ensembles", Algorithm 2, path-dependent): contrib[j] is feature j's share (in the order of
// FeatureNames) and bias is the model's expected log-odds over the training data, so that
// bias + Σ contrib equals PredictLogOdds for that row.
func (m *Model) Contributions(X *frame.Frame, row int) (bias float64, contrib []float64, err error) {
	cols, err := m.columns(X)
	if err != nil {
		return 0, nil, err
	}
	if row < 0 || row >= X.Rows() {
		return 0, nil, fmt.Errorf("%w: %d of %d", ErrRow, row, X.Rows())
	}
	x := make([]float64, len(m.features))
	m.fillRows(cols, row, row+1, x)
	contrib = make([]float64, len(m.features))
	bias = m.base
	var s shapper
	for _, t := range m.trees {
		bias += t.mean
		s.tree(&t.tree, x, contrib)
	}
	return bias, contrib, nil
}

// pathElem is one feature on the path to the current node: the fraction of "zero" (feature
// unknown) and "one" (feature known) paths that flow through, and the permutation weight.
type pathElem struct {
	feat   int
	z, o   float64
	weight float64
}

type shapper struct {
	buf []pathElem
}

func (s *shapper) tree(t *tree, x []float64, phi []float64) {
	need := (t.depth + 2) * (t.depth + 3) / 2
	if cap(s.buf) < need {
		s.buf = make([]pathElem, need)
	}
	s.recurse(t, x, phi, 0, s.buf[:0], 1, 1, -1, s.buf)
}

// recurse follows Algorithm 2 of Lundberg et al. (2018). path holds the parent's path; it is
// copied into fresh space at the start of free, so that siblings see the parent's path.
func (s *shapper) recurse(t *tree, x, phi []float64, j int, parent []pathElem, pz, po float64, pf int, free []pathElem) {
	l := len(parent)
	m := free[:l+1]
	copy(m, parent)
	free = free[l+1:]
	extend(m, pz, po, pf)
	nd := &t.nodes[j]
	if nd.Feature < 0 {
		for i := 1; i < len(m); i++ {
			w := unwoundSum(m, i)
			phi[m[i].feat] += w * (m[i].o - m[i].z) * nd.Value
		}
		return
	}
	hot := int(t.next(int32(j), x))
	cold := nd.Left
	if hot == nd.Left {
		cold = nd.Right
	}
	iz, io := 1.0, 1.0
	for k := 1; k < len(m); k++ {
		if m[k].feat == nd.Feature {
			iz, io = m[k].z, m[k].o
			unwind(m, k)
			m = m[:len(m)-1]
			break
		}
	}
	rj := nd.Cover
	s.recurse(t, x, phi, hot, m, iz*t.nodes[hot].Cover/rj, io, nd.Feature, free)
	s.recurse(t, x, phi, cold, m, iz*t.nodes[cold].Cover/rj, 0, nd.Feature, free)
}

// extend grows the path m (whose last element is new) by feature pf with fractions pz, po.
func extend(m []pathElem, pz, po float64, pf int) {
	l := len(m) - 1
	m[l] = pathElem{feat: pf, z: pz, o: po}
	if l == 0 {
		m[l].weight = 1
	}
	for i := l - 1; i >= 0; i-- {
		m[i+1].weight += po * m[i].weight * float64(i+1) / float64(l+1)
		m[i].weight = pz * m[i].weight * float64(l-i) / float64(l+1)
	}
}

// unwind removes element i from the path m in place (m keeps its length; the caller drops the
// last element).
func unwind(m []pathElem, i int) {
	l := len(m) - 1
	o, z := m[i].o, m[i].z
	n := m[l].weight
	for j := l - 1; j >= 0; j-- {
		if o != 0 {
			t := m[j].weight
			m[j].weight = n * float64(l+1) / (float64(j+1) * o)
			n = t - m[j].weight*z*float64(l-j)/float64(l+1)
		} else {
			m[j].weight = m[j].weight * float64(l+1) / (z * float64(l-j))
		}
	}
	for j := i; j < l; j++ {
		m[j].feat, m[j].z, m[j].o = m[j+1].feat, m[j+1].z, m[j+1].o
	}
}

// unwoundSum is the total weight of the path with element i removed, without changing m.
func unwoundSum(m []pathElem, i int) float64 {
	l := len(m) - 1
	o, z := m[i].o, m[i].z
	n := m[l].weight
	total := 0.0
	for j := l - 1; j >= 0; j-- {
		if o != 0 {
			w := n * float64(l+1) / (float64(j+1) * o)
			total += w
			n = m[j].weight - w*z*float64(l-j)/float64(l+1)
		} else {
			total += m[j].weight * float64(l+1) / (z * float64(l-j))
		}
	}
	if math.IsNaN(total) {
		return 0
	}
	return total
}
