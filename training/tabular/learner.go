package tabular

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/logistic"
)

// Learner fits a scoring model on a feature frame. Implementations: logistic regression
// (package encode + logistic) and gradient-boosted trees (package gbt).
type Learner interface {
	Name() string
	Fit(X *frame.Frame, y, w []float64, src rand.Source) (classifier.Scorer, error)
}

// NewLearner returns the learner called name (classifier.ModelLogistic or classifier.ModelGBT).
func NewLearner(name string, opts Options) (Learner, error) {
	switch name {
	case "", classifier.ModelLogistic:
		return logisticLearner{enc: opts.Encode, lr: opts.Logistic, log1pMinPositives: opts.Log1pMinPositives}, nil
	case classifier.ModelGBT:
		return gbtLearner{opts: opts.GBT, validation: opts.ValidationShare, minChildShare: opts.MinChildShare}, nil
	}
	return nil, fmt.Errorf("%w: unknown model %q (want %s or %s)", ErrOptions, name, classifier.ModelLogistic, classifier.ModelGBT)
}

type logisticLearner struct {
	enc               encode.Options
	lr                logistic.Options
	log1pMinPositives int // Options.Log1pMinPositives
}

func (logisticLearner) Name() string { return classifier.ModelLogistic }

func (l logisticLearner) Fit(X *frame.Frame, y, w []float64, src rand.Source) (classifier.Scorer, error) {
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
	return classifier.NewLogistic(enc, m), nil
}

type gbtLearner struct {
	opts          gbt.Options
	validation    float64 // Options.ValidationShare
	minChildShare float64 // Options.MinChildShare
	// ctx, when not nil, carries the progress reporter the fit shows its rounds on
	// (Learner.Fit takes no context: the folds of model selection count folds instead).
	ctx context.Context
}

// rounds sets o.Progress to show the fit's boosting rounds as phase, and returns the call
// that ends the phase.
func (l gbtLearner) rounds(o *gbt.Options, phase string) (end func()) {
	if l.ctx == nil {
		return func() {}
	}
	step, end := progress.Steps(l.ctx, phase, "rounds")
	o.Progress = step
	return end
}

func (gbtLearner) Name() string { return classifier.ModelGBT }

// Fit fits the trees. With a validation share, a stratified share of the rows first picks
// the number of rounds by early stopping (the validation log loss), and the model is then
// refitted on all rows with that many rounds, so no row is wasted.
func (l gbtLearner) Fit(X *frame.Frame, y, w []float64, src rand.Source) (classifier.Scorer, error) {
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
		end := l.rounds(&es, "fitting gbt (early stopping on a held-out share)")
		m, err := gbt.Fit(X.Take(rest), takeY(y, rest), wr, es)
		end()
		if err != nil {
			return nil, err
		}
		o.Trees = max(m.NumTrees(), 1)
	}
	end := l.rounds(&o, "fitting gbt")
	m, err := gbt.Fit(X, y, w, o)
	end()
	if err != nil {
		return nil, err
	}
	return classifier.NewGBT(m), nil
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

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}
