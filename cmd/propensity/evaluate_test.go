package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/models/scorecard"
)

func evaluateRunCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const evaluateScorecard = "../../data/scorecards/dealership.yaml"

func TestEvaluateBadUsage(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("name: x\nversion: \"1\"\nrules: [{name: a, points: 1, event: {type: nope}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing flags", []string{"evaluate", "--data", dir}, "--as-of"},
		{"bad date", []string{"evaluate", "--data", dir, "--as-of", "soon", "--horizon", "90d", "--scorecard", evaluateScorecard, "--out", dir}, "as-of"},
		{"bad horizon", []string{"evaluate", "--data", dir, "--as-of", "2026-01-01", "--horizon", "ninety", "--scorecard", evaluateScorecard, "--out", dir}, "horizon"},
		{"no data dir", []string{"evaluate", "--data", filepath.Join(dir, "nope"), "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", evaluateScorecard, "--out", dir}, "--data"},
		{"bad scorecard", []string{"evaluate", "--data", dir, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", badYAML, "--out", dir}, "nope"},
		{"empty history", []string{"evaluate", "--data", dir, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", evaluateScorecard, "--out", filepath.Join(dir, "out")}, "history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := evaluateRunCLI(tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestEvaluateCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and evaluates a history")
	}
	hist := t.TempDir()
	if _, err := synth.Generate(context.Background(), hist, synth.Options{Contacts: 3000, Seed: 9, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "eval")
	code, stdout, stderr := evaluateRunCLI("evaluate", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d",
		"--scorecard", evaluateScorecard, "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Rules     struct{ AUC float64 } `json:"rules"`
		Suggested struct {
			AUC float64
			MQL struct {
				Precision float64 `json:"precision"`
				Recall    float64 `json:"recall"`
			} `json:"mql"`
		} `json:"suggested"`
		Model struct{ AUC float64 } `json:"model"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if got.Rules.AUC <= 0 || got.Model.AUC <= 0 || got.Suggested.AUC <= 0 {
		t.Errorf("AUCs missing: %+v", got)
	}
	file, err := os.ReadFile(filepath.Join(out, "evaluation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(file) {
		t.Error("evaluation.json is not JSON")
	}
	if _, err := scorecard.Load(filepath.Join(out, "suggested_scorecard.yaml")); err != nil {
		t.Errorf("suggested scorecard: %v", err)
	}
	for _, f := range []string{"report.html", "disagreements.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
