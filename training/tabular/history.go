package tabular

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
)

// ErrHistory is wrapped around errors caused by the history directory (missing files or
// columns, wrong types) and by impossible history-mode options.
var ErrHistory = errors.New("tabular: history")

// StageColumn is the lifecycle stage attribute of contacts (docs/contract.md §1), left out of
// history-mode features unless HistoryJob.KeepStage is set.
const StageColumn = "stage"

// DaysInStageColumn is the feature derived from the contacts' current stage_since; it leaks
// for the same reason as StageColumn (a converter's stage_since moves after T−H, leaving it
// null in the earlier snapshot) and is left out with it.
const DaysInStageColumn = "days_in_stage"

// Label columns of the feature table (docs/contract.md §6) per target.
var historyLabels = map[string]string{
	artifact.KindConversion: "label_converted",
	artifact.KindChurn:      "label_churned",
}

// HistoryJob is `propensity train conversion|churn --data DIR --as-of T --horizon H`:
// training rows come from feature snapshots at T−H, T−2H, ... (their labels cover
// [T−kH, T−kH+H), so they end by T and nothing at or after T is used), and the model is
// tested on the snapshot at T with its labels over [T, T+H). The same person may appear in
// several training snapshots, at different times.
type HistoryJob struct {
	Dir       string        // history directory (docs/contract.md §1)
	Target    string        // artifact.KindConversion or artifact.KindChurn
	AsOf      time.Time     // T
	Horizon   time.Duration // H
	Snapshots int           // training snapshots; 0 means 2
	Exclude   []string      // feature columns to leave out
	// KeepStage keeps the contacts' "stage" attribute (and days_in_stage) as features. By default they are left
	// out: contacts.parquet holds each contact's stage now, not as of a past snapshot, so in
	// a snapshot at T−H a prospect who bought before T already shows "customer" — a label
	// leak that inflates training scores and ruins the model on the snapshot at T.
	KeepStage bool
	Features  features.Options
	Train     Options
	Out       string // models directory; the artifact goes to Out/<Target>/
}

// Run builds the snapshots, trains, and writes the artifact and reports.
func (j HistoryJob) Run(ctx context.Context) (*Result, Summary, error) {
	label, ok := historyLabels[j.Target]
	if !ok {
		return nil, Summary{}, fmt.Errorf("%w: target %q (want conversion or churn)", ErrHistory, j.Target)
	}
	if j.Horizon <= 0 || j.AsOf.IsZero() {
		return nil, Summary{}, fmt.Errorf("%w: an as-of time and a positive horizon are needed", ErrHistory)
	}
	if j.Snapshots <= 0 {
		j.Snapshots = 2
	}
	log := j.Train.Log
	fopts := j.Features
	fopts.Horizon = j.Horizon
	var train *Dataset
	var schema []string
	for k := 1; k <= j.Snapshots; k++ {
		fopts.AsOf = j.AsOf.Add(-time.Duration(k) * j.Horizon)
		d, used, err := j.snapshot(ctx, fopts, label, schema)
		if err != nil {
			return nil, Summary{}, err
		}
		if k == 1 {
			// Later snapshots use the columns discovered on the first (product categories,
			// attributes), so every snapshot has the same features.
			fopts = used
			fopts.Horizon = j.Horizon
			schema = d.X.Names()
		}
		if log != nil {
			log.Info("training snapshot", "as_of", fopts.AsOf.Format(time.DateOnly), "rows", len(d.Y), "positives", d.Positives(), "unlabelled", d.Dropped)
		}
		if train == nil {
			train = d
		} else if err := appendFrame(train.X, d.X); err != nil {
			return nil, Summary{}, fmt.Errorf("%w: snapshot %s: %w", ErrHistory, fopts.AsOf.Format(time.DateOnly), err)
		} else {
			train.Y = append(train.Y, d.Y...)
			train.Dropped += d.Dropped
		}
	}
	fopts.AsOf = j.AsOf
	test, _, err := j.snapshot(ctx, fopts, label, schema)
	if err != nil {
		return nil, Summary{}, err
	}
	if log != nil {
		log.Info("test snapshot", "as_of", j.AsOf.Format(time.DateOnly), "rows", len(test.Y), "positives", test.Positives())
	}
	topts := j.Train
	topts.Kind = j.Target
	res, err := Train(ctx, train, test, topts)
	if err != nil {
		return nil, Summary{}, err
	}
	res.Model.Manifest.FeatureSchemaVersion = features.SchemaVersion
	used := fopts
	used.AsOf, used.Horizon = time.Time{}, 0
	res.FeatureOptions = &used
	res.Model.Manifest.TrainingWindow = artifact.Window{
		From: j.AsOf.Add(-time.Duration(j.Snapshots) * j.Horizon),
		To:   j.AsOf,
	}
	s := res.Summarize()
	s.DroppedRows = train.Dropped
	if j.Out == "" {
		return res, s, nil
	}
	title := fmt.Sprintf("%s model, as of %s, horizon %g days", j.Target, j.AsOf.Format(time.DateOnly), j.Horizon.Hours()/24)
	s, err = res.Write(filepath.Join(j.Out, j.Target), s, title)
	return res, s, err
}

// History-mode settings of the gbt model, used when Options leave them zero.
const (
	// HistoryGBTTrees bounds the boosting rounds; early stopping picks the number.
	HistoryGBTTrees = 1000
	// HistoryValidationShare is the share of the fitting rows that early stopping watches.
	HistoryValidationShare = 0.2
	// Regularisation of history-mode trees: a leaf needs a hessian sum of 20 (about 20
	// rows at p≈0.5, several hundred at the few-percent rates of conversion), each tree sees
	// 70% of the rows and half the features, leaf values are shrunk by λ = 10, and rounds
	// are smaller (0.03).
	HistoryGBTMinChildWeight = 20
	// HistoryGBTMinChildShare caps that minimum at 5% of the fitting rows' total hessian
	// (Options.MinChildShare): on a few thousand contacts, with a few dozen converters, a
	// weight of 20 allows no split, and early stopping keeps a constant model. On large
	// histories the cap is above 20 and changes nothing; a lower cap would bind there and
	// cost accuracy (docs/performance.md).
	HistoryGBTMinChildShare = 0.05
	// HistoryLog1pMinPositives is the fewest training positives for which the logistic
	// model gets its log1p features (Options.Log1pMinPositives): with a few dozen positives
	// and already ~150 features the extra columns add more variance than they remove bias
	// (docs/performance.md).
	HistoryLog1pMinPositives = 500
	HistoryGBTSubsample      = 0.7
	HistoryGBTColSample      = 0.5
	HistoryGBTL2             = 10
	HistoryGBTLearningRate   = 0.03
)

// HistoryDefaults returns o with the history-mode settings of its model: for gbt, filled in
// where o leaves them zero, early stopping on HistoryValidationShare of the fitting rows,
// within HistoryGBTTrees rounds, and the regularisation below; for logistic, log1p features;
// for ModelAuto, both.
// `propensity train conversion|churn` applies it to HistoryJob.Train; HistoryJob itself does
// not, so library callers keep the models' plain defaults unless they ask.
//
// Snapshot tables are noisy (a few percent positives, labels from one horizon, ~120 correlated
// count columns) and gbt's table defaults overfit them: on generated histories early stopping
// raised test AUC over fixed rounds, and the regularisation above raised it again, closer to
// that of the generator's true probabilities (docs/performance.md, measured with
// scripts/bench_generated.sh). The table mode keeps gbt's defaults, which match XGBoost's
// benchmark settings.
func HistoryDefaults(o Options) Options {
	if o.Model != classifier.ModelGBT {
		// The logistic model gets log(1 + x) of its count, amount and day columns as well
		// (encode.Options.Log1p): snapshot features act through diminishing returns and
		// the step from none to some. It raised test AUC on large generated histories and
		// was neutral on smaller ones (docs/performance.md).
		o.Encode.Log1p = true
		if o.Log1pMinPositives == 0 {
			o.Log1pMinPositives = HistoryLog1pMinPositives
		}
		if o.Model != ModelAuto {
			return o
		}
		// ModelAuto compares both models, each with its history-mode settings.
	}
	if o.MinChildShare == 0 {
		o.MinChildShare = HistoryGBTMinChildShare
	}
	if o.ValidationShare == 0 {
		o.ValidationShare = HistoryValidationShare
	}
	if o.GBT.Trees == 0 && !o.Tune {
		// With Tune the search fits its grid at gbt's default rounds (gbt.Tune does not
		// stop early), which keeps it quick; early stopping still trims the final model.
		o.GBT.Trees = HistoryGBTTrees
	}
	if o.GBT.LearningRate == 0 && !o.Tune {
		o.GBT.LearningRate = HistoryGBTLearningRate
	}
	if o.GBT.MinChildWeight == 0 {
		o.GBT.MinChildWeight = HistoryGBTMinChildWeight
	}
	if o.GBT.Subsample == 0 {
		o.GBT.Subsample = HistoryGBTSubsample
	}
	if o.GBT.ColSample == 0 {
		o.GBT.ColSample = HistoryGBTColSample
	}
	if o.GBT.L2 == 0 {
		o.GBT.L2 = HistoryGBTL2
	}
	return o
}

// snapshot builds the feature table at fopts.AsOf and turns it into a labelled dataset
// with the feature columns (and, when schema is set, checks they are the same).
func (j HistoryJob) snapshot(ctx context.Context, fopts features.Options, label string, schema []string) (*Dataset, features.Options, error) {
	t, rep, err := history.Build(ctx, j.Dir, fopts)
	if err != nil {
		if isHistoryInputError(err) {
			err = fmt.Errorf("%w: %w", ErrHistory, err)
		}
		return nil, fopts, fmt.Errorf("features as of %s: %w", fopts.AsOf.Format(time.DateOnly), err)
	}
	defer t.Release()
	rep.Warn(j.Train.Log, fopts.AsOf)
	excluded := make(map[string]bool, len(j.Exclude))
	for _, e := range j.Exclude {
		excluded[e] = true
	}
	if !j.KeepStage {
		excluded[StageColumn] = true
		excluded[DaysInStageColumn] = true
	}
	f, err := FeatureFrame(t, func(c features.Column) bool { return c.IsFeature() && !excluded[c.Name] })
	if err != nil {
		return nil, fopts, err
	}
	y, err := t.Float64s(label)
	if err != nil {
		return nil, fopts, fmt.Errorf("%w: the feature table has no %s (is the horizon set?): %w", ErrHistory, label, err)
	}
	var keep []int
	for i, v := range y {
		if v == 0 || v == 1 {
			keep = append(keep, i)
		}
	}
	d := &Dataset{Label: label, Positive: "1", Dropped: len(y) - len(keep), X: f.Take(keep), Y: takeY(y, keep)}
	if schema != nil {
		if err := classifier.CheckNames(schema, d.X.Names()); err != nil {
			return nil, fopts, fmt.Errorf("%w: snapshot %s: %w", ErrHistory, fopts.AsOf.Format(time.DateOnly), err)
		}
	}
	return d, t.Options(), nil
}

func isHistoryInputError(err error) bool {
	for _, s := range []error{history.ErrEmptyDir, history.ErrMissingColumn, history.ErrColumnType,
		history.ErrUnreadable, features.ErrBadOptions, features.ErrBadMapping, history.ErrNoColumn} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// appendFrame appends the rows of src to dst; both must have the same columns.
func appendFrame(dst, src *frame.Frame) error {
	if strings.Join(dst.Names(), "\x00") != strings.Join(src.Names(), "\x00") {
		return fmt.Errorf("columns %v differ from the first snapshot's %v", src.Names(), dst.Names())
	}
	for j := range dst.Columns {
		d, s := &dst.Columns[j], &src.Columns[j]
		if d.Kind != s.Kind {
			return fmt.Errorf("column %q is %v in one snapshot and %v in another", d.Name, d.Kind, s.Kind)
		}
		if d.Kind == frame.Numeric {
			d.Num = append(d.Num, s.Num...)
		} else {
			d.Cat = append(d.Cat, s.Cat...)
		}
	}
	return nil
}
