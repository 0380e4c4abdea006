package evaluate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrMining is wrapped by errors of the rule miner.
var ErrMining = errors.New("evaluate: rule mining failed")

// Condition is one step of a mined rule: a candidate characteristic that holds or not.
type Condition struct {
	Candidate int    `json:"-"`
	Text      string `json:"text"`
	Holds     bool   `json:"holds"`
}

// MinedRule is a leaf of the decision tree: a conjunction of conditions with its support
// and conversion rate on the training snapshot and on the holdout.
type MinedRule struct {
	Conditions  []Condition `json:"conditions"`
	Text        string      `json:"text"`
	People      int         `json:"people"`
	Converters  int         `json:"converters"`
	Rate        float64     `json:"rate"`
	Lift        float64     `json:"lift"`
	TestPeople  int         `json:"holdout_people"`
	TestRate    float64     `json:"holdout_rate"`
	Expressible bool        `json:"expressible"` // one scorecard rule can test it (one event condition at most, all conditions holding)
}

// cart is a classification tree on 0/1 characteristics grown by Gini impurity decrease
// (Breiman, Friedman, Olshen & Stone 1984, "Classification and Regression Trees"), shallow
// enough for each leaf to read as a rule. It is small because on 0/1 inputs a split is one
// count per characteristic, and it has what rule mining needs: a minimum leaf size (so that
// a leaf is a rule about enough people) and counts at every node.
type cart struct {
	MaxDepth int // default 3
	MinLeaf  int // fewest rows in a leaf; default 1% of the rows, at least 30
}

// Mine finds conjunctions of characteristics with a high or low conversion rate: the
// leaves of the tree. x[j][i] is characteristic j of row i.
func (t cart) Mine(x [][]bool, y []float64) ([]MinedRule, error) {
	n := len(y)
	if n == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrMining)
	}
	for j := range x {
		if len(x[j]) != n {
			return nil, fmt.Errorf("%w: characteristic %d has %d rows, want %d", ErrMining, j, len(x[j]), n)
		}
	}
	pos := 0.0
	for _, v := range y {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("%w: label %v is not 0 or 1", ErrMining, v)
		}
		pos += v
	}
	if pos == 0 || pos == float64(n) {
		return nil, fmt.Errorf("%w: the labels hold a single class", ErrMining)
	}
	if t.MaxDepth <= 0 {
		t.MaxDepth = 3
	}
	if t.MinLeaf <= 0 {
		t.MinLeaf = max(30, n/100)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	base := pos / float64(n)
	var out []MinedRule
	var grow func(rows []int, path []Condition, depth int)
	grow = func(rows []int, path []Condition, depth int) {
		p := 0.0
		for _, i := range rows {
			p += y[i]
		}
		leaf := func() {
			r := MinedRule{Conditions: slices.Clone(path), People: len(rows), Converters: int(p),
				Rate: p / float64(len(rows))}
			r.Lift = r.Rate / base
			out = append(out, r)
		}
		if depth == t.MaxDepth || p == 0 || p == float64(len(rows)) {
			leaf()
			return
		}
		best, bestGain := -1, 1e-12
		m := float64(len(rows))
		parent := gini(p, m)
		for j := range x {
			var n1, p1 float64
			for _, i := range rows {
				if x[j][i] {
					n1++
					p1 += y[i]
				}
			}
			n0 := m - n1
			if n1 < float64(t.MinLeaf) || n0 < float64(t.MinLeaf) {
				continue
			}
			g := parent - (n1*gini(p1, n1)+n0*gini(p-p1, n0))/m
			if g > bestGain {
				best, bestGain = j, g
			}
		}
		if best < 0 {
			leaf()
			return
		}
		var yes, no []int
		for _, i := range rows {
			if x[best][i] {
				yes = append(yes, i)
			} else {
				no = append(no, i)
			}
		}
		grow(yes, append(path, Condition{Candidate: best, Holds: true}), depth+1)
		grow(no, append(path, Condition{Candidate: best, Holds: false}), depth+1)
	}
	grow(idx, nil, 0)
	slices.SortFunc(out, func(a, b MinedRule) int { return cmp.Compare(b.Rate, a.Rate) })
	return out, nil
}

// gini is the Gini impurity of a node with p positives among n rows, times 1 (per row).
func gini(p, n float64) float64 {
	if n == 0 {
		return 0
	}
	q := p / n
	return 2 * q * (1 - q)
}
