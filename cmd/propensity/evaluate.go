package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/training/evaluate"
)

const evaluateSummary = `Compare the scorecard's total with the conversion model's probability on the same
prospects and outcome window (holdout: features before T, conversions in [T, T+H)), and
suggest a scorecard whose points are fitted on the earlier snapshot T-H (conversions in
[T-H, T)). Without a conversion artifact under --models, the model is a logistic regression
fitted on the snapshot at T-H. Writes evaluation.json, report.html, disagreements.csv and
suggested_scorecard.yaml into --out.`

// runEvaluate wires flags into training/evaluate.
func runEvaluate(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "evaluate",
		"--data DIR --as-of DATE --horizon H --scorecard FILE [--models DIR] [--config MAPPING.yaml] --out DIR [--json]", evaluateSummary)
	dir := fs.String("data", "", "history directory (docs/contract.md §1)")
	asOfFlag := fs.String("as-of", "", "holdout as-of date T")
	horizonFlag := fs.String("horizon", "", "outcome window H, e.g. 90d")
	scorecardPath := fs.String("scorecard", "", "current scorecard YAML file or folder")
	models := fs.String("models", "", "models directory holding conversion/ (optional)")
	out := fs.String("out", "", "output directory")
	seed := fs.Uint64("seed", 1, "random seed of the fallback model's splits")
	maxRules := fs.Int("max-rules", 0, "most characteristics in the suggested scorecard (default 40)")
	mqlRate := fs.Float64("mql-rate", 0, "share of prospects the suggested MQL threshold should flag (default: the current scorecard's share)")
	asJSON := fs.Bool("json", false, "print evaluation.json's numbers as one JSON object")
	mf := addMappingFlags(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	mapping, _, err := mf.Load()
	if err != nil {
		return err
	}
	if err := requireFlags("data", *dir, "as-of", *asOfFlag, "horizon", *horizonFlag, "scorecard", *scorecardPath, "out", *out); err != nil {
		return err
	}
	asOf, err := parseDate("as-of", *asOfFlag)
	if err != nil {
		return err
	}
	horizon, err := parseDuration("horizon", *horizonFlag)
	if err != nil {
		return err
	}
	if _, err := os.Stat(*dir); err != nil {
		return usagef("--data: %v", err)
	}
	set, err := loadScorecardFlag(*scorecardPath)
	if err != nil {
		return err
	}
	if *maxRules < 0 {
		return usagef("--max-rules must not be negative")
	}
	if !(*mqlRate >= 0 && *mqlRate < 1) {
		return usagef("--mql-rate must be in [0, 1), got %v", *mqlRate)
	}
	if err := checkOutput(dirOutput, "--out", *out, historyInput("--data", *dir, mapping),
		inputPath("--scorecard", *scorecardPath), inputPath("--models", *models), inputPath("--config", *mf.Config)); err != nil {
		return err
	}
	res, err := evaluate.Run(ctx, evaluate.Options{Dir: *dir, AsOf: asOf, Horizon: horizon, Scorecard: set, Features: features.Options{Mapping: mapping},
		Models: *models, Seed: *seed, MaxRules: *maxRules, MQLRate: *mqlRate, Log: env.log})
	if err != nil {
		for _, bad := range []error{evaluate.ErrOptions, evaluate.ErrHistory, evaluate.ErrInsufficient, evaluate.ErrModel, evaluate.ErrNoSignal} {
			if errors.Is(err, bad) {
				return badInput(err)
			}
		}
		return err
	}
	if err := res.Write(*out); err != nil {
		return err
	}
	env.log.Info("evaluation written", "out", *out,
		"rules_auc", fmt.Sprintf("%.4f", res.Rules.AUC), "model_auc", fmt.Sprintf("%.4f", res.Model.AUC),
		"suggested_auc", fmt.Sprintf("%.4f", res.Suggested.AUC))
	for _, w := range res.Warnings {
		fmt.Fprintf(env.stderr, "warning: %s\n", w)
	}
	if *asJSON {
		return env.printJSON(res)
	}
	fmt.Fprintf(env.stdout, "holdout: %d prospects as of %s, %d converted\n", res.Prospects, asOf.Format("2006-01-02"), res.Converters)
	fmt.Fprintf(env.stdout, "AUC: rules %.3f, model %.3f, suggested scorecard %.3f (%+.3f vs rules)\n",
		res.Rules.AUC, res.Model.AUC, res.Suggested.AUC, res.Suggestion.AUCGain)
	fmt.Fprintf(env.stdout, "MQL precision/recall: rules %.1f%%/%.1f%%, suggested %.1f%%/%.1f%%\n",
		100*res.Rules.MQL.Precision, 100*res.Rules.MQL.Recall, 100*res.Suggested.MQL.Precision, 100*res.Suggested.MQL.Recall)
	fmt.Fprintf(env.stdout, "wrote %s\n", *out)
	return nil
}
