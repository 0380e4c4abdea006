package tabular

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/logistic"
)

// Model names accepted by Options.Model.
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

// Learner fits a scoring model on a feature frame. Implementations: logistic regression
// (package encode + logistic) and gradient-boosted trees (package gbt).
type Learner interface {
	Name() string
	Fit(X *frame.Frame, y, w []float64, src rand.Source) (Scorer, error)
}

// Scorer is a fitted model: uncalibrated log-odds and per-row reasons.
type Scorer interface {
	LogOdds(X *frame.Frame) ([]float64, error)
	// Reasons returns the k strongest contributions for row of X, strongest first.
	Reasons(X *frame.Frame, row, k int) ([]Reason, error)
	// Features names the model's features (after encoding), for reports.
	Features() []string
}

// NewLearner returns the learner called name (ModelLogistic or ModelGBT).
func NewLearner(name string, opts Options) (Learner, error) {
	switch name {
	case "", ModelLogistic:
		return logisticLearner{enc: opts.Encode, lr: opts.Logistic, log1pMinPositives: opts.Log1pMinPositives}, nil
	case ModelGBT:
		return gbtLearner{opts: opts.GBT, validation: opts.ValidationShare, minChildShare: opts.MinChildShare}, nil
	}
	return nil, fmt.Errorf("%w: unknown model %q (want %s or %s)", ErrOptions, name, ModelLogistic, ModelGBT)
}

type logisticLearner struct {
	enc               encode.Options
	lr                logistic.Options
	log1pMinPositives int // Options.Log1pMinPositives
}

func (logisticLearner) Name() string { return ModelLogistic }

func (l logisticLearner) Fit(X *frame.Frame, y, w []float64, src rand.Source) (Scorer, error) {
	if pos, _ := countPos(y); l.enc.Log1p && pos < l.log1pMinPositives {
		l.enc.Log1p = false
	}
	enc, M, err := encode.Fit(X, y, w, l.enc, src)
	if err != nil {
		return nil, err
	}
	o := l.lr
	o.Names = enc.Features
	m, err := logistic.Fit(M, y, w, o)
	if err != nil {
		return nil, err
	}
	return &logisticScorer{Enc: enc, LR: m}, nil
}

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

type gbtLearner struct {
	opts          gbt.Options
	validation    float64 // Options.ValidationShare
	minChildShare float64 // Options.MinChildShare
}

func (gbtLearner) Name() string { return ModelGBT }

// Fit fits the trees. With a validation share, a stratified share of the rows first picks
// the number of rounds by early stopping (the validation log loss), and the model is then
// refitted on all rows with that many rounds, so no row is wasted.
func (l gbtLearner) Fit(X *frame.Frame, y, w []float64, src rand.Source) (Scorer, error) {
	o := l.opts
	rng := rand.New(src)
	if o.Seed == 0 {
		o.Seed = rng.Uint64()
	}
	o = capMinChildWeight(o, l.minChildShare, y, w)
	if l.validation > 0 {
		rest, held := stratifiedSplit(y, l.validation, rng)
		var wr, wh []float64
		if w != nil {
			wr, wh = takeY(w, rest), takeY(w, held)
		}
		es := o
		es.Validation = &gbt.Dataset{X: X.Take(held), Y: takeY(y, held), W: wh}
		m, err := gbt.Fit(X.Take(rest), takeY(y, rest), wr, es)
		if err != nil {
			return nil, err
		}
		o.Trees = max(m.NumTrees(), 1)
	}
	m, err := gbt.Fit(X, y, w, o)
	if err != nil {
		return nil, err
	}
	return &gbtScorer{M: m}, nil
}

// capMinChildWeight returns o with MinChildWeight at most share of the total hessian of the
// rows with labels y and weights w, at their positive rate (Options.MinChildShare; share 0
// leaves o as it is).
func capMinChildWeight(o gbt.Options, share float64, y, w []float64) gbt.Options {
	if share <= 0 || o.MinChildWeight <= 0 || len(y) == 0 {
		return o
	}
	var sw, swy float64
	for i := range y {
		sw += wt(w, i)
		swy += wt(w, i) * y[i]
	}
	p := swy / sw
	if limit := share * sw * p * (1 - p); limit > 0 && limit < o.MinChildWeight {
		o.MinChildWeight = limit
	}
	return o
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
	out := make([]Reason, 0, len(contrib))
	for j, e := range contrib {
		if e == 0 || j >= len(names) {
			continue
		}
		var v any
		if c := X.Column(names[j]); c != nil {
			if c.Kind == frame.Categorical {
				v = c.Cat[row]
			} else if x := c.Num[row]; !math.IsNaN(x) {
				v = x
			}
		}
		out = append(out, Reason{Feature: names[j], Value: v, Effect: e})
	}
	sort.SliceStable(out, func(a, b int) bool { return math.Abs(out[a].Effect) > math.Abs(out[b].Effect) })
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out, nil
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}
