package effect

import (
	"errors"
	"fmt"
	"math"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
)

// Learners.
const (
	// LearnerT fits P(y | x, treated) and P(y | x, control) apart; τ(x) is their difference.
	LearnerT = "t_learner"
	// LearnerClass fits one classifier of the transformed class z = y·t + (1−y)(1−t)
	// (Jaskowski & Jaroszewicz 2012), τ(x) = 2·P(z = 1 | x) − 1. Their identity needs a
	// treated share of ½; with share e the rows are weighted by t/e + (1−t)/(1−e), which
	// restores it for any share (in expectation the same as the transformed outcome
	// y·(t − e)/(e(1 − e)) of Athey & Imbens 2016).
	LearnerClass = "class_transformation"
	// LearnerX is the X-learner (Künzel, Sekhon, Bickel & Yu 2019): the T-learner's two
	// response models impute each row's effect, D₁ = y − μ₀(x) for treated rows and
	// D₀ = μ₁(x) − y for control rows; τ₁ and τ₀ are fitted to them and combined as
	// τ(x) = e·τ₀(x) + (1 − e)·τ₁(x), e the treated share (the propensity of a randomised
	// campaign).
	LearnerX = "x_learner"
)

// Learners returns every learner name, in the order a search tries them.
func Learners() []string { return []string{LearnerT, LearnerClass, LearnerX} }

// Errors of Fit.
var (
	ErrLearner = errors.New("effect: unknown learner")
	ErrGroups  = errors.New("effect: treated and control rows both need positive and negative outcomes")
)

// Model is a fitted uplift model. Which trees it holds depends on Learner.
type Model struct {
	Learner string `json:"learner"`
	// Share is the treated share e of the training rows.
	Share float64    `json:"treated_share"`
	Mu0   *gbt.Model `json:"mu0,omitempty"`   // P(y | x) of control rows (T, X)
	Mu1   *gbt.Model `json:"mu1,omitempty"`   // P(y | x) of treated rows (T, X)
	Class *gbt.Model `json:"class,omitempty"` // P(z = 1 | x) (class transformation)
	// Tau0 and Tau1 are the X-learner's effect models, fitted to (D + 1)/2 as soft labels:
	// the log-loss is minimised by the conditional mean, so 2·σ(F) − 1 estimates E[D | x].
	Tau0 *gbt.Model `json:"tau0,omitempty"`
	Tau1 *gbt.Model `json:"tau1,omitempty"`
}

// Fit fits the named learner to features X, outcomes y (0 or 1) and treatment flags, with
// the trees' options o (each tree model gets o; the seed is varied per model).
func Fit(learner string, X *frame.Frame, y []float64, treated []bool, o gbt.Options) (*Model, error) {
	if len(y) != X.Rows() || len(treated) != len(y) {
		return nil, fmt.Errorf("effect: %d rows, %d outcomes, %d treatment flags", X.Rows(), len(y), len(treated))
	}
	tRows, cRows := arms(treated)
	if len(tRows) == 0 || len(cRows) == 0 {
		return nil, ErrGroups
	}
	m := &Model{Learner: learner, Share: float64(len(tRows)) / float64(len(y))}
	fitOn := func(rows []int, labels []float64, w []float64, seed uint64) (*gbt.Model, error) {
		oo := o
		oo.Seed = o.Seed*7 + seed
		if rows == nil {
			return gbt.Fit(X, labels, w, oo)
		}
		return gbt.Fit(X.Take(rows), labels, w, oo)
	}
	var err error
	switch learner {
	case LearnerT, LearnerX:
		if m.Mu0, err = fitOn(cRows, pick(y, cRows), nil, 1); err != nil {
			return nil, groupErr("control", err)
		}
		if m.Mu1, err = fitOn(tRows, pick(y, tRows), nil, 2); err != nil {
			return nil, groupErr("treated", err)
		}
		if learner == LearnerT {
			return m, nil
		}
		if err := m.fitX(X, y, treated, o); err != nil {
			return nil, err
		}
		return m, nil
	case LearnerClass:
		z := make([]float64, len(y))
		w := make([]float64, len(y))
		for i := range y {
			if treated[i] {
				z[i], w[i] = y[i], 1/m.Share
			} else {
				z[i], w[i] = 1-y[i], 1/(1-m.Share)
			}
		}
		if m.Class, err = fitOn(nil, z, w, 5); err != nil {
			return nil, groupErr("all", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w %q (want %s, %s or %s)", ErrLearner, learner, LearnerT, LearnerClass, LearnerX)
}

// fitX fits the X-learner's effect models given the response models Mu0 and Mu1.
func (m *Model) fitX(X *frame.Frame, y []float64, treated []bool, o gbt.Options) error {
	tRows, cRows := arms(treated)
	Xt, Xc := X.Take(tRows), X.Take(cRows)
	// Imputed effects, as soft labels (D + 1)/2 in [0, 1].
	mu0, err := m.Mu0.Predict(Xt)
	if err != nil {
		return err
	}
	mu1, err := m.Mu1.Predict(Xc)
	if err != nil {
		return err
	}
	d1 := make([]float64, len(tRows))
	for k, r := range tRows {
		d1[k] = (y[r] - mu0[k] + 1) / 2
	}
	d0 := make([]float64, len(cRows))
	for k, r := range cRows {
		d0[k] = (mu1[k] - y[r] + 1) / 2
	}
	o3, o4 := o, o
	o3.Seed, o4.Seed = o.Seed*7+3, o.Seed*7+4
	if m.Tau1, err = gbt.Fit(Xt, d1, nil, o3); err != nil {
		return err
	}
	m.Tau0, err = gbt.Fit(Xc, d0, nil, o4)
	return err
}

// arms returns the treated and the control rows.
func arms(treated []bool) (tRows, cRows []int) {
	for i, t := range treated {
		if t {
			tRows = append(tRows, i)
		} else {
			cRows = append(cRows, i)
		}
	}
	return tRows, cRows
}

func groupErr(group string, err error) error {
	if errors.Is(err, gbt.ErrOneClass) {
		return fmt.Errorf("%w (%s rows: %v)", ErrGroups, group, err)
	}
	return err
}

func pick(v []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, r := range rows {
		out[k] = v[r]
	}
	return out
}

// FitAll fits the named learners on the same rows, sharing the response models of the
// T- and X-learners, and returns them by name.
func FitAll(learners []string, X *frame.Frame, y []float64, treated []bool, o gbt.Options) (map[string]*Model, error) {
	out := map[string]*Model{}
	var t *Model
	for _, l := range learners {
		var m *Model
		var err error
		switch {
		case (l == LearnerT || l == LearnerX) && t != nil:
			m = &Model{Learner: l, Share: t.Share, Mu0: t.Mu0, Mu1: t.Mu1}
			if l == LearnerX {
				err = m.fitX(X, y, treated, o)
			}
		default:
			m, err = Fit(l, X, y, treated, o)
		}
		if err != nil {
			return nil, err
		}
		if l == LearnerT || l == LearnerX {
			t = m
		}
		out[l] = m
	}
	return out, nil
}

// Effect returns the estimated effect τ(x) (a difference of probabilities, in [−1, 1]) of
// every row of X.
func (m *Model) Effect(X *frame.Frame) ([]float64, error) {
	pred := func(g *gbt.Model) ([]float64, error) {
		if g == nil {
			return nil, fmt.Errorf("effect: %s model lacks a tree ensemble", m.Learner)
		}
		return g.Predict(X)
	}
	out := make([]float64, X.Rows())
	switch m.Learner {
	case LearnerT:
		p0, err := pred(m.Mu0)
		if err != nil {
			return nil, err
		}
		p1, err := pred(m.Mu1)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = p1[i] - p0[i]
		}
	case LearnerClass:
		p, err := pred(m.Class)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = 2*p[i] - 1
		}
	case LearnerX:
		t0, err := pred(m.Tau0)
		if err != nil {
			return nil, err
		}
		t1, err := pred(m.Tau1)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = m.Share*(2*t0[i]-1) + (1-m.Share)*(2*t1[i]-1)
		}
	default:
		return nil, fmt.Errorf("%w %q", ErrLearner, m.Learner)
	}
	for i, v := range out {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("effect: row %d: estimate is NaN", i)
		}
	}
	return out, nil
}

// FeatureNames returns the input columns of the model's trees.
func (m *Model) FeatureNames() []string {
	for _, g := range []*gbt.Model{m.Mu0, m.Class, m.Tau0} {
		if g != nil {
			return g.FeatureNames()
		}
	}
	return nil
}
