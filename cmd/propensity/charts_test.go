package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/internal/svgcheck"
)

// TestReportChartGeometry runs every command that writes an HTML report on one generated
// history, then reads every chart of every report.html under the work directory and checks
// its layout from the SVG geometry (internal/svgcheck): legends and tick labels stay off the
// plotted data and off each other. The text extents come from the fonts' metrics and, when
// Chromium is installed (CI installs it), again from the browser's own layout of the page.
// New reports are covered by adding their command here; new charts in existing reports are
// covered as they are.
func TestReportChartGeometry(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and runs every reporting command")
	}
	work := t.TempDir()
	hist := filepath.Join(work, "hist")
	// A randomised campaign in the history gives `train uplift` its experiment; the other
	// commands ignore its events.
	if _, err := synth.Generate(context.Background(), hist, synth.Options{Contacts: 3000, Seed: 9, Workers: 2, CampaignShare: 0.5}); err != nil {
		t.Fatal(err)
	}
	common := []string{"--data", hist, "--as-of", "2026-01-01", "--horizon", "90d"}
	for _, args := range [][]string{
		append([]string{"train", "conversion", "--model", "gbt", "--out", filepath.Join(work, "gbt")}, common...),
		append([]string{"train", "churn", "--model", "logistic", "--out", filepath.Join(work, "models")}, common...),
		append([]string{"evaluate", "--scorecard", evaluateScorecard, "--out", filepath.Join(work, "eval")}, common...),
		{"ltv", "--transactions", filepath.Join(hist, "transactions.parquet"), "--calibration-end", "2025-12-31",
			"--holdout-end", "2026-03-31", "--out", filepath.Join(work, "ltv")},
		{"personas", "--data", hist, "--as-of", "2026-01-01", "--k", "4", "--out", filepath.Join(work, "personas")},
		append([]string{"train", "uplift", "--treatment-event", "campaign_offer", "--out", filepath.Join(work, "models")}, common...),
	} {
		if code, _, stderr := runCmd(t, args...); code != exitOK {
			t.Fatalf("%s: exit %d: %s", strings.Join(args[:2], " "), code, stderr)
		}
	}
	chromium, _ := exec.LookPath("chromium")
	if chromium == "" {
		t.Log("chromium not installed: checking with font metrics only")
	}
	// Every report the CLI writes (training/report.WriteHTML and the ltv and personas pages):
	// both model kinds' training reports (gbt: gain and SHAP importance; logistic:
	// coefficients), the evaluation, LTV, personas and uplift.
	want := []string{"gbt/conversion/report.html", "models/churn/report.html", "eval/report.html",
		"ltv/ltv/report.html", "personas/personas/report.html", "models/uplift/report.html"}
	var reports []string
	err := filepath.WalkDir(work, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(work, path)
		reports = append(reports, filepath.ToSlash(rel))
		charts, err := svgcheck.Parse(b)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		for _, p := range svgcheck.Check(charts) {
			t.Errorf("%s: %v", rel, p)
		}
		t.Logf("%s: %d charts checked", rel, len(charts))
		if chromium != "" {
			shot, err := svgcheck.Chromium(context.Background(), chromium, t.TempDir(), b)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			for _, p := range svgcheck.Check(shot) {
				t.Errorf("%s, as Chromium lays it out: %v", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !slices.Contains(reports, w) {
			t.Errorf("no report %s among %q", w, reports)
		}
	}
}
