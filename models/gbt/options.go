package gbt

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/propensity-dev/propensity/models/frame"
)

// Options configures Fit. The zero value is a good default for most tabular churn and
// conversion problems; each field documents its default.
type Options struct {
	// Trees is the number of boosting rounds (an upper bound when early stopping). 0 means 300.
	Trees int `json:"trees"`
	// MaxDepth limits the depth of each tree (a root split has depth 1). 0 means 4.
	MaxDepth int `json:"max_depth"`
	// MaxLeaves, when positive, grows each tree leaf-wise (best split first, Ke et al. 2017)
	// until it has that many leaves, still within MaxDepth. 0 means depth-wise growth: every
	// node with a useful split is split until MaxDepth.
	MaxLeaves int `json:"max_leaves,omitempty"`
	// LearningRate (shrinkage, Friedman 2001) multiplies every leaf value. 0 means 0.05: with
	// 300 trees of depth 4 it scores better than 0.1 on Telco churn and Online Shoppers.
	LearningRate float64 `json:"learning_rate"`
	// MaxBins is the number of histogram bins per feature, at most 255 (a further bin holds
	// missing values). Numeric columns are cut at quantiles; categorical columns keep their
	// MaxBins most frequent categories. 0 means 255.
	MaxBins int `json:"max_bins"`
	// L2 is the ridge penalty λ on leaf values. 0 means 1; use a tiny positive value for none.
	L2 float64 `json:"l2"`
	// MinChildWeight is the least sum of hessians (wᵢpᵢ(1−pᵢ)) a child may hold. 0 means 1;
	// use a tiny positive value for none.
	MinChildWeight float64 `json:"min_child_weight"`
	// MinSplitGain (γ) is the least loss reduction a split must bring. 0 means 0.
	MinSplitGain float64 `json:"min_split_gain,omitempty"`
	// Subsample is the fraction of rows drawn (without replacement, per tree) to grow each
	// tree. 0 means 1 (all rows).
	Subsample float64 `json:"subsample"`
	// ColSample is the fraction of features drawn per tree. 0 means 1 (all features).
	ColSample float64 `json:"colsample"`
	// CatSmooth is added to the hessian sum when ordering categories by gradient/hessian for a
	// categorical split (as LightGBM does), which keeps rare categories from the extremes.
	// 0 means 10.
	CatSmooth float64 `json:"cat_smooth"`
	// EarlyStoppingRounds stops boosting when the validation log-loss has not improved for
	// that many rounds, and keeps the trees up to the best round. It only applies when
	// Validation is set. 0 means 20.
	EarlyStoppingRounds int `json:"early_stopping_rounds,omitempty"`
	// Validation, when not nil, is scored after every round for early stopping. It must have
	// the training columns (matched by name).
	Validation *Dataset `json:"-"`
	// Seed drives row and column subsampling and the sample used to fit the bins.
	Seed uint64 `json:"seed"`
	// Threads is the number of goroutines building histograms and predicting. The fitted
	// model does not depend on it. 0 means runtime.GOMAXPROCS(0).
	Threads int `json:"threads,omitempty"`
	// Progress, when not nil, is called with (0, Trees) before the first round and with
	// (rounds done, Trees) after each, so that a caller can show how far the fit has come
	// (early stopping may end it before Trees). It does not change the model.
	Progress func(done, total int) `json:"-"`
}

// Dataset is a labelled table: features, 0/1 labels and optional weights (nil means ones).
type Dataset struct {
	X *frame.Frame
	Y []float64
	W []float64
}

// Defaults for the zero fields of Options.
const (
	DefaultTrees               = 300
	DefaultMaxDepth            = 4
	DefaultLearningRate        = 0.05
	DefaultMaxBins             = 255
	DefaultL2                  = 1
	DefaultMinChildWeight      = 1
	DefaultCatSmooth           = 10
	DefaultEarlyStoppingRounds = 20
)

// EnsureDefaults returns o with every zero field replaced by its default.
func (o Options) EnsureDefaults() Options {
	if o.Trees == 0 {
		o.Trees = DefaultTrees
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.LearningRate == 0 {
		o.LearningRate = DefaultLearningRate
	}
	if o.MaxBins == 0 {
		o.MaxBins = DefaultMaxBins
	}
	if o.L2 == 0 {
		o.L2 = DefaultL2
	}
	if o.MinChildWeight == 0 {
		o.MinChildWeight = DefaultMinChildWeight
	}
	if o.Subsample == 0 {
		o.Subsample = 1
	}
	if o.ColSample == 0 {
		o.ColSample = 1
	}
	if o.CatSmooth == 0 {
		o.CatSmooth = DefaultCatSmooth
	}
	if o.EarlyStoppingRounds == 0 {
		o.EarlyStoppingRounds = DefaultEarlyStoppingRounds
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return o
}

// Validate reports every out-of-range field of o (after defaults) at once, each wrapping
// ErrOptions.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...))
	}
	if o.Trees < 0 {
		bad("Trees = %d, want ≥ 0", o.Trees)
	}
	if o.MaxDepth < 0 || o.MaxDepth > 30 {
		bad("MaxDepth = %d, want 0..30", o.MaxDepth)
	}
	if o.MaxLeaves < 0 || o.MaxLeaves == 1 {
		bad("MaxLeaves = %d, want 0 or ≥ 2", o.MaxLeaves)
	}
	if !(o.LearningRate >= 0 && o.LearningRate <= 10) {
		bad("LearningRate = %g, want in (0, 10]", o.LearningRate)
	}
	if o.MaxBins < 0 || o.MaxBins == 1 || o.MaxBins > 255 {
		bad("MaxBins = %d, want 2..255", o.MaxBins)
	}
	if !(o.L2 >= 0) {
		bad("L2 = %g, want > 0", o.L2)
	}
	if !(o.MinChildWeight >= 0) {
		bad("MinChildWeight = %g, want > 0", o.MinChildWeight)
	}
	if !(o.MinSplitGain >= 0) {
		bad("MinSplitGain = %g, want ≥ 0", o.MinSplitGain)
	}
	if !(o.Subsample >= 0 && o.Subsample <= 1) {
		bad("Subsample = %g, want in (0, 1]", o.Subsample)
	}
	if !(o.ColSample >= 0 && o.ColSample <= 1) {
		bad("ColSample = %g, want in (0, 1]", o.ColSample)
	}
	if !(o.CatSmooth >= 0) {
		bad("CatSmooth = %g, want > 0", o.CatSmooth)
	}
	if o.EarlyStoppingRounds < 0 {
		bad("EarlyStoppingRounds = %d, want ≥ 0", o.EarlyStoppingRounds)
	}
	if o.Threads < 0 {
		bad("Threads = %d, want ≥ 0", o.Threads)
	}
	return errors.Join(errs...)
}
