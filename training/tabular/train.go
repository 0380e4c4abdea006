package tabular

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/calibrate"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/logistic"
	"github.com/propensity-dev/propensity/models/metrics"
)

// Errors of the training job.
var (
	ErrOptions      = errors.New("tabular: invalid options")
	ErrInsufficient = errors.New("tabular: not enough data to train")
)

// Options configures Train. The zero value trains a logistic conversion model with the
// defaults in the comments.
type Options struct {
	// Model is classifier.ModelLogistic, classifier.ModelGBT or ModelAuto (pick one of the
	// two by cross-validation on the fitting rows). Empty means logistic.
	Model string `json:"model"`
	// AutoFolds is the number of folds of ModelAuto's comparison. 0 means DefaultAutoFolds.
	AutoFolds int `json:"auto_folds,omitempty"`
	// AutoBudget bounds ModelAuto's comparison; it is checked between folds, and each model
	// runs at least one fold. 0 means DefaultAutoBudget.
	AutoBudget time.Duration `json:"auto_budget,omitempty"`
	// Kind is the artifact kind, artifact.KindConversion or artifact.KindChurn. Empty means
	// conversion.
	Kind string `json:"kind"`
	// Folds is the number of stratified cross-validation folds over all rows, for cv_auc and
	// cv_auc_sd. 0 or 1 means no cross-validation.
	Folds int `json:"folds,omitempty"`
	// TestShare is the stratified share of rows held out to measure the final model when no
	// test set is given. 0 means 0.2.
	TestShare float64 `json:"test_share"`
	// CalibrationShare is the stratified share of the training rows held out to fit the
	// probability calibration (Platt or isotonic, chosen by cross-validated log loss). 0
	// means 0.2.
	CalibrationShare float64 `json:"calibration_share"`
	// MinPositives is the fewest positive (and negative) training rows accepted; fewer is
	// refused with ErrInsufficient instead of fitting noise. 0 means 30: with ~10 events per
	// parameter as the usual floor for logistic regression (Peduzzi et al. 1996), 30 events
	// support only a handful of effective parameters, so this is a lower bound, not a target.
	MinPositives int `json:"min_positives"`
	// Seed drives the splits, folds and model randomness. 0 means 1.
	Seed uint64 `json:"seed"`
	// Reasons is the number of reason codes returned per prediction. 0 means 5.
	Reasons int `json:"reasons"`
	// Tune searches the gbt depth × learning rate grid (gbt.Tune's default grid) by
	// TuneFolds-fold cross-validated log loss on the fitting rows only (never the
	// calibration or test rows) and trains with the best point. Only for classifier.ModelGBT: the
	// logistic model has no built-in search, and asking for one is an error.
	Tune bool `json:"tune,omitempty"`
	// TuneFolds is the number of folds of the search. 0 means 3.
	TuneFolds int `json:"tune_folds,omitempty"`
	// ValidationShare, for classifier.ModelGBT, is the stratified share of the fitting rows held out
	// as the validation set of gbt early stopping (GBT.EarlyStoppingRounds); the trees are
	// then refitted on all fitting rows with the number of rounds found. 0 means no early
	// stopping: GBT.Trees rounds.
	ValidationShare float64 `json:"validation_share,omitempty"`

	// Log1pMinPositives, for classifier.ModelLogistic with Encode.Log1p, is the fewest positive fitting
	// rows for which the log1p features are added; with fewer, the model is fitted without
	// them (their extra columns cost more in variance than they bring). 0 means no minimum.
	Log1pMinPositives int `json:"log1p_min_positives,omitempty"`
	// MinChildShare, for classifier.ModelGBT, when positive, caps GBT.MinChildWeight at this share of
	// the fitting rows' total hessian (the weighted count times p̄(1 − p̄) at their positive
	// rate p̄), so that a minimum set for tens of thousands of rows does not forbid every
	// split on a small table. 0 means no cap.
	MinChildShare float64 `json:"min_child_share,omitempty"`

	Encode   encode.Options   `json:"encode"`
	Logistic logistic.Options `json:"logistic"`
	GBT      gbt.Options      `json:"gbt"`

	// Log receives progress and a summary line. Nil means no logging.
	Log *slog.Logger `json:"-"`
}

// EnsureDefaults fills zero fields with their defaults.
func (o Options) EnsureDefaults() Options {
	if o.Model == "" {
		o.Model = classifier.ModelLogistic
	}
	if o.Kind == "" {
		o.Kind = artifact.KindConversion
	}
	if o.TestShare == 0 {
		o.TestShare = 0.2
	}
	if o.CalibrationShare == 0 {
		o.CalibrationShare = 0.2
	}
	if o.MinPositives == 0 {
		o.MinPositives = 30
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Reasons == 0 {
		o.Reasons = 5
	}
	if o.Model == ModelAuto && o.AutoFolds == 0 {
		o.AutoFolds = DefaultAutoFolds
	}
	if o.Model == ModelAuto && o.AutoBudget == 0 {
		o.AutoBudget = DefaultAutoBudget
	}
	if o.Tune && o.TuneFolds == 0 {
		o.TuneFolds = 3
	}
	return o
}

// Validate reports every invalid option at once.
func (o Options) Validate() error {
	var errs []error
	if o.Model != classifier.ModelLogistic && o.Model != classifier.ModelGBT && o.Model != ModelAuto {
		errs = append(errs, fmt.Errorf("%w: model %q (want %s, %s or %s)", ErrOptions, o.Model, ModelAuto, classifier.ModelLogistic, classifier.ModelGBT))
	}
	if o.Model == ModelAuto && (o.AutoFolds < 2 || o.AutoFolds > 20) {
		errs = append(errs, fmt.Errorf("%w: %d auto folds (want 2..20)", ErrOptions, o.AutoFolds))
	}
	if o.AutoBudget < 0 {
		errs = append(errs, fmt.Errorf("%w: auto budget %s (want a positive duration)", ErrOptions, o.AutoBudget))
	}
	if o.Kind != artifact.KindConversion && o.Kind != artifact.KindChurn {
		errs = append(errs, fmt.Errorf("%w: kind %q (want %s or %s)", ErrOptions, o.Kind, artifact.KindConversion, artifact.KindChurn))
	}
	if o.Folds < 0 || o.Folds > 100 {
		errs = append(errs, fmt.Errorf("%w: %d folds (want 2..100, or 0 for none)", ErrOptions, o.Folds))
	}
	if !(o.TestShare > 0 && o.TestShare < 0.9) {
		errs = append(errs, fmt.Errorf("%w: test share %v (want between 0 and 0.9)", ErrOptions, o.TestShare))
	}
	if !(o.CalibrationShare > 0 && o.CalibrationShare < 0.9) {
		errs = append(errs, fmt.Errorf("%w: calibration share %v (want between 0 and 0.9)", ErrOptions, o.CalibrationShare))
	}
	if o.MinPositives < 1 {
		errs = append(errs, fmt.Errorf("%w: min positives %d", ErrOptions, o.MinPositives))
	}
	if o.Log1pMinPositives < 0 {
		errs = append(errs, fmt.Errorf("%w: log1p min positives %d (want 0 or more)", ErrOptions, o.Log1pMinPositives))
	}
	if !(o.MinChildShare >= 0 && o.MinChildShare < 1) {
		errs = append(errs, fmt.Errorf("%w: min child share %v (want 0 to 1)", ErrOptions, o.MinChildShare))
	}
	if o.Tune && o.Model != classifier.ModelGBT {
		errs = append(errs, fmt.Errorf("%w: tune searches the depth and learning rate of %s; model %q has nothing to tune", ErrOptions, classifier.ModelGBT, o.Model))
	}
	if o.Tune && (o.TuneFolds < 2 || o.TuneFolds > 20) {
		errs = append(errs, fmt.Errorf("%w: %d tune folds (want 2..20)", ErrOptions, o.TuneFolds))
	}
	if o.ValidationShare != 0 && (o.Model != classifier.ModelGBT && o.Model != ModelAuto || !(o.ValidationShare > 0 && o.ValidationShare < 0.9)) {
		errs = append(errs, fmt.Errorf("%w: validation share %v (want between 0 and 0.9, with model %s)", ErrOptions, o.ValidationShare, classifier.ModelGBT))
	}
	if o.Model == classifier.ModelGBT || o.Model == ModelAuto {
		if err := o.GBT.EnsureDefaults().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CV is the result of cross-validation.
type CV struct {
	Folds int       `json:"folds"`
	AUC   []float64 `json:"auc"`      // per fold
	Mean  float64   `json:"auc_mean"` // mean over folds
	SD    float64   `json:"auc_sd"`   // population standard deviation over folds, as numpy's std
	// FoldMetrics are AUC, PR-AUC, log loss and Brier score per fold (the last two on the
	// model's own probabilities: calibration is fitted only for the final model), and Spread
	// their mean, standard deviation and range over the folds, by metric name.
	FoldMetrics []FoldMetrics     `json:"fold_metrics"`
	Spread      map[string]Spread `json:"spread"`
}

// Tuning is what Options.Tune found: every grid point's cross-validated log loss on the
// fitting rows and the point the model was trained with.
type Tuning struct {
	Folds int             `json:"folds"`
	Grid  []gbt.TuneScore `json:"grid"`
	Best  gbt.TuneScore   `json:"best"`
}

// Result is what Train produced.
type Result struct {
	Model     *classifier.Model // the fitted, calibrated model, ready to save or score with
	Test      metrics.Summary   // metrics of the calibrated model on the test rows
	CV        *CV               // nil without cross-validation
	Tune      *Tuning           // nil without Options.Tune
	Selection *Selection        // how ModelAuto chose; nil for an explicit model
	// Importance is the global importance of the model's features on the fitting rows.
	Importance  []classifier.Importance
	Calibration calibrate.Choice // how the calibration was chosen
	FitSeconds  float64          // wall time of the final model fit (without calibration)
	Rows        int              // rows used: training + calibration + test
	TrainRows   int
	CalibRows   int
	TestRows    int
	Features    int     // model features after encoding
	Options     Options // the options used, defaults filled in

	// Columns is the column report of the table read (table mode only), recorded in the
	// manifest so that score --table reads new tables alike.
	Columns *table.Report

	// FeatureOptions are the options of the history feature tables the model was trained
	// on (history mode only; nil for a table), recorded in the manifest for online scoring.
	FeatureOptions *features.Options

	// TestIndex are the rows of the dataset held out as test rows (nil when a test set was
	// given), in the order of TestY and TestP.
	TestIndex []int
	// TestY and TestP are the test labels and calibrated probabilities, for plots.
	TestY, TestP []float64
	// TestUncalibrated are the model's own probabilities on the test rows, before calibration.
	TestUncalibrated []float64
}

// stratifiedFolds assigns each row to one of k folds so that every fold holds the same share
// of positives (±1 row), in a random order drawn from rng.
func stratifiedFolds(y []float64, k int, rng *rand.Rand) []int {
	fold := make([]int, len(y))
	var pos, neg []int
	for i, v := range y {
		if v == 1 {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	off := 0
	for _, group := range [][]int{pos, neg} {
		rng.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		for r, i := range group {
			fold[i] = (r + off) % k
		}
		off += len(group) // continue the round robin so fold sizes stay balanced
	}
	return fold
}

// stratifiedSplit returns the rows of a held-out share and the rest, stratified by y.
func stratifiedSplit(y []float64, share float64, rng *rand.Rand) (rest, held []int) {
	var pos, neg []int
	for i, v := range y {
		if v == 1 {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	for _, group := range [][]int{pos, neg} {
		rng.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		h := int(math.Round(share * float64(len(group))))
		held = append(held, group[:h]...)
		rest = append(rest, group[h:]...)
	}
	return rest, held
}

func takeY(y []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, i := range rows {
		out[k] = y[i]
	}
	return out
}

func countPos(y []float64) (pos, neg int) {
	for _, v := range y {
		if v == 1 {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg
}

// checkSufficient refuses data with too few of either class for what will be fitted on it.
func checkSufficient(what string, y []float64, min int) error {
	pos, neg := countPos(y)
	if pos < min || neg < min {
		return fmt.Errorf("%w: the %s rows hold %d positive and %d negative labels; at least %d of each are needed "+
			"(fewer would fit noise: collect more history, lengthen the horizon, or lower the minimum knowingly)",
			ErrInsufficient, what, pos, neg, min)
	}
	return nil
}

// Train fits a model on d. When test is nil, a stratified Options.TestShare of d is held out
// to measure the final model; otherwise test measures it (the history mode: train on earlier
// snapshots, test on the latest). A stratified Options.CalibrationShare of the training rows
// is held out to fit the calibration. With Options.Folds >= 2, stratified K-fold
// cross-validation over all of d reports cv_auc (the protocol of
// the peer script tabular_baselines.py (docs/performance.md)).
func Train(ctx context.Context, d *Dataset, test *Dataset, opts Options) (*Result, error) {
	opts = opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	if err := d.X.Validate(); err != nil {
		return nil, fmt.Errorf("tabular: %w", err)
	}
	res := &Result{Options: opts}

	// Split: train / calibration / test.
	var trainRows, testRows []int
	trainX, trainY := d.X, d.Y
	var testX *frame.Frame
	var testY []float64
	if test == nil {
		if err := checkSufficient("labelled", d.Y, opts.MinPositives); err != nil {
			return nil, err
		}
		trainRows, testRows = stratifiedSplit(d.Y, opts.TestShare, rng)
		res.TestIndex = testRows
		trainX, trainY = d.X.Take(trainRows), takeY(d.Y, trainRows)
		testX, testY = d.X.Take(testRows), takeY(d.Y, testRows)
	} else {
		testX, testY = test.X, test.Y
		if pos, neg := countPos(testY); pos == 0 || neg == 0 {
			return nil, fmt.Errorf("%w: the test rows hold %d positive and %d negative labels; both are needed to measure a model", ErrInsufficient, pos, neg)
		}
	}
	if err := checkSufficient("training", trainY, opts.MinPositives); err != nil {
		return nil, err
	}
	fitRows, calRows := stratifiedSplit(trainY, opts.CalibrationShare, rng)
	fitX, fitY := trainX.Take(fitRows), takeY(trainY, fitRows)
	calX, calY := trainX.Take(calRows), takeY(trainY, calRows)
	if pos, neg := countPos(calY); pos < 2 || neg < 2 {
		return nil, fmt.Errorf("%w: the calibration rows hold %d positive and %d negative labels", ErrInsufficient, pos, neg)
	}

	if opts.Model == ModelAuto {
		sel, err := selectModel(ctx, fitX, fitY, opts, rng, log)
		if err != nil {
			return nil, err
		}
		res.Selection = sel
		opts.Model = sel.Chosen
		res.Options = opts
	}
	learner, err := NewLearner(opts.Model, opts)
	if err != nil {
		return nil, err
	}
	if opts.Tune {
		t, best, err := tune(fitX, fitY, opts, rng, log)
		if err != nil {
			return nil, err
		}
		res.Tune = t
		opts.GBT = best
		res.Options = opts
		if learner, err = NewLearner(opts.Model, opts); err != nil {
			return nil, err
		}
	}

	// Cross-validation over all labelled rows.
	if opts.Folds >= 2 {
		if err := checkSufficient("labelled", d.Y, max(opts.MinPositives, 2*opts.Folds)); err != nil {
			return nil, err
		}
		cv, err := crossValidate(ctx, learner, d, opts.Folds, rng, log)
		if err != nil {
			return nil, err
		}
		res.CV = cv
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	log.Info("fitting final model", "model", learner.Name(), "rows", len(fitY), "calibration_rows", len(calY), "test_rows", len(testY))
	t0 := time.Now()
	final := learner
	if g, ok := learner.(gbtLearner); ok {
		g.ctx = ctx // the final fit shows its boosting rounds; the folds above count folds
		final = g
	}
	scorer, err := final.Fit(fitX, fitY, nil, rand.NewPCG(rng.Uint64(), rng.Uint64()))
	if err != nil {
		return nil, fmt.Errorf("tabular: fitting %s: %w", learner.Name(), err)
	}
	res.FitSeconds = time.Since(t0).Seconds()

	zCal, err := scorer.LogOdds(calX)
	if err != nil {
		return nil, fmt.Errorf("tabular: scoring calibration rows: %w", err)
	}
	cal, choice, err := calibrate.Select(zCal, calY, nil, 5, rand.NewPCG(rng.Uint64(), rng.Uint64()))
	if err != nil {
		return nil, fmt.Errorf("tabular: calibration: %w", err)
	}
	res.Calibration = choice

	zTest, err := scorer.LogOdds(testX)
	if err != nil {
		return nil, fmt.Errorf("tabular: scoring test rows: %w", err)
	}
	res.TestY = testY
	res.TestP = cal.ApplyAll(zTest)
	res.TestUncalibrated = make([]float64, len(zTest))
	for i, z := range zTest {
		res.TestUncalibrated[i] = logistic.Sigmoid(z)
	}
	res.Test, err = metrics.Summarize(testY, res.TestP, nil)
	if err != nil {
		return nil, fmt.Errorf("tabular: test metrics: %w", err)
	}
	res.Rows = len(trainY) + len(testY)
	res.TrainRows, res.CalibRows, res.TestRows = len(fitY), len(calY), len(testY)
	res.Features = len(scorer.Features())

	res.Model, err = classifier.New(artifact.Manifest{
		Kind:            opts.Kind,
		Model:           learner.Name(),
		FeatureNames:    d.X.Names(),
		DataFingerprint: Fingerprint(d.X, d.Y),
		Rows:            res.Rows,
		Metrics:         res.MetricsMap(),
	}, classifier.Payload{
		Version:    classifier.PayloadVersion,
		Model:      learner.Name(),
		Label:      d.Label,
		Positive:   d.Positive,
		Inputs:     classifier.InputsOf(d.X),
		Features:   scorer.Features(),
		Calibrator: cal,
		Reasons:    opts.Reasons,
		DecileCuts: classifier.DecileCuts(res.TestP),
	}, scorer)
	if err != nil {
		return nil, err
	}
	if res.Importance, err = res.Model.Importance(fitX, 1000); err != nil {
		return nil, fmt.Errorf("tabular: feature importance: %w", err)
	}
	log.Info("trained", "model", learner.Name(), "test_auc", round4(res.Test.AUC), "calibration", choice.Method,
		"fit_seconds", round4(res.FitSeconds), "features", res.Features)
	return res, nil
}

// tune runs gbt.Tune on the fitting rows and returns the search and the options to train
// with (opts.GBT with the best depth and learning rate).
func tune(X *frame.Frame, y []float64, opts Options, rng *rand.Rand, log *slog.Logger) (*Tuning, gbt.Options, error) {
	base := capMinChildWeight(opts.GBT, opts.MinChildShare, y, nil)
	if base.Seed == 0 {
		base.Seed = rng.Uint64()
	}
	log.Info("tuning", "model", classifier.ModelGBT, "folds", opts.TuneFolds, "rows", len(y))
	tr, err := gbt.Tune(X, y, nil, gbt.Grid{Base: base}, opts.TuneFolds, rng.Uint64())
	if err != nil {
		return nil, base, fmt.Errorf("tabular: tuning %s: %w", classifier.ModelGBT, err)
	}
	t := &Tuning{Folds: opts.TuneFolds, Grid: tr.Scores}
	for _, s := range tr.Scores {
		if s.MaxDepth == tr.Best.MaxDepth && s.LearningRate == tr.Best.LearningRate {
			t.Best = s
			break
		}
	}
	log.Info("tuned", "max_depth", t.Best.MaxDepth, "learning_rate", t.Best.LearningRate, "cv_log_loss", round4(t.Best.LogLoss))
	best := base
	best.MaxDepth, best.LearningRate = tr.Best.MaxDepth, tr.Best.LearningRate
	return t, best, nil
}

func crossValidate(ctx context.Context, learner Learner, d *Dataset, k int, rng *rand.Rand, log *slog.Logger) (*CV, error) {
	fold := stratifiedFolds(d.Y, k, rng)
	cv := &CV{Folds: k}
	bar := progress.Start(ctx, "cross-validating "+learner.Name(), int64(k), "folds")
	defer bar.Done()
	for f := range k {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := foldMetrics(learner, d.X, d.Y, fold, f, rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if err != nil {
			return nil, fmt.Errorf("tabular: cross-validation fold %d: %w", f+1, err)
		}
		cv.AUC = append(cv.AUC, m.AUC)
		cv.FoldMetrics = append(cv.FoldMetrics, m)
		bar.Add(1)
		log.Info("cross-validation", "fold", fmt.Sprintf("%d/%d", f+1, k), "auc", round4(m.AUC), "log_loss", round4(m.LogLoss))
	}
	cv.Spread = spreads(cv.FoldMetrics)
	cv.Mean, cv.SD = cv.Spread["auc"].Mean, cv.Spread["auc"].SD
	return cv, nil
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// MetricsMap returns the headline numbers as recorded in the artifact manifest.
func (r *Result) MetricsMap() map[string]float64 {
	m := map[string]float64{
		"auc": r.Test.AUC, "pr_auc": r.Test.PRAUC, "log_loss": r.Test.LogLoss,
		"brier": r.Test.Brier, "ece": r.Test.ECE, "fit_seconds": r.FitSeconds,
	}
	if r.CV != nil {
		m["cv_auc"], m["cv_auc_sd"] = r.CV.Mean, r.CV.SD
		for name, sp := range r.CV.Spread {
			if name != "auc" {
				m["cv_"+name], m["cv_"+name+"_sd"] = sp.Mean, sp.SD
			}
		}
	}
	if r.Selection != nil {
		for name, auc := range r.Selection.CVAUC {
			m["selection_cv_auc_"+name] = auc
		}
	}
	return m
}

// Fingerprint returns a SHA-256 over the column names, kinds, values and labels of a table:
// two trainings with the same fingerprint saw the same data.
func Fingerprint(X *frame.Frame, y []float64) string {
	h := sha256.New()
	var b [8]byte
	for _, c := range X.Columns {
		h.Write([]byte(c.Name))
		h.Write([]byte{0, byte(c.Kind)})
		if c.Kind == frame.Categorical {
			for _, s := range c.Cat {
				h.Write([]byte(s))
				h.Write([]byte{0})
			}
			continue
		}
		for _, v := range c.Num {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			h.Write(b[:])
		}
	}
	for _, v := range y {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
