package classifier

import (
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
)

// The one-record path of PredictValues for gradient-boosted models. The general path builds
// a map and a one-row frame per call, finds the trees' columns in it by name (twice: for the
// prediction and for the TreeSHAP values) and allocates every buffer afresh: scoring a
// million people with a gbt model allocated about 500 MB a second, which at ten million
// people, with the stitched history live, kept the collector busy. Here the columns are
// matched once per model and the buffers of a call are reused through a pool. The answers
// are the general path's, bit for bit (TestPredictValuesGBTMatchesGeneral); whenever the
// model does not fit the path, the general path answers.

// gbtPath is what the path precomputes for a model.
type gbtPath struct {
	g       *gbtScorer
	numeric []bool   // per input
	feat    []int    // per tree feature: the input it reads
	names   []string // the tree features' names, in the model's order
}

// gbtScratch holds the buffers of one call: a one-row column per input, and the tree
// features' columns among them.
type gbtScratch struct {
	cols  []frame.Column
	nums  []float64
	cats  []string
	fcols []*frame.Column
	rs    *gbt.RowScratch
	cands []reasonCand
}

// gbtPath returns the model's gbt path, or nil when the model cannot use it.
func (m *Model) gbtPath() *gbtPath {
	m.gbtOnce.Do(func() {
		g, ok := m.scorer.(*gbtScorer)
		if !ok || g.M == nil {
			return
		}
		at := make(map[string]int, len(m.Payload.Inputs))
		gp := &gbtPath{g: g, numeric: make([]bool, len(m.Payload.Inputs)), names: g.M.FeatureNames()}
		for i, in := range m.Payload.Inputs {
			if _, dup := at[in.Name]; dup {
				return
			}
			at[in.Name] = i
			gp.numeric[i] = in.Kind == frame.Numeric.String()
		}
		for _, name := range gp.names {
			i, ok := at[name]
			if !ok {
				return
			}
			gp.feat = append(gp.feat, i)
		}
		m.gbtFast = gp
		if g.M.CheckColumns(m.newGBTScratch(gp).fcols) != nil {
			m.gbtFast = nil
		}
	})
	return m.gbtFast
}

func (m *Model) newGBTScratch(gp *gbtPath) *gbtScratch {
	n := len(m.Payload.Inputs)
	s := &gbtScratch{cols: make([]frame.Column, n), nums: make([]float64, n), cats: make([]string, n),
		fcols: make([]*frame.Column, len(gp.feat)), rs: gp.g.M.NewRowScratch()}
	for i, in := range m.Payload.Inputs {
		if gp.numeric[i] {
			s.cols[i] = frame.Column{Name: in.Name, Kind: frame.Numeric, Num: s.nums[i : i+1 : i+1]}
		} else {
			s.cols[i] = frame.Column{Name: in.Name, Kind: frame.Categorical, Cat: s.cats[i : i+1 : i+1]}
		}
	}
	for j, i := range gp.feat {
		s.fcols[j] = &s.cols[i]
	}
	return s
}

// predictValuesGBT is PredictValues on the gbt path; ok is false when the general path must
// answer instead.
func (m *Model) predictValuesGBT(gp *gbtPath, num []float64, str []string) (p float64, rs []Reason, ok bool) {
	s, _ := m.gbtScratch.Get().(*gbtScratch)
	if s == nil {
		s = m.newGBTScratch(gp)
	}
	defer func() {
		clear(s.cats)
		m.gbtScratch.Put(s)
	}()
	if !fillValues(gp.numeric, s.nums, s.cats, num, str) {
		return 0, nil, false
	}
	z, contrib := gp.g.M.ScoreRow(s.fcols, 0, s.rs)
	rs = gbtReasons(gp.names, func(j int) *frame.Column { return s.fcols[j] }, 0, contrib, m.Payload.Reasons, &s.cands)
	return m.Payload.Calibrator.Apply(z), rs, true
}
