package gbt

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/propensity-dev/propensity/models/frame"
)

// FormatVersion is the version of the JSON written by (*Model).MarshalJSON; UnmarshalJSON
// refuses any other.
const FormatVersion = 1

// Model is a fitted ensemble. It is safe for concurrent use. Its state marshals to JSON
// (encoding/json) and back without changing a prediction.
type Model struct {
	features  []feature
	base      float64
	trees     []*grown
	opts      Options
	bestRound int
	batch     *ensemble // the trees' batch-prediction form; nil: walk the float form

	shapOnce sync.Once
	shapTabs []*shapTree // per tree, built on first use by shapTables
}

// FeatureNames returns the input columns the model uses, in its feature order (the order of
// Contributions).
func (m *Model) FeatureNames() []string {
	out := make([]string, len(m.features))
	for i, f := range m.features {
		out[i] = f.Name
	}
	return out
}

// NumTrees returns the number of trees (after early stopping).
func (m *Model) NumTrees() int { return len(m.trees) }

// Options returns the options the model was fitted with, defaults filled in.
func (m *Model) Options() Options { return m.opts }

// BaseScore returns the log-odds every prediction starts from: that of the weighted mean
// training label.
func (m *Model) BaseScore() float64 { return m.base }

// blockRows is the number of rows laid out row-major at a time for the tree walks: enough to
// amortise the loop over trees, small enough to stay in cache.
const blockRows = 256

// columns matches the model's features to X's columns by name.
func (m *Model) columns(X *frame.Frame) ([]*frame.Column, error) {
	if X == nil {
		return nil, ErrEmpty
	}
	cols := make([]*frame.Column, len(m.features))
	for i := range m.features {
		f := &m.features[i]
		c := X.Column(f.Name)
		if c == nil {
			return nil, &ColumnError{Name: f.Name, Err: ErrMissingColumn}
		}
		if c.Kind.String() != f.Kind {
			return nil, &ColumnError{Name: f.Name, Err: fmt.Errorf("%w: %s, want %s", ErrColumnKind, c.Kind, f.Kind)}
		}
		if c.Len() != X.Rows() {
			return nil, fmt.Errorf("%w: column %q has %d rows, want %d", ErrLength, f.Name, c.Len(), X.Rows())
		}
		cols[i] = c
	}
	return cols, nil
}

// fillRows writes rows [lo, hi) of cols as codes (see feature.code), row-major, into x.
func (m *Model) fillRows(cols []*frame.Column, lo, hi int, x []float64) {
	nf := len(m.features)
	for j := range m.features {
		f := &m.features[j]
		c := cols[j]
		if f.categorical() {
			for r := lo; r < hi; r++ {
				x[(r-lo)*nf+j] = f.code(c, r)
			}
		} else {
			for r := lo; r < hi; r++ {
				x[(r-lo)*nf+j] = c.Num[r]
			}
		}
	}
}

// Predict returns P(y = 1) for every row of X: the logistic function of PredictLogOdds.
func (m *Model) Predict(X *frame.Frame) ([]float64, error) {
	p, err := m.PredictLogOdds(X)
	for i, z := range p {
		p[i] = 1 / (1 + math.Exp(-z))
	}
	return p, err
}

// validation scores a held-out set round by round for early stopping.
type validation struct {
	x       []float64 // row-major codes
	nf      int
	y, w, F []float64
	best    int
	bestLL  float64
}

func (m *Model) newValidation(d *Dataset) (*validation, error) {
	n, err := checkData(d.X, d.Y, d.W)
	if err != nil {
		return nil, err
	}
	cols, err := m.columns(d.X)
	if err != nil {
		return nil, err
	}
	v := &validation{x: make([]float64, n*len(m.features)), nf: len(m.features), y: d.Y, w: d.W,
		F: make([]float64, n), best: -1, bestLL: math.Inf(1)}
	m.fillRows(cols, 0, n, v.x)
	for i := range v.F {
		v.F[i] = m.base
	}
	return v, nil
}

// add scores tree t (built in round) and reports whether to stop.
func (v *validation) add(t *grown, round, patience int) bool {
	var ll, sw float64
	for i := range v.F {
		v.F[i] += t.predict(v.x[i*v.nf : (i+1)*v.nf])
		wi := 1.0
		if v.w != nil {
			wi = v.w[i]
		}
		// log(1+e^F) − yF, computed without overflow.
		F := v.F[i]
		ll += wi * (max(F, 0) + math.Log1p(math.Exp(-math.Abs(F))) - v.y[i]*F)
		sw += wi
	}
	ll /= sw
	if ll < v.bestLL {
		v.bestLL, v.best = ll, round
	}
	return round-v.best >= patience
}

// modelJSON is the serialised form of a Model.
type modelJSON struct {
	FormatVersion int       `json:"format_version"`
	Model         string    `json:"model"`
	Features      []feature `json:"features"`
	BaseScore     float64   `json:"base_score"`
	BestRound     int       `json:"best_round,omitempty"`
	Options       Options   `json:"options"`
	Trees         [][]node  `json:"trees"`
}

// MarshalJSON encodes the model's state.
func (m *Model) MarshalJSON() ([]byte, error) {
	j := modelJSON{FormatVersion: FormatVersion, Model: "gbt", Features: m.features, BaseScore: m.base,
		BestRound: m.bestRound, Options: m.opts, Trees: make([][]node, len(m.trees))}
	for i, t := range m.trees {
		j.Trees[i] = t.nodes
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a model written by MarshalJSON and checks that it is well formed.
func (m *Model) UnmarshalJSON(b []byte) error {
	var j modelJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %v", ErrModel, err)
	}
	if j.FormatVersion != FormatVersion {
		return fmt.Errorf("%w: format version %d, want %d", ErrModel, j.FormatVersion, FormatVersion)
	}
	if len(j.Features) == 0 || math.IsNaN(j.BaseScore) || math.IsInf(j.BaseScore, 0) {
		return fmt.Errorf("%w: no features or bad base score", ErrModel)
	}
	seen := map[string]bool{}
	for i := range j.Features {
		f := &j.Features[i]
		if f.Name == "" || seen[f.Name] {
			return fmt.Errorf("%w: feature %d: empty or repeated name %q", ErrModel, i, f.Name)
		}
		seen[f.Name] = true
		switch f.Kind {
		case frame.Numeric.String():
			if len(f.Thresholds) > 254 {
				return fmt.Errorf("%w: feature %q has %d thresholds", ErrModel, f.Name, len(f.Thresholds))
			}
		case frame.Categorical.String():
			if len(f.Categories) > 255 {
				return fmt.Errorf("%w: feature %q has %d categories", ErrModel, f.Name, len(f.Categories))
			}
			f.buildIndex()
		default:
			return fmt.Errorf("%w: feature %q has kind %q", ErrModel, f.Name, f.Kind)
		}
	}
	trees := make([]*grown, len(j.Trees))
	for ti, nodes := range j.Trees {
		if err := checkTree(nodes, j.Features); err != nil {
			return fmt.Errorf("%w: tree %d: %v", ErrModel, ti, err)
		}
		t := &grown{tree: tree{nodes: nodes}}
		t.compile(j.Features)
		trees[ti] = t
	}
	*m = Model{features: j.Features, base: j.BaseScore, trees: trees, opts: j.Options, bestRound: j.BestRound,
		batch: compileEnsemble(j.Features, trees)}
	return nil
}

// checkTree makes sure a decoded tree can be walked: children after parents and in range,
// features and categories in range, finite numbers, non-negative covers.
func checkTree(nodes []node, feats []feature) error {
	if len(nodes) == 0 {
		return fmt.Errorf("no nodes")
	}
	for i, n := range nodes {
		if !(n.Cover >= 0) || math.IsInf(n.Cover, 0) || math.IsNaN(n.Value) || math.IsInf(n.Value, 0) || math.IsNaN(n.Threshold) {
			return fmt.Errorf("node %d: bad number", i)
		}
		if n.Feature < 0 {
			if n.Feature != -1 || len(n.Categories) > 0 {
				return fmt.Errorf("node %d: bad leaf", i)
			}
			continue
		}
		if n.Feature >= len(feats) {
			return fmt.Errorf("node %d: feature %d out of range", i, n.Feature)
		}
		if n.Left <= i || n.Right != n.Left+1 || n.Right >= len(nodes) {
			return fmt.Errorf("node %d: bad children (want left after the node, right just after left)", i)
		}
		f := &feats[n.Feature]
		if !f.categorical() && len(n.Categories) > 0 {
			return fmt.Errorf("node %d: categories on a numeric split", i)
		}
		for _, c := range n.Categories {
			if c < 0 || c >= len(f.Categories) {
				return fmt.Errorf("node %d: category %d out of range", i, c)
			}
		}
	}
	// Every node but the root has exactly one parent.
	parents := make([]int, len(nodes))
	for _, n := range nodes {
		if n.Feature >= 0 {
			parents[n.Left]++
			parents[n.Right]++
		}
	}
	for i := 1; i < len(nodes); i++ {
		if parents[i] != 1 {
			return fmt.Errorf("node %d has %d parents", i, parents[i])
		}
	}
	return nil
}
