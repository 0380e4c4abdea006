package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/atomicfile"
)

// runDemo is the main job on embedded defaults. It runs the same commands a user would,
// in order, each with --json so the summary table quotes exactly what they printed:
// generate → features → train conversion → train churn → ltv → personas → score one
// sample contact → serve on 127.0.0.1:8080 (unless --no-serve).
func runDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "demo", "[--out DIR] [--contacts N] [--seed S] [--addr HOST:PORT] [--no-serve] [--json]",
		"Generate a sample history, build features, train conversion, churn, LTV and personas models,\n"+
			"print a summary of their metrics, write the reports, then serve scores over HTTP until Ctrl-C.")
	out := fs.String("out", "demo-output", "working directory for the history, models and reports (git-ignored by default)")
	contacts := fs.String("contacts", strconv.Itoa(synth.DefaultContacts), "number of people in the sample history")
	seed := fs.String("seed", "1", "random seed of the sample history")
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve on, checked before the offline work (port 0: any free port)")
	noServe := fs.Bool("no-serve", false, "stop after the offline part (do not start the HTTP server)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object instead of a table")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if n, err := strconv.Atoi(*contacts); err != nil || n < 500 {
		return usagef("--contacts: %q is not a whole number of at least 500 (the models need enough converters)", *contacts)
	}
	// The port is opened before minutes of offline work, so that a busy one fails at once
	// (exit 2), and held until the server takes it.
	var ln net.Listener
	if !*noServe {
		var err error
		if ln, err = listen("--addr", *addr); err != nil {
			return err
		}
		defer ln.Close() // closed already when served; an early return must free it
	}
	asOf := synth.DefaultAsOf()
	const horizon = 90 * 24 * time.Hour
	T := asOf.Format(time.DateOnly)
	var (
		histDir   = filepath.Join(*out, "history")
		modelsDir = filepath.Join(*out, "models")
		reports   = filepath.Join(*out, "reports")
	)
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return badInput(fmt.Errorf("--out: %w", err))
	}
	if err := os.MkdirAll(modelsDir, 0o755); err != nil {
		return badInput(fmt.Errorf("--out: %w", err))
	}

	started := time.Now()
	steps := []demoStep{
		{"generate", "generating a sample history", runGenerate,
			[]string{"--out", histDir, "--contacts", *contacts, "--seed", *seed, "--as-of", T, "--horizon", "90d"}},
		{"features", "building point-in-time features", runFeatures,
			[]string{"--data", histDir, "--as-of", T, "--horizon", "90d", "--out", filepath.Join(reports, "features.parquet")}},
		{"conversion", "training the conversion model", runTrain,
			[]string{"conversion", "--data", histDir, "--as-of", T, "--horizon", "90d", "--out", modelsDir}},
		{"churn", "training the churn model", runTrain,
			[]string{"churn", "--data", histDir, "--as-of", T, "--horizon", "90d", "--out", modelsDir}},
		{"ltv", "fitting BG/NBD + Gamma-Gamma lifetime value", runLTV,
			[]string{"--transactions", filepath.Join(histDir, "transactions.parquet"),
				"--calibration-end", asOf.Add(-24 * time.Hour).Format(time.DateOnly),
				"--holdout-end", asOf.Add(horizon - 24*time.Hour).Format(time.DateOnly),
				"--out", modelsDir}},
		{"personas", "clustering personas", runPersonas,
			[]string{"--data", histDir, "--as-of", T, "--out", modelsDir}},
	}
	results := make(map[string]map[string]any, len(steps))
	for i, s := range steps {
		fmt.Fprintf(env.stderr, "[%d/%d] %s ...\n", i+1, len(steps)+1, s.title)
		t0 := time.Now()
		res, err := s.run(ctx, env, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		results[s.name] = res
		fmt.Fprintf(env.stderr, "      done in %.1fs\n", time.Since(t0).Seconds())
	}
	fmt.Fprintf(env.stderr, "[%d/%d] scoring a sample contact ...\n", len(steps)+1, len(steps)+1)
	profilePath := filepath.Join(*out, "sample_profile.json")
	if err := writeSampleProfile(ctx, histDir, asOf, profilePath); err != nil {
		return fmt.Errorf("sample profile: %w", err)
	}
	score, err := demoStep{name: "score", cmd: runScore, args: []string{"--profile", profilePath, "--models", modelsDir}}.run(ctx, env, nil)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	results["score"] = score

	summary := demoSummary(results, time.Since(started))
	if *asJSON {
		if err := env.printJSON(map[string]any{"summary": summary, "out": *out, "models": modelsDir, "reports": reports}); err != nil {
			return err
		}
	} else {
		printDemoSummary(env.stdout, summary, *out, modelsDir, reports)
	}
	if *noServe {
		return nil
	}
	bound := ln.Addr().String()
	fmt.Fprintf(env.stdout, "\nServing on http://%s (Ctrl-C to stop). Score the sample contact with:\n\n"+
		"  curl -s -X POST http://%s/v1/score -H 'Content-Type: application/json' --data @%s\n\n",
		bound, bound, profilePath)
	return serve(ctx, env, []string{"--models", modelsDir, "--addr", bound}, ln)
}

// demoStep is one command of the demo, run in-process with --json.
type demoStep struct {
	name  string
	title string
	cmd   func(ctx context.Context, env *cliEnv, args []string) error
	args  []string
}

// run runs the step's command with --json, its stdout captured and decoded, its logs on
// the demo's stderr. extra arguments are appended.
func (s demoStep) run(ctx context.Context, env *cliEnv, extra []string) (map[string]any, error) {
	var buf bytes.Buffer
	sub := &cliEnv{stdout: &buf, stderr: env.stderr, log: env.log}
	args := append(append(append([]string{}, s.args...), extra...), "--json")
	if err := s.cmd(ctx, sub, args); err != nil {
		return nil, err
	}
	var res map[string]any
	if err := json.Unmarshal(buf.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("reading the JSON the %s step printed: %w", s.name, err)
	}
	return res, nil
}

// writeSampleProfile writes the docs/contract.md §2 profile of an engaged prospect of the history
// (the first, in contact order, with at least 10 events before asOf and no purchase).
func writeSampleProfile(ctx context.Context, dir string, asOf time.Time, path string) error {
	errFound := errors.New("found")
	var chosen *features.Profile
	_, err := history.ForEachPerson(ctx, dir, features.Options{AsOf: asOf}, func(p *history.Person) error {
		prof := p.Profile(asOf)
		if len(prof.Transactions) > 0 || len(prof.Events) < 10 {
			return nil
		}
		// The walk reuses the person's slices: keep copies.
		prof.Events, prof.Transactions = slices.Clone(prof.Events), slices.Clone(prof.Transactions)
		chosen = &prof
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return err
	}
	if chosen == nil {
		return errors.New("no prospect with 10 events in the history")
	}
	b, err := json.MarshalIndent(chosen, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'), 0o644)
}

// demoRow is one line of the summary table.
type demoRow struct {
	Step   string `json:"step"`
	Metric string `json:"metric"`
	Value  string `json:"value"`
}

func demoSummary(r map[string]map[string]any, elapsed time.Duration) []demoRow {
	// Each value is written the way its kind is read (numbers.go): counts whole,
	// probabilities and AUCs with 3 decimals, fitted parameters with 4 digits.
	val := func(format func(float64) string, step string, path ...string) string {
		var v any = r[step]
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return "-"
			}
			v = m[p]
		}
		if x, ok := v.(float64); ok {
			return format(x)
		}
		return "-"
	}
	count := func(step string, path ...string) string { return val(fmtCount, step, path...) }
	prob := func(step string, path ...string) string { return val(fmtProb, step, path...) }
	param := func(step string, path ...string) string { return val(fmtParam, step, path...) }
	return []demoRow{
		{"history", "people / events / transactions", count("generate", "people") + " / " + count("generate", "events") + " / " + count("generate", "transactions")},
		{"history", "conversion rate in the horizon (true-probability AUC)", prob("generate", "conversion_rate") + " (" + prob("generate", "conversion_auc") + ")"},
		{"features", "people x columns", count("features", "people") + " x " + count("features", "columns")},
		{"conversion", "test AUC / PR-AUC / ECE", prob("conversion", "auc") + " / " + prob("conversion", "pr_auc") + " / " + prob("conversion", "ece")},
		{"churn", "test AUC / PR-AUC / ECE", prob("churn", "auc") + " / " + prob("churn", "pr_auc") + " / " + prob("churn", "ece")},
		{"ltv", "BG/NBD r, alpha, a, b", param("ltv", "bgnbd", "r") + ", " + param("ltv", "bgnbd", "alpha") + ", " + param("ltv", "bgnbd", "a") + ", " + param("ltv", "bgnbd", "b")},
		{"ltv", "holdout repeat purchases: actual / forecast", count("ltv", "holdout", "actual_repeat_transactions") + " / " + count("ltv", "holdout", "predicted_repeat_transactions")},
		{"personas", "k / silhouette", count("personas", "k") + " / " + prob("personas", "silhouette")},
		{"score", "sample contact: rule total / p(convert)", val(fmtPoints, "score", "rules", "total") + " / " + prob("score", "conversion", "probability")},
		{"demo", "setup time (s)", strconv.FormatFloat(elapsed.Seconds(), 'f', 1, 64)},
	}
}

func printDemoSummary(w io.Writer, rows []demoRow, out, models, reports string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tMETRIC\tVALUE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Step, r.Metric, r.Value)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nModels and their reports: %s/<kind>/ (report.html in each)   Feature table: %s\n", models, filepath.Join(reports, "features.parquet"))
	fmt.Fprintf(w, "Sample profile: %s\n", filepath.Join(out, "sample_profile.json"))
}
