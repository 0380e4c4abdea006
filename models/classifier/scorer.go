package classifier

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/logistic"
)

// Model names: Payload.Model, and training's Options.Model.
const (
	ModelLogistic = "logistic"
	ModelGBT      = "gbt"
)

// Reason is one feature's signed contribution to a prediction's log-odds.
type Reason struct {
	Feature string  `json:"feature"`
	Value   any     `json:"value"` // the row's value: a number, or the category of a categorical column
	Effect  float64 `json:"effect"`
}

// Scorer is a fitted model: uncalibrated log-odds and per-row reasons.
type Scorer interface {
	LogOdds(X *frame.Frame) ([]float64, error)
	// Reasons returns the k strongest contributions for row of X, strongest first.
	Reasons(X *frame.Frame, row, k int) ([]Reason, error)
	// Features names the model's features (after encoding), for reports.
	Features() []string
}

// NewLogistic returns the scorer of an encoder and the logistic model fitted on its
// encoding.
func NewLogistic(enc *encode.Encoder, lr *logistic.Model) Scorer {
	return &logisticScorer{Enc: enc, LR: lr}
}

// NewGBT returns the scorer of gradient-boosted trees.
func NewGBT(m *gbt.Model) Scorer { return &gbtScorer{M: m} }

// logisticScorer is an encoder plus a logistic model; its fields are its JSON state.
type logisticScorer struct {
	Enc *encode.Encoder `json:"encoder"`
	LR  *logistic.Model `json:"logistic"`

	unitsOnce sync.Once
	units     []reasonUnit // see reasons.go
}

func (s *logisticScorer) Features() []string { return s.Enc.Features }

func (s *logisticScorer) LogOdds(X *frame.Frame) ([]float64, error) {
	M, err := s.Enc.Transform(X)
	if err != nil {
		return nil, err
	}
	return s.LR.PredictLogOdds(M)
}

// Reasons reports contributions coef·(z − mean z) of the standardised features, a numeric
// column's value and log1p features together (see reasons.go); the value shown is the
// feature before standardisation (a one-hot feature's 0 or 1, a numeric column's value,
// imputed when missing).
func (s *logisticScorer) Reasons(X *frame.Frame, row, k int) ([]Reason, error) {
	if row < 0 || row >= X.Rows() {
		return nil, fmt.Errorf("tabular: row %d out of range", row)
	}
	M, err := s.Enc.Transform(X.Take([]int{row}))
	if err != nil {
		return nil, err
	}
	x := M.RawRowView(0)
	if len(x) == len(s.LR.Coef) && len(x) == len(s.LR.Mean) {
		if out, _, ok := topReasons(x, s.Enc, s.LR, s.reasonUnits(), k, nil); ok {
			return out, nil
		}
	}
	// A NaN effect (or a model that does not fit its encoding): the per-feature reasons,
	// with logistic's own checks.
	rs, err := s.LR.Reasons(x, k)
	if err != nil {
		return nil, err
	}
	out := make([]Reason, len(rs))
	for i, r := range rs {
		out[i] = Reason{Feature: s.Enc.Features[r.Index], Value: roundValue(r.Value*s.Enc.Scale[r.Index] + s.Enc.Mean[r.Index]), Effect: r.Effect}
	}
	return out, nil
}

// roundValue removes the rounding noise of un-standardising (0.9999999999999998 → 1).
func roundValue(v float64) float64 {
	r := math.Round(v*1e9) / 1e9
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return v
	}
	if r == 0 {
		return 0 // not −0 (−1e-17 rounds to it), which prints as "-0"
	}
	return r
}

type gbtScorer struct {
	M *gbt.Model `json:"gbt"`
}

func (s *gbtScorer) Features() []string { return s.M.FeatureNames() }

func (s *gbtScorer) LogOdds(X *frame.Frame) ([]float64, error) { return s.M.PredictLogOdds(X) }

// Reasons reports exact TreeSHAP contributions per input column (package gbt).
func (s *gbtScorer) Reasons(X *frame.Frame, row, k int) ([]Reason, error) {
	_, contrib, err := s.M.Contributions(X, row)
	if err != nil {
		return nil, err
	}
	names := s.M.FeatureNames()
	return gbtReasons(names, func(j int) *frame.Column { return X.Column(names[j]) }, row, contrib, k, nil), nil
}

// gbtReasons turns TreeSHAP values (contrib[j] is feature names[j]'s, col(j) its column)
// into the k reasons of largest effect (all when k <= 0), each with row's value: the
// features of non-zero effect, in order, sorted stably by the effect's size, the first k.
// Only the k reasons kept are made (a reason for every feature, then cut to k, was a
// hundred values boxed per score). cands is a buffer for the candidates, or nil.
func gbtReasons(names []string, col func(j int) *frame.Column, row int, contrib []float64, k int, cands *[]reasonCand) []Reason {
	var buf []reasonCand
	if cands != nil {
		buf = (*cands)[:0]
	}
	for j, e := range contrib {
		if e == 0 || j >= len(names) {
			continue
		}
		buf = append(buf, reasonCand{j: j, abs: math.Abs(e)})
	}
	sort.Stable(byEffect(buf))
	n := len(buf)
	if k > 0 && n > k {
		n = k
	}
	out := make([]Reason, n)
	for i, c := range buf[:n] {
		var v any
		if c := col(c.j); c != nil {
			if c.Kind == frame.Categorical {
				v = c.Cat[row]
			} else if x := c.Num[row]; !math.IsNaN(x) {
				v = x
			}
		}
		out[i] = Reason{Feature: names[c.j], Value: v, Effect: contrib[c.j]}
	}
	if cands != nil {
		*cands = buf
	}
	return out
}

// byEffect orders reason candidates by the size of their effect, largest first.
type byEffect []reasonCand

func (b byEffect) Len() int           { return len(b) }
func (b byEffect) Less(i, j int) bool { return b[i].abs > b[j].abs }
func (b byEffect) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }

// IsMissing reports whether a trimmed text value means "no value": tables read for training
// and records scored one at a time must agree on it.
func IsMissing(s string) bool {
	switch s {
	case "", "NA", "N/A", "NaN", "nan", "null", "NULL", "?":
		return true
	}
	return false
}

// formatNum writes v in its shortest exact decimal form.
func formatNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
