package evaluate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/training/tabular"
)

// FormatVersion is the version of evaluation.json and the other outputs.
const FormatVersion = 1

// Errors.
var (
	ErrOptions = errors.New("evaluate: invalid options")
	// ErrHistory wraps problems of the history directory (missing files, columns, types).
	ErrHistory = errors.New("evaluate: history")
	// ErrInsufficient is returned when a snapshot has no converter or no non-converter.
	ErrInsufficient = errors.New("evaluate: not enough data")
	// ErrModel wraps problems of the --models conversion model.
	ErrModel = errors.New("evaluate: conversion model")
)

// Options configures Run. The zero value of every field but the required ones means the
// default in its comment.
type Options struct {
	Dir       string         // history directory (docs/contract.md §1); required
	AsOf      time.Time      // T: the holdout snapshot; required
	Horizon   time.Duration  // H: labels cover [T, T+H) on the holdout and [T−H, T) on training; required
	Scorecard *scorecard.Set // the current scorecards; required
	// Models is a models directory; its "conversion" artifact gives the model probability.
	// Empty (or no conversion artifact): a logistic model is fitted on the snapshot at T−H
	// with labels in [T−H, T) and scored on the holdout.
	Models string
	// Features are the history options (column mapping); AsOf and Horizon are set by Run.
	Features features.Options
	// MaxRules bounds the characteristics of the suggested scorecard; default 40.
	MaxRules int
	// MinIV is the least information value a characteristic needs to enter the suggested
	// scorecard; default 0.02, the "not predictive" bound of Siddiqi 2006.
	MinIV float64
	// Lambda is the L2 penalty of the suggestion's logistic fit; default 1.
	Lambda float64
	// MinSupport is the fewest training prospects a characteristic must hold for (and not
	// hold for); default 0.5% of them, at least 20.
	MinSupport int
	// MQLRate, when positive, is the share of training prospects the suggested scorecard's
	// MQL threshold should flag; default: the current scorecard's share.
	MQLRate float64
	// TreeDepth is the depth of the rule-mining tree; default 3.
	TreeDepth int
	// Disagreements is how many people of each direction go to disagreements.csv; default 100.
	Disagreements int
	// Seed drives the fallback model's splits; default 1.
	Seed uint64
	// Log receives progress; nil means none.
	Log *slog.Logger
}

// EnsureDefaults fills zero fields.
func (o Options) EnsureDefaults() Options {
	if o.MaxRules == 0 {
		o.MaxRules = 40
	}
	if o.MinIV == 0 {
		o.MinIV = 0.02
	}
	if o.Lambda == 0 {
		o.Lambda = 1
	}
	if o.TreeDepth == 0 {
		o.TreeDepth = 3
	}
	if o.Disagreements == 0 {
		o.Disagreements = 100
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...))
	}
	if o.Dir == "" {
		bad("a history directory is required")
	}
	if o.AsOf.IsZero() {
		bad("an as-of time is required")
	}
	if o.Horizon <= 0 {
		bad("the horizon must be positive")
	}
	if o.Scorecard == nil || len(o.Scorecard.Scorecards()) == 0 {
		bad("a scorecard is required")
	}
	if !(o.MQLRate >= 0 && o.MQLRate < 1) {
		bad("the MQL rate must be in [0, 1)")
	}
	if o.MaxRules < 0 || o.MinIV < 0 || o.Lambda < 0 || o.MinSupport < 0 || o.TreeDepth < 0 || o.Disagreements < 0 {
		bad("limits must not be negative")
	}
	return errors.Join(errs...)
}

// Run evaluates and suggests; Write puts the result on disk.
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	train := o.AsOf.Add(-o.Horizon)
	cards := o.Scorecard.Scorecards()

	// One walk over the history: prospects, labels, rule scores and event counts at both
	// snapshots.
	col := newCollector(o.Scorecard, cards[0], train, o.AsOf, o.Horizon)
	// The primary scorecard (the one suggestions replace) is the one that scores most
	// training prospects; the walk records rule firings of the first, so count first.
	if len(cards) > 1 {
		p, err := primaryCard(ctx, o, train)
		if err != nil {
			return nil, err
		}
		col.primary = cards[p]
	}
	rep, err := col.run(ctx, o.Dir, o.Features)
	if err != nil {
		return nil, historyError(err)
	}
	rep.Warn(o.Log, time.Time{}) // the collector walks several snapshots; their as-of times are checked where they are set
	o.Log.Info("history read", "people", col.people, "training_prospects", len(col.snaps[0].rows),
		"holdout_prospects", len(col.snaps[1].rows), "elapsed", time.Since(start).Round(time.Millisecond))
	for s, name := range []string{"training", "holdout"} {
		if err := checkClasses(col.snaps[s], name, o.Horizon); err != nil {
			return nil, err
		}
	}
	res := &Result{FormatVersion: FormatVersion, Build: buildinfo.Read(), AsOf: o.AsOf, TrainAsOf: train,
		HorizonDays: o.Horizon.Hours() / 24, People: col.people}
	primary := col.primary
	res.Scorecard = primary.Name()
	res.ScorecardVersion = primary.Version()
	hold := col.snaps[1].rows
	y := labels(hold)
	res.Prospects, res.Converters = len(y), int(sum(y))
	res.BaseRate = sum(y) / float64(len(y))

	// The rule score.
	curCfg := primary.Config()
	res.Rules = evalRules(curCfg, hold, y)

	// The model probability.
	prob, src, err := modelProbabilities(ctx, o, hold)
	if err != nil {
		return nil, err
	}
	res.Model = evalModel(prob, y, src, res.Rules.MQL.Flagged)
	res.Disagreements = disagreements(hold, ruleRank(hold), prob, o.Disagreements)
	res.holdout = hold
	res.prob = prob

	// Suggestions, fitted on the training snapshot of the primary scorecard's prospects
	// that its gates let through: the suggestion keeps the gates, so points only matter for
	// the others (and a gated group that never converts would otherwise drag down the
	// points of whatever it does).
	var trainRows, mineHold []row
	for _, r := range col.snaps[0].rows {
		if r.fired != nil && !r.disq {
			trainRows = append(trainRows, r)
		}
	}
	for _, r := range hold {
		if r.fired != nil && !r.disq {
			mineHold = append(mineHold, r)
		}
	}
	ty := labels(trainRows)
	if err := checkClasses(snapshot{asOf: train, rows: trainRows}, "training ("+primary.Name()+")", o.Horizon); err != nil {
		return nil, err
	}
	minSup := o.MinSupport
	if minSup == 0 {
		minSup = max(20, len(trainRows)/200)
	}
	res.Settings = Settings{MaxRules: o.MaxRules, MinIV: o.MinIV, Lambda: o.Lambda, MinSupport: minSup, TreeDepth: o.TreeDepth, MQLRate: o.MQLRate, Models: o.Models}
	cands := candidates(trainRows, curCfg.Rules, col.keys.keys, minSup)
	x := matrix(cands, trainRows)
	hx := matrix(cands, mineHold)
	res.Candidates = len(cands)

	mined, err := cart{MaxDepth: o.TreeDepth}.Mine(x, ty)
	if err != nil {
		o.Log.Warn("rule mining failed; no candidate rules", "err", err)
		res.MiningError = err.Error()
	}
	res.Mined = describeMined(mined, cands, hx, labels(mineHold))

	sg, err := suggest(curCfg, col.keys.keys, cands, x, trainRows, ty, o)
	if err != nil {
		return nil, err
	}
	newCards := make([]scorecard.Config, len(cards))
	for i, c := range cards {
		newCards[i] = c.Config()
		if c == primary {
			newCards[i] = sg.cfg
		}
	}
	yaml := scorecard.MarshalConfigs(newCards, []string{
		fmt.Sprintf("Suggested by propensity evaluate: fitted on prospects as of %s (conversions in [%s, %s)).",
			train.Format(time.DateOnly), train.Format(time.DateOnly), o.AsOf.Format(time.DateOnly)),
		fmt.Sprintf("Points: %.1f points double the odds; a person with none of these scores 0 (log-odds %.2f), the MQL threshold %d is log-odds %.2f.",
			sg.scaling.PDO, sg.scaling.Intercept, sg.scaling.MQLThreshold, sg.scaling.TargetLogOdds),
	})
	// The suggestion is evaluated as a user would run it: parsed from its YAML.
	newSet, err := scorecard.Parse(yaml, "suggested_scorecard.yaml")
	if err != nil {
		return nil, fmt.Errorf("evaluate: the suggested scorecard does not load (a bug): %w", err)
	}
	res.suggestedYAML = yaml
	sres, err := scoreHoldout(ctx, o, newSet, hold)
	if err != nil {
		return nil, historyError(err)
	}
	res.Suggested = evalRules(sg.cfg, sres, y)
	res.Suggestion = Suggestion{Scaling: sg.scaling, Rules: sg.rules, Diff: diff(curCfg, sg.cfg),
		AUCGain:         res.Suggested.AUC - res.Rules.AUC,
		PrecisionChange: res.Suggested.MQL.Precision - res.Rules.MQL.Precision,
		RecallChange:    res.Suggested.MQL.Recall - res.Rules.MQL.Recall}
	res.suggestedRows = sres
	res.Warnings = res.warnings() // printed by the command, in the report and the JSON
	res.Seconds = time.Since(start).Seconds()
	o.Log.Info("evaluated", "rules_auc", round(res.Rules.AUC, 4), "model_auc", round(res.Model.AUC, 4),
		"suggested_auc", round(res.Suggested.AUC, 4), "elapsed", time.Since(start).Round(time.Millisecond))
	return res, nil
}

func round(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}

func historyError(err error) error {
	for _, s := range []error{history.ErrEmptyDir, history.ErrMissingColumn, history.ErrColumnType,
		history.ErrUnreadable, features.ErrBadOptions, features.ErrBadMapping, history.ErrNoColumn} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w: %w", ErrHistory, err)
		}
	}
	return err
}

func checkClasses(s snapshot, name string, h time.Duration) error {
	y := labels(s.rows)
	p := sum(y)
	if len(y) == 0 || p == 0 || p == float64(len(y)) {
		return fmt.Errorf("%w: the %s snapshot as of %s has %d prospects and %d converters in [%s, %s); need both converters and non-converters",
			ErrInsufficient, name, s.asOf.Format(time.DateOnly), len(y), int(p), s.asOf.Format(time.DateOnly), s.asOf.Add(h).Format(time.DateOnly))
	}
	return nil
}

func labels(rows []row) []float64 {
	y := make([]float64, len(rows))
	for i := range rows {
		y[i] = rows[i].y
	}
	return y
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// primaryCard counts which scorecard scores most training prospects (a quick walk: only
// audiences are tested).
func primaryCard(ctx context.Context, o Options, train time.Time) (int, error) {
	cards := o.Scorecard.Scorecards()
	counts := make([]int, len(cards))
	fopts := o.Features
	fopts.AsOf = o.AsOf
	_, err := history.ForEachPerson(ctx, o.Dir, fopts, func(p *history.Person) error {
		if ok, _ := prospectLabel(p, train, o.Horizon); !ok {
			return nil
		}
		for i, c := range cards {
			if ok, err := c.Applies(p.Attributes); err != nil {
				return fmt.Errorf("contact %s: %w", p.ContactID, err)
			} else if ok {
				counts[i]++
				break
			}
		}
		return nil
	})
	if err != nil {
		return 0, historyError(err)
	}
	best := 0
	for i, n := range counts {
		if n > counts[best] {
			best = i
		}
	}
	return best, nil
}

// scoreHoldout scores the holdout prospects with set, in the order of hold.
func scoreHoldout(ctx context.Context, o Options, set *scorecard.Set, hold []row) ([]row, error) {
	pos := make(map[string]int, len(hold))
	for i, r := range hold {
		pos[r.id] = i
	}
	out := make([]row, len(hold))
	for i := range out {
		out[i] = row{id: hold[i].id, y: hold[i].y, card: -1}
	}
	fopts := o.Features
	fopts.AsOf = o.AsOf
	_, err := history.ForEachPerson(ctx, o.Dir, fopts, func(p *history.Person) error {
		i, ok := pos[p.ContactID]
		if !ok {
			return nil
		}
		res, err := set.Score(inputOf(p, o.AsOf))
		if errors.Is(err, scorecard.ErrNoScorecard) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("contact %s: %w", p.ContactID, err)
		}
		r := &out[i]
		r.total, r.stage, r.mql, r.disq, r.card = res.Total, res.Stage, res.MQL, res.Disqualified, 0
		return nil
	})
	return out, err
}

// modelProbabilities returns the conversion probability of every holdout row: from the
// --models conversion artifact, or from a logistic model fitted on the snapshot at T−H.
func modelProbabilities(ctx context.Context, o Options, hold []row) ([]float64, string, error) {
	var m *classifier.Model
	src := ""
	fopts := o.Features
	fopts.Horizon = o.Horizon
	if o.Models != "" {
		dir := filepath.Join(o.Models, artifact.KindConversion)
		if _, err := os.Stat(dir); err == nil {
			mm, err := classifier.LoadModel(dir)
			if err != nil {
				return nil, "", fmt.Errorf("%w: %s: %w", ErrModel, dir, err)
			}
			m, src = mm, "artifact "+dir
		} else {
			o.Log.Warn("no conversion model; fitting one on the earlier snapshot", "dir", dir)
		}
	}
	if m == nil {
		fopts.AsOf = o.AsOf.Add(-o.Horizon)
		t, _, err := history.Build(ctx, o.Dir, fopts)
		if err != nil {
			return nil, "", historyError(err)
		}
		train, err := dataset(t, nil)
		used := t.Options()
		t.Release()
		if err != nil {
			return nil, "", err
		}
		fopts = used
		fopts.Horizon = o.Horizon
		// The same model choice as `propensity train`'s default: logistic or gbt, whichever
		// cross-validates better on these rows, each with its history-mode settings.
		res, err := tabular.Train(ctx, train.d, nil, tabular.HistoryDefaults(tabular.Options{Model: tabular.ModelAuto, Seed: o.Seed, TestShare: 0.2, Log: o.Log}))
		if errors.Is(err, tabular.ErrInsufficient) {
			// Bad input (too little history), not a failure: callers map ErrInsufficient.
			return nil, "", fmt.Errorf("%w: fitting the comparison model on the snapshot at %s: %w", ErrInsufficient, o.AsOf.Add(-o.Horizon).Format(time.DateOnly), err)
		}
		if err != nil {
			return nil, "", fmt.Errorf("evaluate: fitting the comparison model on the snapshot at %s: %w", o.AsOf.Add(-o.Horizon).Format(time.DateOnly), err)
		}
		m = res.Model
		o.Log.Info("comparison model fitted", "rows", res.Rows, "features", res.Features, "auc_on_its_test_split", round(res.Test.AUC, 4))
		src = fmt.Sprintf("%s model (chosen by cross-validation) fitted on prospects as of %s (conversions in [%s, %s))",
			m.Payload.Model, o.AsOf.Add(-o.Horizon).Format(time.DateOnly), o.AsOf.Add(-o.Horizon).Format(time.DateOnly), o.AsOf.Format(time.DateOnly))
	}
	fopts.AsOf = o.AsOf
	t, _, err := history.Build(ctx, o.Dir, fopts)
	if err != nil {
		return nil, "", historyError(err)
	}
	defer t.Release()
	test, err := dataset(t, m.Inputs())
	if err != nil {
		return nil, "", err
	}
	p, err := m.PredictFrame(test.d.X)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrModel, err)
	}
	byID := make(map[string]float64, len(p))
	for i, id := range test.ids {
		byID[id] = p[i]
	}
	out := make([]float64, len(hold))
	missing := 0
	for i, r := range hold {
		v, ok := byID[r.id]
		if !ok {
			missing++
			v = math.NaN()
		}
		out[i] = v
	}
	if missing > 0 {
		return nil, "", fmt.Errorf("evaluate: %d holdout prospects have no row in the feature table (identity stitching differs)", missing)
	}
	return out, src, nil
}

type labelled struct {
	d   *tabular.Dataset
	ids []string
}

// leaky are the feature columns the fallback model leaves out: contacts.parquet holds each
// contact's stage (and since when) as of now, not as of a past snapshot, so on the snapshot
// at T−H a prospect who bought before T shows a recent stage change (days_in_stage null) —
// the label, seen through the features, which does not carry over to the holdout.
var leaky = map[string]bool{tabular.StageColumn: true, "days_in_stage": true}

// dataset turns a feature table into the prospects' features and label_converted; inputs,
// when set, are the columns a model expects (else every feature but the leaky ones).
func dataset(t *history.Table, inputs []string) (*labelled, error) {
	want := map[string]bool{}
	for _, n := range inputs {
		want[n] = true
	}
	f, err := tabular.FeatureFrame(t, func(c features.Column) bool {
		if inputs == nil {
			return c.IsFeature() && !leaky[c.Name]
		}
		return want[c.Name]
	})
	if err != nil {
		return nil, err
	}
	for _, n := range f.Names() {
		delete(want, n)
	}
	if len(want) > 0 {
		miss := sortedKeys(want)
		return nil, fmt.Errorf("%w: the feature table has no column %v the model needs", ErrModel, miss)
	}
	y, err := t.Float64s("label_converted")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHistory, err)
	}
	ids := t.ContactIDs()
	var keep []int
	for i, v := range y {
		if v == 0 || v == 1 {
			keep = append(keep, i)
		}
	}
	l := &labelled{d: &tabular.Dataset{X: f.Take(keep), Label: "label_converted", Positive: "1"}}
	for _, i := range keep {
		l.d.Y = append(l.d.Y, y[i])
		l.ids = append(l.ids, ids[i])
	}
	return l, nil
}

// ruleRank is the rule score as a ranking key: the total, with disqualified people below
// everyone.
func ruleRank(rows []row) []float64 {
	lo := math.Inf(1)
	for _, r := range rows {
		lo = min(lo, float64(r.total))
	}
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = float64(r.total)
		if r.disq || r.card < 0 {
			out[i] = lo - 1
		}
	}
	return out
}
