package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/training/tabular"
)

const trainUsage = `(conversion|churn|uplift --data DIR --as-of DATE [--horizon 90d] | --table FILE --label COL [--positive V] [--id COL] [--exclude COL,COL] [--cv K]) [--config MAPPING.yaml] [--numeric|--categorical|--drop|--date COL] [--model auto|logistic|gbt [--auto-budget 5m] [--tune]] [--out MODELS] [--json]`

const trainSummary = `Train a calibrated conversion or churn model, with an HTML + JSON report next to the artifact.

With --table, any Parquet or CSV table (comma, semicolon, tab or pipe separated) with a binary
label column. Each column's type is detected (numbers with decimal dots or commas, currency
signs, booleans, dates, ids, categories, free text) and reported on stderr; --numeric,
--categorical, --drop and --date, or the columns key of --config, settle any column. With conversion|churn, rows are built from the history directory by the features
package: training snapshots at T-H and T-2H (labels end before T), test on the snapshot at T.

--model auto (the default) cross-validates both logistic regression and gradient-boosted
trees on the fitting rows (3 folds, never the calibration or test rows) and keeps the one with
the higher mean AUC (logistic on a tie); the choice and both AUCs are in the output, --json
("model_selection"), the report and the artifact. --auto-budget bounds that comparison: it is
checked between folds, and each model runs at least one fold.

--tune (with --model gbt only; --tune alone implies it) picks the tree depth and learning rate from a small grid
({3,4,6} x {0.025,0.05,0.1}) by 3-fold cross-validated log loss on the training rows, never
the test rows; the grid scores and the choice are in --json ("tune") and the artifact options.
In conversion|churn mode, gbt stops early: up to 1000 rounds, stopped on 20% of the training
rows and refitted on all of them with the rounds found (300 rounds with --tune).

` + outConvention

// runTrain wires flags into training/tabular.
func runTrain(ctx context.Context, env *cliEnv, args []string) error {
	mode := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if mode == artifact.KindUplift {
		return runTrainUplift(ctx, env, args)
	}
	fs := newFlagSet(env, "train", trainUsage, trainSummary)
	table := fs.String("table", "", "Parquet or CSV table to train on")
	label := fs.String("label", "", "label column (with --table)")
	positive := fs.String("positive", "", "label value meaning 1 (detected for Yes/No, true/false, 1/0)")
	id := fs.String("id", "", "identifier column, left out of the features")
	exclude := fs.String("exclude", "", "comma-separated columns to leave out of the features")
	cv := fs.Int("cv", 0, "stratified cross-validation folds (0: none)")
	model := fs.String("model", tabular.ModelAuto, "auto (pick logistic or gbt by cross-validation), logistic or gbt")
	autoBudget := fs.Duration("auto-budget", tabular.DefaultAutoBudget, "time bound of --model auto's cross-validation (checked between folds)")
	kind := fs.String("kind", "", "artifact kind: conversion or churn (default: the mode, else conversion)")
	out := fs.String("out", "", "models directory: writes OUT/<kind>/ with the artifact and report")
	seed := fs.Uint64("seed", 1, "random seed of splits, folds and models")
	minPos := fs.Int("min-positives", 0, "fewest positive and negative training rows accepted (default 30)")
	tune := fs.Bool("tune", false, "search the gbt depth and learning rate by cross-validation on the training rows (--model gbt only)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	data := fs.String("data", "", "history directory (conversion|churn mode)")
	asOf := fs.String("as-of", "", "as-of date T (conversion|churn mode); with --table, the date that date columns count days back from (default: the latest date in the table)")
	horizon := fs.String("horizon", "90d", "label horizon H (conversion|churn mode)")
	snapshots := fs.Int("snapshots", 2, "training snapshots T-H, T-2H, ... (conversion|churn mode)")
	keepStage := fs.Bool("keep-stage", false, "keep the contacts' current stage as a feature (conversion|churn mode; leaks labels into past snapshots)")
	mf := addMappingFlags(fs)
	tf := addTableFlags(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	mapping, overrides, missing, err := loadColumns(mf, tf)
	if err != nil {
		return err
	}
	modelSet := false
	fs.Visit(func(f *flag.Flag) { modelSet = modelSet || f.Name == "model" })
	if *tune && !modelSet {
		*model = classifier.ModelGBT // only the trees have something to tune
	}
	if *autoBudget <= 0 {
		return usagef("--auto-budget %s: want a positive duration such as 90s or 5m", *autoBudget)
	}
	if *kind == "" {
		*kind = artifact.KindConversion
		if mode != "" {
			*kind = mode
		}
	}
	// The artifact and its report go to OUT/<kind>/ (OUT/<mode>/ from a history); nothing
	// else in the models directory is written, so only that directory must stay clear of
	// the inputs.
	outDir, target := "", *kind
	if mode != "" {
		target = mode
	}
	if *out != "" {
		outDir = filepath.Join(*out, target)
	}
	if err := checkOutput(dirOutput, "--out", outDir, inputPath("--table", *table), historyInput("--data", *data, mapping), inputPath("--config", *mf.Config)); err != nil {
		return err
	}
	topts := tabular.Options{Model: *model, AutoBudget: *autoBudget, Kind: *kind, Folds: *cv, Seed: *seed, MinPositives: *minPos, Tune: *tune,
		Encode: encode.Options{}, Log: env.log}
	if err := topts.EnsureDefaults().Validate(); err != nil {
		return badInput(err)
	}
	for _, in := range []struct{ flag, path string }{{"table", *table}, {"data", *data}} {
		if in.path == "" {
			continue
		}
		if _, err := os.Stat(in.path); err != nil {
			return usagef("--%s: %v", in.flag, err)
		}
	}

	var sum tabular.Summary
	switch mode {
	case "":
		if err := requireFlags("table", *table, "label", *label); err != nil {
			return err
		}
		ro := tabular.ReadOptions{Overrides: overrides, Missing: missing}
		if *asOf != "" {
			if ro.AsOf, err = parseDate("as-of", *asOf); err != nil {
				return err
			}
		}
		job := tabular.TableJob{
			Path:         *table,
			Read:         ro,
			Label:        tabular.LabelOptions{Label: *label, Positive: *positive, ID: *id, Exclude: splitList(*exclude)},
			Train:        topts,
			Out:          *out,
			ColumnReport: env.stderr,
		}
		_, s, err := job.Run(ctx)
		if err != nil {
			return trainError(err)
		}
		sum = s
	case artifact.KindConversion, artifact.KindChurn:
		if err := requireFlags("data", *data, "as-of", *asOf, "out", *out); err != nil {
			return err
		}
		t, err := parseDate("as-of", *asOf)
		if err != nil {
			return err
		}
		h, err := parseDuration("horizon", *horizon)
		if err != nil {
			return err
		}
		job := tabular.HistoryJob{Dir: *data, Target: mode, AsOf: t, Horizon: h, Snapshots: *snapshots, Features: features.Options{Mapping: mapping},
			Exclude: splitList(*exclude), KeepStage: *keepStage, Train: tabular.HistoryDefaults(topts), Out: *out}
		_, s, err := job.Run(ctx)
		if err != nil {
			return trainError(err)
		}
		sum = s
	default:
		return usagef("unknown mode %q (want conversion, churn, or --table FILE)", mode)
	}
	if *asJSON {
		return env.printJSON(sum)
	}
	fmt.Fprintf(env.stdout, "%s %s model: test AUC %.4f, PR-AUC %.4f, log loss %.4f, Brier %.4f, ECE %.4f (%d rows, %d features, fit %.2fs, calibration %s)\n",
		sum.Kind, sum.Model, sum.AUC, sum.PRAUC, sum.LogLoss, sum.Brier, sum.ECE, sum.Rows, sum.Features, sum.FitSeconds, sum.Calibration)
	if sel := sum.Selection; sel != nil {
		fmt.Fprintf(env.stdout, "model auto chose %s: %d-fold CV AUC on the fitting rows logistic %.4f, gbt %.4f (%.1fs)\n",
			sel.Chosen, sel.Folds, sel.CVAUC[classifier.ModelLogistic], sel.CVAUC[classifier.ModelGBT], sel.Seconds)
		if sel.Note != "" {
			fmt.Fprintf(env.stdout, "  %s\n", sel.Note)
		}
	}
	if sum.CVAUC != nil {
		fmt.Fprintf(env.stdout, "%d-fold CV AUC %.4f ± %.4f\n", len(sum.CVFolds), *sum.CVAUC, *sum.CVAUCSD)
	}
	if sum.Tune != nil {
		fmt.Fprintf(env.stdout, "tuned: depth %d, learning rate %g (%d-fold CV log loss %.4f on the training rows)\n",
			sum.Tune.Best.MaxDepth, sum.Tune.Best.LearningRate, sum.Tune.Folds, sum.Tune.Best.LogLoss)
	}
	if sum.Out != "" {
		fmt.Fprintf(env.stdout, "model %s written to %s; report %s\n", sum.Version, sum.Out, sum.Report)
	}
	return nil
}

// trainError marks errors caused by the user's data or flags as bad input (exit 2). The
// inputs' existence is checked before the job, so a missing path later on (the output
// directory removed while running) is a failure while running.
func trainError(err error) error {
	var re *tabular.ReadError
	var se *classifier.SchemaError
	switch {
	case errors.As(err, &re), errors.As(err, &se), errors.Is(err, features.ErrBadMapping),
		errors.Is(err, tabular.ErrLabel), errors.Is(err, tabular.ErrColumn),
		errors.Is(err, tabular.ErrInsufficient), errors.Is(err, tabular.ErrOptions),
		errors.Is(err, tabular.ErrHistory), errors.Is(err, encode.ErrNoFeatures), errors.Is(err, encode.ErrRange):
		return badInput(err)
	}
	return err
}
