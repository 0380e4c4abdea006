package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/effect"
	"github.com/propensity-dev/propensity/training/tabular"
	"github.com/propensity-dev/propensity/training/uplift"
)

const upliftUsage = `uplift (--data DIR (--treatment-event TYPE | --treatment COL) --as-of DATE [--horizon 90d] | --table FILE --treatment COL --label COL [--positive V]) [--treatment-value V --control-value V] [--learner t_learner|class_transformation|x_learner] [--cv K] [--out MODELDIR] [--json]`

const upliftSummary = `Train an uplift model: who converts because of a campaign, from a randomised experiment.

With --data, rows are the prospects at the as-of date T (features before T), the outcome is
conversion in [T, T+H), and a contact is treated when it has a --treatment-event in [T, T+H)
(or by its contact column --treatment). With --table, any table with a treatment column and a
binary label; --treatment-value and --control-value pick two arms (rows of other arms are
left out and counted). The learner (T-learner, class transformation, X-learner, all on
boosted trees) is chosen by cross-validated Qini coefficient unless --learner names one. The
report compares the model with targeting by conversion probability on the same folds and
warns when treated and control rows differ (non-random assignment). See docs/models.md.`

// runTrainUplift wires `train uplift` flags into training/uplift.
func runTrainUplift(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "train uplift", upliftUsage, upliftSummary)
	data := fs.String("data", "", "history directory")
	event := fs.String("treatment-event", "", "event type marking treated contacts in [T, T+H) (with --data)")
	table := fs.String("table", "", "Parquet or CSV table")
	treatment := fs.String("treatment", "", "treatment column (table, or contact column with --data)")
	tv := fs.String("treatment-value", "", "value of the treatment column meaning treated")
	cv := fs.String("control-value", "", "value of the treatment column meaning control")
	label := fs.String("label", "", "binary outcome column (with --table)")
	positive := fs.String("positive", "", "label value meaning 1 (detected for Yes/No, true/false, 1/0)")
	id := fs.String("id", "", "identifier column, left out of the features (with --table)")
	exclude := fs.String("exclude", "", "comma-separated columns to leave out of the features")
	learner := fs.String("learner", "", "t_learner, class_transformation or x_learner (default: best cross-validated Qini)")
	folds := fs.Int("cv", uplift.DefaultFolds, "cross-validation folds")
	asOf := fs.String("as-of", "", "as-of date T (with --data)")
	horizon := fs.String("horizon", "90d", "outcome horizon H (with --data)")
	out := fs.String("out", "", "models directory: writes OUT/uplift/ with the artifact and report")
	seed := fs.Uint64("seed", 1, "random seed of folds and trees")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	outDir := ""
	if *out != "" {
		outDir = filepath.Join(*out, artifact.KindUplift)
	}
	if err := checkOutput(dirOutput, "--out", outDir, inputPath("--table", *table), historyInput("--data", *data, features.Mapping{})); err != nil {
		return err
	}
	for _, in := range []struct{ flag, path string }{{"table", *table}, {"data", *data}} {
		if in.path != "" {
			if _, err := os.Stat(in.path); err != nil {
				return usagef("--%s: %v", in.flag, err)
			}
		}
	}
	topts := uplift.Options{Learner: *learner, Folds: *folds, Seed: *seed, Log: env.log}
	if err := topts.EnsureDefaults().Validate(); err != nil {
		return badInput(err)
	}
	var sum uplift.Summary
	switch {
	case *table != "" && *data != "":
		return usagef("give --table or --data, not both")
	case *table != "":
		if err := requireFlags("treatment", *treatment, "label", *label); err != nil {
			return err
		}
		job := uplift.TableJob{Path: *table, Treatment: *treatment, TreatmentValue: *tv, ControlValue: *cv,
			Label: tabular.LabelOptions{Label: *label, Positive: *positive, ID: *id, Exclude: splitList(*exclude)},
			Train: topts, Out: *out}
		_, s, err := job.Run(ctx)
		if err != nil {
			return upliftError(err)
		}
		sum = s
	case *data != "":
		if err := requireFlags("as-of", *asOf); err != nil {
			return err
		}
		if (*event == "") == (*treatment == "") {
			return usagef("give one of --treatment-event and --treatment with --data")
		}
		t, err := parseDate("as-of", *asOf)
		if err != nil {
			return err
		}
		h, err := parseDuration("horizon", *horizon)
		if err != nil {
			return err
		}
		job := uplift.HistoryJob{Dir: *data, TreatmentEvent: *event, Treatment: *treatment, TreatmentValue: *tv, ControlValue: *cv,
			AsOf: t, Horizon: h, Exclude: splitList(*exclude), Train: topts, Out: *out}
		_, s, err := job.Run(ctx)
		if err != nil {
			return upliftError(err)
		}
		sum = s
	default:
		return usagef("give --table FILE or --data DIR")
	}
	if *asJSON {
		return env.printJSON(sum)
	}
	w := env.stdout
	fmt.Fprintf(w, "uplift model %s (chosen by %s) on %d rows (%d treated, %d control)\n", sum.Learner, sum.Chosen, sum.Rows, sum.Treated, sum.Control)
	for _, c := range sum.Candidates {
		fmt.Fprintf(w, "  %-22s CV Qini %.4f ± %.4f, uplift at 30%% %.4f ± %.4f\n", c.Learner, c.Qini, c.QiniSD, c.UpliftAt30, c.UpliftAt30SD)
	}
	for _, r := range []uplift.Ranking{sum.Uplift, sum.Propensity} {
		fmt.Fprintf(w, "  ranking by %s: Qini %.4f, AUUC %.4f, uplift at 10/20/30%% %.4f / %.4f / %.4f\n",
			r.Name, r.Qini, r.AUUC, r.UpliftAt[0].Uplift, r.UpliftAt[1].Uplift, r.UpliftAt[2].Uplift)
	}
	for _, wn := range sum.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", wn)
	}
	if sum.Out != "" {
		fmt.Fprintf(w, "model %s written to %s; report %s\n", sum.Version, sum.Out, sum.Report)
	}
	return nil
}

// upliftError marks errors caused by the data or flags as bad input (exit 2).
func upliftError(err error) error {
	for _, s := range []error{uplift.ErrTreatment, uplift.ErrInsufficient, uplift.ErrLabel, uplift.ErrOptions, effect.ErrGroups} {
		if errors.Is(err, s) {
			return badInput(err)
		}
	}
	return trainError(err)
}
