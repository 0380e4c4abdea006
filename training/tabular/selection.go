package tabular

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/logistic"
	"github.com/propensity-dev/propensity/models/metrics"
)

// ModelAuto asks Train to pick classifier.ModelLogistic or classifier.ModelGBT by
// cross-validated AUC on the fitting rows (Options.AutoFolds, Options.AutoBudget).
const ModelAuto = "auto"

// Defaults of the model selection.
const (
	DefaultAutoFolds  = 3
	DefaultAutoBudget = 5 * time.Minute
)

// FoldMetrics are the metrics of one cross-validation fold, on the model's own
// (uncalibrated) probabilities of the held-out fold.
type FoldMetrics struct {
	Fold      int     `json:"fold"` // 1-based
	Rows      int     `json:"rows"`
	Positives int     `json:"positives"`
	AUC       float64 `json:"auc"`
	PRAUC     float64 `json:"pr_auc"`
	LogLoss   float64 `json:"log_loss"`
	Brier     float64 `json:"brier"`
}

// Spread is the mean and population standard deviation of a metric over folds.
type Spread struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

func spreadOf(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := Spread{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, x := range v {
		s.Mean += x
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
	}
	s.Mean /= float64(len(v))
	for _, x := range v {
		s.SD += (x - s.Mean) * (x - s.Mean)
	}
	s.SD = math.Sqrt(s.SD / float64(len(v)))
	return s
}

// spreads summarises folds metric by metric.
func spreads(folds []FoldMetrics) map[string]Spread {
	pick := func(f func(FoldMetrics) float64) Spread {
		v := make([]float64, len(folds))
		for i, m := range folds {
			v[i] = f(m)
		}
		return spreadOf(v)
	}
	return map[string]Spread{
		"auc":      pick(func(m FoldMetrics) float64 { return m.AUC }),
		"pr_auc":   pick(func(m FoldMetrics) float64 { return m.PRAUC }),
		"log_loss": pick(func(m FoldMetrics) float64 { return m.LogLoss }),
		"brier":    pick(func(m FoldMetrics) float64 { return m.Brier }),
	}
}

// foldMetrics fits learner on the rows of X outside fold f and measures it on fold f.
func foldMetrics(learner Learner, X *frame.Frame, y []float64, fold []int, f int, src rand.Source) (FoldMetrics, error) {
	var tr, te []int
	for i, g := range fold {
		if g == f {
			te = append(te, i)
		} else {
			tr = append(tr, i)
		}
	}
	s, err := learner.Fit(X.Take(tr), takeY(y, tr), nil, src)
	if err != nil {
		return FoldMetrics{}, err
	}
	z, err := s.LogOdds(X.Take(te))
	if err != nil {
		return FoldMetrics{}, err
	}
	yt := takeY(y, te)
	p := make([]float64, len(z))
	for i, v := range z {
		p[i] = logistic.Sigmoid(v)
	}
	m := FoldMetrics{Fold: f + 1, Rows: len(te), LogLoss: metrics.LogLoss(yt, p, nil), Brier: metrics.Brier(yt, p, nil)}
	m.Positives, _ = countPos(yt)
	if m.AUC, err = metrics.AUC(yt, z, nil); err != nil {
		return m, err
	}
	if m.PRAUC, err = metrics.AveragePrecision(yt, z, nil); err != nil {
		return m, err
	}
	return m, nil
}

// Selection records how ModelAuto chose the model.
type Selection struct {
	Chosen string `json:"chosen"`
	Folds  int    `json:"folds"`
	// CVAUC is each candidate's mean AUC over the folds that every candidate completed.
	CVAUC map[string]float64 `json:"cv_auc"`
	// FoldMetrics are each candidate's folds, in the order run.
	FoldMetrics map[string][]FoldMetrics `json:"fold_metrics"`
	// Seconds is the time the selection took; BudgetSeconds the budget it had.
	Seconds       float64 `json:"seconds"`
	BudgetSeconds float64 `json:"budget_seconds"`
	// Note says when the budget cut the comparison short, or why the choice was made.
	Note string `json:"note,omitempty"`
}

// selectModel cross-validates the logistic model, then the trees, on the fitting rows, and
// picks the higher mean AUC over the folds both completed (logistic on a tie: cheaper to fit
// and to explain). The budget is checked between folds: once it is spent, no further fold
// starts, but each candidate runs at least one.
func selectModel(ctx context.Context, X *frame.Frame, y []float64, opts Options, rng *rand.Rand, log *slog.Logger) (*Selection, error) {
	k := opts.AutoFolds
	fold := stratifiedFolds(y, k, rng)
	sel := &Selection{Folds: k, CVAUC: map[string]float64{}, FoldMetrics: map[string][]FoldMetrics{},
		BudgetSeconds: opts.AutoBudget.Seconds()}
	t0 := time.Now()
	candidates := []string{classifier.ModelLogistic, classifier.ModelGBT}
	bar := progress.Start(ctx, "choosing the model (logistic, gbt)", int64(k*len(candidates)), "folds")
	defer bar.Done()
	for _, name := range candidates {
		learner, err := NewLearner(name, opts)
		if err != nil {
			return nil, err
		}
		for f := range k {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if f > 0 && time.Since(t0) > opts.AutoBudget {
				sel.Note = fmt.Sprintf("the %s budget ran out after %d of %d folds of %s; the models are compared on the folds both completed",
					opts.AutoBudget, f, k, name)
				break
			}
			m, err := foldMetrics(learner, X, y, fold, f, rand.NewPCG(rng.Uint64(), rng.Uint64()))
			if err != nil {
				return nil, fmt.Errorf("tabular: model selection, %s fold %d: %w", name, f+1, err)
			}
			sel.FoldMetrics[name] = append(sel.FoldMetrics[name], m)
			bar.Add(1)
			log.Info("model selection", "model", name, "fold", fmt.Sprintf("%d/%d", f+1, k), "auc", round4(m.AUC))
		}
	}
	common := k
	for _, name := range candidates {
		common = min(common, len(sel.FoldMetrics[name]))
	}
	best := -1.0
	for _, name := range candidates {
		var s float64
		for _, m := range sel.FoldMetrics[name][:common] {
			s += m.AUC
		}
		sel.CVAUC[name] = s / float64(common)
		if sel.CVAUC[name] > best {
			best, sel.Chosen = sel.CVAUC[name], name
		}
	}
	sel.Seconds = time.Since(t0).Seconds()
	log.Info("model selected", "model", sel.Chosen, "cv_auc_logistic", round4(sel.CVAUC[classifier.ModelLogistic]),
		"cv_auc_gbt", round4(sel.CVAUC[classifier.ModelGBT]), "seconds", round4(sel.Seconds))
	return sel, nil
}
