package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/batch"
	"github.com/propensity-dev/propensity/training/tabular"
)

// runScore scores one profile (--profile) or every person of a history (--data) with a
// scorecard: docs/contract.md §3 and §4.
func runScore(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "score",
		"(--profile FILE.json [--json] | --data DIR --as-of DATE --out FILE.parquet|FILE.csv) [--scorecard FILE] [--models DIR] [--config MAPPING.yaml]\n"+
			"       propensity score --table FILE --models DIR [--id COL] --out FILE.parquet|FILE.csv",
		"Score one profile (docs/contract.md §2) or every person of a history with a scorecard.\n"+
			"Without --scorecard the embedded dealership scorecard is used; a folder holds several\n"+
			"scorecards, the first whose audience matches a contact scores it.\n\n"+
			"With --table, score a table with the models train --table wrote: the table is read with the\n"+
			"column types recorded in each model, and a column that is missing or changed type is an error.")
	scorecardPath := fs.String("scorecard", "", "scorecard YAML file or folder (default: embedded "+data.DefaultScorecard+")")
	profile := fs.String("profile", "", "profile JSON file (docs/contract.md §2); - reads stdin")
	dir := fs.String("data", "", "history directory (docs/contract.md §1) to score everyone in")
	asOfFlag := fs.String("as-of", "", "score as of DATE (batch: required; profile: overrides as_of)")
	out := fs.String("out", "", "batch or table: output file, one row per person; CSV when it ends in .csv, else Parquet")
	models := fs.String("models", "", "models directory (conversion/, churn/, ltv/, personas/, uplift/, each optional): adds their blocks (profile) or columns (batch)")
	asJSON := fs.Bool("json", false, "print the score response as one JSON object")
	tablePath := fs.String("table", "", "table (Parquet or CSV) to score with the models of train --table")
	id := fs.String("id", "", "with --table: identifier column, written first in the output under its own name")
	mf := addMappingFlags(fs)
	missing := listFlag{}
	fs.Var(&missing, "missing", "with --table: tokens read as missing, replacing the defaults (comma-separated)")
	workersArg := workersFlag(fs)
	memoryArg, tmpArg := memoryFlags(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	mapping, tcfg, err := mf.Load()
	if err != nil {
		return err
	}
	n := 0
	for _, s := range []string{*profile, *dir, *tablePath} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return usagef("give one of --profile, --data or --table, not both")
	case n == 0:
		return usagef("missing --profile FILE.json (one contact), --data DIR (a whole history) or --table FILE")
	}
	if *tablePath != "" {
		if len(missing) > 0 {
			tcfg.Missing = missing
		}
		return scoreCmdTable(ctx, env, *tablePath, *models, *id, *out, tcfg, *asJSON)
	}
	if *dir != "" {
		if err := checkOutput(fileOutput, "--out", *out, historyInput("--data", *dir, mapping),
			inputPath("--scorecard", *scorecardPath), inputPath("--models", *models), inputPath("--config", *mf.Config)); err != nil {
			return err
		}
	}
	workers, err := parseWorkers(*workersArg)
	if err != nil {
		return err
	}
	memory, err := parseMemory(*memoryArg)
	if err != nil {
		return err
	}
	var asOf time.Time
	if *asOfFlag != "" {
		t, err := parseDate("as-of", *asOfFlag)
		if err != nil {
			return err
		}
		asOf = t
	}
	cards, err := loadScorecardFlag(*scorecardPath)
	if err != nil {
		return err
	}
	set, err := scoreCmdModelSet(ctx, env, cards, *scorecardPath, *models)
	if err != nil {
		return err
	}
	if *profile != "" {
		return scoreCmdProfile(ctx, env, set, *profile, asOf, *asJSON)
	}
	if err := requireFlags("as-of", *asOfFlag, "out", *out); err != nil {
		return err
	}
	if _, err := os.Stat(*dir); err != nil {
		return usagef("--data: %v", err)
	}
	defer holdHeap(memory)()
	eng := history.Engine{Workers: workers, Memory: memory, TmpDir: *tmpArg}
	return scoreCmdHistory(ctx, env, cards, set, *dir, asOf, *out, mapping, *asJSON, eng)
}

// scoreCmdTable is score --table: tabular.ScoreTableJob.
func scoreCmdTable(ctx context.Context, env *cliEnv, path, models, id, out string, tcfg table.Config, asJSON bool) error {
	if err := requireFlags("models", models, "out", out); err != nil {
		return err
	}
	for _, in := range []struct{ flag, path string }{{"table", path}, {"models", models}} {
		if _, err := os.Stat(in.path); err != nil {
			return usagef("--%s: %v", in.flag, err)
		}
	}
	if len(tcfg.Columns) > 0 {
		return usagef("--config: columns: score --table reads columns as the model recorded them; retrain to change a column's type")
	}
	if err := checkOutput(fileOutput, "--out", out, inputPath("--table", path), inputPath("--models", models)); err != nil {
		return err
	}
	job := tabular.ScoreTableJob{Path: path, Models: models, ID: id, Out: out,
		Read: tabular.ReadOptions{Missing: tcfg.Missing}, ColumnReport: env.stderr}
	sum, err := job.Run(ctx)
	if err != nil {
		var re *tabular.ReadError
		var ae *artifact.Error
		var se *classifier.SchemaError
		if errors.As(err, &re) || errors.As(err, &ae) || errors.As(err, &se) || errors.Is(err, tabular.ErrScoreTable) {
			return badInput(err)
		}
		return err
	}
	env.log.Info("scored table", "rows", sum.Rows, "models", strings.Join(sum.Models, ","), "out", out)
	if asJSON {
		return env.printJSON(sum)
	}
	return nil
}

// scoreCmdModelSet loads what the score command scores with: the scorecards, and with a
// models directory every artifact in it, through the same loader as `propensity serve`, so
// the command, batch scoring and the HTTP service give one answer.
func scoreCmdModelSet(ctx context.Context, env *cliEnv, cards *scorecard.Set, scorecardPath, modelsDir string) (*serving.ModelSet, error) {
	rules := scorecardRules(cards, scorecardPath)
	if modelsDir == "" {
		return &serving.ModelSet{Rules: rules}, nil
	}
	if _, err := os.Stat(modelsDir); err != nil {
		return nil, usagef("--models: %v", err)
	}
	loader := newModelLoader(env.log, modelsDir, scorecardPath)
	loader.Rules = func() (serving.RulesModel, error) { return rules, nil }
	set, err := loader.Load(ctx)
	if err != nil {
		return nil, badInput(fmt.Errorf("--models %s: %w", modelsDir, err))
	}
	return set, nil
}

// scorecardRules wraps a loaded scorecard set as the service's rules block, naming where it
// came from (the --scorecard path, or "embedded" for the default).
func scorecardRules(set *scorecard.Set, path string) serving.RulesModel {
	if path == "" {
		path = "embedded"
	}
	return serving.NewRules(set, path)
}

// loadScorecardFlag reads a scorecard file or folder, or the embedded default when path is "".
func loadScorecardFlag(path string) (*scorecard.Set, error) {
	if path == "" {
		b, err := data.Scorecard(data.DefaultScorecard)
		if err != nil {
			return nil, err
		}
		set, err := scorecard.Parse(b, "embedded:"+data.DefaultScorecard+".yaml")
		if err != nil {
			return nil, fmt.Errorf("embedded scorecard: %w", err)
		}
		return set, nil
	}
	set, err := scorecard.Load(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, usagef("--scorecard: %v", err)
		}
		return nil, badInput(err)
	}
	return set, nil
}

func scoreCmdProfile(ctx context.Context, env *cliEnv, set *serving.ModelSet, path string, asOf time.Time, asJSON bool) error {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usagef("--profile: %v", err)
		}
		defer f.Close()
		r, name = f, path
	}
	p, err := features.DecodeProfile(r, time.Now().UTC())
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", name, err))
	}
	if !asOf.IsZero() {
		p.AsOf = asOf
	}
	resp, err := serving.NewScorer(serving.Static{Set: set}, time.Now).ScoreWith(ctx, set, &p, serving.Options{})
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", name, err))
	}
	if asJSON {
		return env.printJSON(resp)
	}
	res := resp.Rules
	if res == nil {
		fmt.Fprintf(env.stdout, "%s: no scorecard's audience matches this contact\n", p.ContactID)
	} else {
		mql := ""
		if res.MQL {
			mql = ", MQL"
		}
		if res.Disqualified {
			mql = ", disqualified by " + res.DisqualifiedBy
		}
		fmt.Fprintf(env.stdout, "%s as of %s: %s v%s total %d (fit %d, engagement %d, lifecycle %d) grade %s, stage %s%s\n",
			p.ContactID, p.AsOf.UTC().Format(time.RFC3339), res.Scorecard, res.Version, res.Total,
			res.Fit, res.Engagement, res.Lifecycle, res.Grade, res.Stage, mql)
		for _, c := range res.Contributions {
			fmt.Fprintf(env.stdout, "  %+4d  %-28s %-10s x%d\n", c.Points, c.Rule, c.Dimension, c.Count)
		}
	}
	if c := resp.Conversion; c != nil {
		fmt.Fprintf(env.stdout, "conversion: p=%.3f decile %d (%s)\n", c.Probability, c.Decile, c.ModelVersion)
	}
	if c := resp.Churn; c != nil {
		fmt.Fprintf(env.stdout, "churn: p=%.3f (%s)\n", c.Probability, c.ModelVersion)
	}
	if l := resp.LTV; l != nil {
		fmt.Fprintf(env.stdout, "ltv: p_alive=%.3f expected purchases %.2f, clv %.2f over %g days\n", l.PAlive, l.ExpectedPurchases, l.CLV, l.HorizonDays)
	}
	if pe := resp.Persona; pe != nil {
		fmt.Fprintf(env.stdout, "persona: %d %q (distance %.3f)\n", pe.ID, pe.Name, pe.Distance)
	}
	if u := resp.Uplift; u != nil {
		group := ""
		if u.Group != "" {
			group = ", " + u.Group
		}
		fmt.Fprintf(env.stdout, "uplift: effect %+.3f decile %d%s (%s)\n", u.Effect, u.Decile, group, u.ModelVersion)
	}
	if len(resp.Unavailable) > 0 {
		fmt.Fprintf(env.stdout, "unavailable: %s\n", strings.Join(resp.Unavailable, ", "))
	}
	return nil
}

func scoreCmdHistory(ctx context.Context, env *cliEnv, cards *scorecard.Set, set *serving.ModelSet, dir string, asOf time.Time, out string, mapping features.Mapping, asJSON bool, eng history.Engine) error {
	sum, err := batch.Score(ctx, set, batch.Options{Dir: dir, AsOf: asOf, Out: out, Scorecards: cards, Mapping: mapping,
		Workers: eng.Workers, Memory: eng.Memory, TmpDir: eng.TmpDir})
	if err != nil {
		var ce *batch.ContactError
		if errors.As(err, &ce) || errors.Is(err, batch.ErrOptions) {
			return badInput(err)
		}
		return featuresError(err)
	}
	if len(sum.MissingAttributes) > 0 {
		env.log.Warn("scorecard attributes that no person in the history has", "attributes", strings.Join(sum.MissingAttributes, ","))
	}
	sum.Report.Warn(env.log, asOf)
	env.log.Info("scored history", "people", sum.People, "mql", sum.MQL, "disqualified", sum.Disqualified,
		"no_matching_scorecard", sum.NoMatchingScorecard, "out", out, "files", len(sum.Report.Files),
		"partitions", sum.Report.Partitions, "spill_mb", sum.Report.SpillBytes>>20, "stitched_mb", sum.Report.StitchedBytes>>20,
		"elapsed", (time.Duration(sum.Seconds * float64(time.Second))).Round(time.Millisecond))
	if asJSON {
		return env.printJSON(sum)
	}
	return nil
}
