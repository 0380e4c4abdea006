package gbt

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
)

// walkRow is the reference prediction: the log-odds of row r of X from a plain walk of the
// stored nodes, comparing the row's values with the float thresholds as the JSON documents
// them, one tree after the other.
func walkRow(m *Model, X *frame.Frame, r int) float64 {
	z := m.base
	for _, t := range m.trees {
		i := 0
		for t.nodes[i].Feature >= 0 {
			n := &t.nodes[i]
			f := &m.features[n.Feature]
			c := X.Column(f.Name)
			var left bool
			if f.categorical() {
				k, ok := f.index[c.Cat[r]]
				if c.Cat[r] == "" || !ok {
					left = n.DefaultLeft
				} else {
					left = slices.Contains(n.Categories, k)
				}
			} else if v := c.Num[r]; math.IsNaN(v) {
				left = n.DefaultLeft
			} else {
				left = v <= n.Threshold
			}
			if left {
				i = n.Left
			} else {
				i = n.Right
			}
		}
		z += t.nodes[i].Value
	}
	return z
}

// hostile returns a copy of X's first n rows (repeated as needed) with awkward values mixed
// in: the models' own thresholds (ties go left), their neighbours, ±0, ±Inf, math.MaxFloat64,
// NaN, and categories that are empty or were never seen.
func hostile(X *frame.Frame, n int, thresholds []float64, seed uint64) *frame.Frame {
	rng := rand.New(rand.NewPCG(seed, 7))
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i % X.Rows()
	}
	out := X.Take(rows)
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.NaN()}
	for _, c := range out.Columns {
		for i := range n {
			if rng.IntN(3) != 0 {
				continue
			}
			switch c.Kind {
			case frame.Numeric:
				switch k := rng.IntN(4); {
				case k == 0 && len(thresholds) > 0:
					c.Num[i] = thresholds[rng.IntN(len(thresholds))]
				case k == 1 && len(thresholds) > 0:
					c.Num[i] = math.Nextafter(thresholds[rng.IntN(len(thresholds))], math.Inf(2*rng.IntN(2)-1))
				default:
					c.Num[i] = special[rng.IntN(len(special))]
				}
			case frame.Categorical:
				c.Cat[i] = []string{"", "never seen"}[rng.IntN(2)]
			}
		}
	}
	return out
}

func thresholdsOf(m *Model) []float64 {
	var ts []float64
	for _, t := range m.trees {
		for _, n := range t.nodes {
			if n.Feature >= 0 && !m.features[n.Feature].categorical() {
				ts = append(ts, n.Threshold)
			}
		}
	}
	return ts
}

// checkPredict compares PredictLogOdds with walkRow on every row of X, bit for bit: both add
// the same leaf values in the same order.
func checkPredict(t *testing.T, m *Model, X *frame.Frame) {
	t.Helper()
	got, err := m.PredictLogOdds(X)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for r := range got {
		if want := walkRow(m, X, r); got[r] != want && !(math.IsNaN(got[r]) && math.IsNaN(want)) {
			if bad++; bad <= 5 {
				t.Errorf("row %d: PredictLogOdds %v, reference walk %v", r, got[r], want)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d rows of %d differ", bad, len(got))
	}
}

// TestPredictMatchesWalk checks the binned batch path (and its fallback) against the plain
// per-row walk of the stored trees: on fitted models, with missing values, categories and
// awkward numbers; on random hand-written models whose thresholds are not cut points; and on
// one whose feature has too many thresholds for a byte.
func TestPredictMatchesWalk(t *testing.T) {
	X, y := synth(3000, 31)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"defaults", Options{Trees: 60, Seed: 1}},
		{"subsampled", Options{Trees: 60, Subsample: 0.7, ColSample: 0.5, Seed: 2}},
		{"leaf-wise deep", Options{Trees: 30, MaxDepth: 9, MaxLeaves: 20, Seed: 3}},
		{"few bins", Options{Trees: 40, MaxBins: 4, Seed: 4}},
		{"stumps", Options{Trees: 40, MaxDepth: 1, Seed: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Fit(X, y, nil, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if m.batch == nil {
				t.Fatal("no batch form for a fitted model")
			}
			checkPredict(t, m, hostile(X, 3001, thresholdsOf(m), 1))
			// Across blocks and goroutines: more rows than one block.
			checkPredict(t, m, hostile(X, 3*predictBlock+7, thresholdsOf(m), 2))
		})
	}

	rng := rand.New(rand.NewPCG(32, 33))
	for k := range 20 {
		t.Run(fmt.Sprintf("random model %d", k), func(t *testing.T) {
			m := randomModel(t, rng, 0)
			checkPredict(t, m, hostile(X, 500, thresholdsOf(m), uint64(k)))
		})
	}
	t.Run("too many thresholds", func(t *testing.T) {
		m := randomModel(t, rng, 300)
		if m.batch != nil {
			t.Fatal("a feature with 300 thresholds got a batch form")
		}
		checkPredict(t, m, hostile(X, 500, thresholdsOf(m), 99))
	})
}

// randomModel writes the JSON of a random model over synth's columns and decodes it: trees of
// random shape with random thresholds (some ±math.MaxFloat64, which JSON allows, unlike ±Inf,
// and some tiny), category sets and
// default directions. With spread > 0, one more tree splits feature "a" at spread distinct
// thresholds.
func randomModel(t *testing.T, rng *rand.Rand, spread int) *Model {
	t.Helper()
	feats := []feature{
		{Name: "a", Kind: "numeric"}, {Name: "b", Kind: "numeric"},
		{Name: "colour", Kind: "categorical", Categories: []string{"red", "green", "blue"}},
		{Name: "noise", Kind: "numeric"},
	}
	threshold := func() float64 {
		switch rng.IntN(10) {
		case 0:
			return math.MaxFloat64 * float64(2*rng.IntN(2)-1)
		case 1:
			return math.Copysign(5e-324, rng.NormFloat64())
		case 2:
			return 0
		}
		return rng.NormFloat64()
	}
	var random func(depth int) *rtree
	random = func(depth int) *rtree {
		if depth == 0 || rng.IntN(4) == 0 {
			return &rtree{n: node{Feature: -1, Value: rng.NormFloat64(), Cover: 1}}
		}
		f := rng.IntN(len(feats))
		n := node{Feature: f, DefaultLeft: rng.IntN(2) == 0, Cover: 1}
		if feats[f].Kind == "categorical" {
			for c := range feats[f].Categories {
				if rng.IntN(2) == 0 {
					n.Categories = append(n.Categories, c)
				}
			}
		} else {
			n.Threshold = threshold()
		}
		return &rtree{n: n, l: random(depth - 1), r: random(depth - 1)}
	}
	var trees [][]node
	for range 30 {
		trees = append(trees, random(1+rng.IntN(6)).layout())
	}
	if spread > 0 {
		// A chain of splits on "a" at 0, 0.1, 0.2, …, each with a leaf on its left.
		chain := &rtree{n: node{Feature: -1, Value: -1, Cover: 1}}
		for k := spread - 1; k >= 0; k-- {
			chain = &rtree{n: node{Feature: 0, Threshold: float64(k) / 10, Cover: 1},
				l: &rtree{n: node{Feature: -1, Value: float64(k), Cover: 1}}, r: chain}
		}
		trees = append(trees, chain.layout())
	}
	b, err := json.Marshal(modelJSON{FormatVersion: FormatVersion, Model: "gbt", Features: feats, BaseScore: 0.5, Trees: trees})
	if err != nil {
		t.Fatal(err)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// rtree is a tree being made up by randomModel.
type rtree struct {
	n    node
	l, r *rtree
}

// layout lays the tree out breadth first, which puts both children of a node next to each
// other and after it, as the JSON requires.
func (rt *rtree) layout() []node {
	var nodes []node
	queue := []*rtree{rt}
	for k := 0; k < len(queue); k++ {
		q := queue[k]
		n := q.n
		if q.l != nil {
			n.Left, n.Right = len(queue), len(queue)+1
			queue = append(queue, q.l, q.r)
		}
		nodes = append(nodes, n)
	}
	return nodes
}
