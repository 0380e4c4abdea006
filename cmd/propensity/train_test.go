package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/training/tabular"
)

// writeTrainCSV writes a semicolon-separated table with a Yes/No label driven by "visits".
func writeTrainCSV(t *testing.T, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("id;visits;plan;bought\n")
	for i := range n {
		v := rng.NormFloat64()
		label := "No"
		if rng.Float64() < 1/(1+2.7*2.7*(1-v)) || v > 1 {
			label = "Yes"
		}
		plan := []string{"basic", "pro"}[i%2]
		fmt.Fprintf(&b, "c%d;%.3f;%s;%s\n", i, v, plan, label)
	}
	p := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrainCommand(t *testing.T) {
	csv := writeTrainCSV(t, 1500)
	out := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"json with cv", []string{"train", "--table", csv, "--label", "bought", "--id", "id", "--cv", "3", "--out", out, "--json"}, exitOK, ""},
		{"missing label flag", []string{"train", "--table", csv}, exitUsage, "--label"},
		{"unknown label", []string{"train", "--table", csv, "--label", "nope"}, exitUsage, `"nope"`},
		{"ambiguous positive", []string{"train", "--table", csv, "--label", "plan"}, exitUsage, "--positive"},
		{"bad model", []string{"train", "--table", csv, "--label", "bought", "--model", "forest"}, exitUsage, `"forest"`},
		{"missing file", []string{"train", "--table", "/nonexistent.csv", "--label", "bought"}, exitUsage, "nonexistent"},
		{"unknown mode", []string{"train", "upsell", "--data", "x"}, exitUsage, "upsell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if tt.msg != "" && !strings.Contains(stderr.String(), tt.msg) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.msg)
			}
			if tt.code != exitOK {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
			}
			for _, k := range []string{"auc", "pr_auc", "log_loss", "brier", "ece", "lift", "fit_seconds", "rows", "features", "cv_auc", "cv_auc_sd"} {
				if _, ok := got[k]; !ok {
					t.Errorf("JSON lacks %q", k)
				}
			}
			for _, f := range []string{"manifest.json", "model.json", "report.html", "report.json"} {
				if _, err := os.Stat(filepath.Join(out, "conversion", f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestTrainHistory runs the history mode end to end on a small generated history: training
// snapshots before T, test at T, artifact loadable with a training window and schema version.
func TestTrainHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history")
	}
	dir := filepath.Join(t.TempDir(), "hist")
	var stdout, stderr bytes.Buffer
	if code := realMain(context.Background(), []string{"generate", "--out", dir, "--contacts", "3000", "--seed", "5"}, &stdout, &stderr); code != exitOK {
		t.Skipf("generate unavailable (exit %d): %s", code, stderr.String())
	}
	out := t.TempDir()
	for _, target := range []string{"conversion", "churn"} {
		stdout.Reset()
		stderr.Reset()
		code := realMain(context.Background(), []string{"train", target, "--data", dir, "--as-of", "2026-01-01",
			"--horizon", "90d", "--model", "logistic", "--out", out, "--json"}, &stdout, &stderr)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", target, code, stderr.String())
		}
		var got struct {
			AUC  float64 `json:"auc"`
			Kind string  `json:"kind"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != target || !(got.AUC > 0.6) {
			t.Errorf("%s: %+v", target, got)
		}
		man, err := os.ReadFile(filepath.Join(out, target, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(man), `"training_window"`) || !strings.Contains(string(man), `"feature_schema_version"`) {
			t.Errorf("%s manifest lacks window or schema version", target)
		}
		// The logistic model of history mode has log1p features when it has enough
		// positives (tabular.HistoryDefaults): the churners of this small history are
		// enough, its few dozen converters are not.
		model, err := os.ReadFile(filepath.Join(out, target, "model.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Contains(string(model), `__log1p"`), target == "churn"; got != want {
			t.Errorf("%s: log1p features %v, want %v", target, got, want)
		}
	}

	// gbt in history mode stops early (tabular.HistoryDefaults), recorded in the options.
	stdout.Reset()
	stderr.Reset()
	if code := realMain(context.Background(), []string{"train", "conversion", "--data", dir, "--as-of", "2026-01-01",
		"--model", "gbt", "--out", out, "--json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("gbt: exit %d: %s", code, stderr.String())
	}
	var man struct {
		Options struct {
			Training struct {
				ValidationShare float64 `json:"validation_share"`
				GBT             struct {
					Trees int `json:"trees"`
				} `json:"gbt"`
			} `json:"training"`
		} `json:"options"`
	}
	b, err := os.ReadFile(filepath.Join(out, "conversion", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if tr := man.Options.Training; tr.ValidationShare != tabular.HistoryValidationShare || tr.GBT.Trees != tabular.HistoryGBTTrees {
		t.Errorf("gbt history options %+v, want validation share %v within %d rounds", tr, tabular.HistoryValidationShare, tabular.HistoryGBTTrees)
	}
}

// TestTrainTune checks that --tune searches the gbt grid on the training rows, trains with
// the point of least cross-validated log loss, and records the search in --json and in the
// artifact's options.
func TestTrainTune(t *testing.T) {
	csv := writeTrainCSV(t, 1200)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"train", "--table", csv, "--label", "bought", "--id", "id",
		"--model", "gbt", "--tune", "--out", out, "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, stderr.String())
	}
	type score struct {
		MaxDepth     int     `json:"max_depth"`
		LearningRate float64 `json:"learning_rate"`
		LogLoss      float64 `json:"log_loss"`
	}
	type tuning struct {
		Folds int     `json:"folds"`
		Grid  []score `json:"grid"`
		Best  score   `json:"best"`
	}
	var got struct {
		Model string  `json:"model"`
		AUC   float64 `json:"auc"`
		Tune  *tuning `json:"tune"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	if got.Model != "gbt" || got.Tune == nil {
		t.Fatalf("model %q, tune %v; want gbt with a tune section", got.Model, got.Tune)
	}
	// gbt.Tune's default grid: depths {3, 4, 6} × learning rates {0.025, 0.05, 0.1}.
	if len(got.Tune.Grid) != 9 || got.Tune.Folds != 3 {
		t.Fatalf("grid of %d points over %d folds, want 9 over 3", len(got.Tune.Grid), got.Tune.Folds)
	}
	minLoss := got.Tune.Grid[0].LogLoss
	for _, s := range got.Tune.Grid {
		if !(s.LogLoss > 0) {
			t.Errorf("grid point %+v has no log loss", s)
		}
		minLoss = min(minLoss, s.LogLoss)
	}
	if got.Tune.Best.LogLoss != minLoss {
		t.Errorf("best %+v is not the least log loss %v", got.Tune.Best, minLoss)
	}
	if !(got.AUC > 0.6) {
		t.Errorf("test AUC %v", got.AUC)
	}

	// The artifact records the search and trains with the chosen depth and learning rate.
	var man struct {
		Options struct {
			Tune     *tuning `json:"tune"`
			Training struct {
				Tune bool `json:"tune"`
				GBT  struct {
					MaxDepth     int     `json:"max_depth"`
					LearningRate float64 `json:"learning_rate"`
				} `json:"gbt"`
			} `json:"training"`
		} `json:"options"`
	}
	b, err := os.ReadFile(filepath.Join(out, "conversion", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	o := man.Options
	if o.Tune == nil || o.Tune.Best != got.Tune.Best || !o.Training.Tune {
		t.Fatalf("manifest options lack the search: %s", b)
	}
	if o.Training.GBT.MaxDepth != got.Tune.Best.MaxDepth || o.Training.GBT.LearningRate != got.Tune.Best.LearningRate {
		t.Errorf("trained with depth %d, rate %v; tuned %+v", o.Training.GBT.MaxDepth, o.Training.GBT.LearningRate, got.Tune.Best)
	}
}

// TestTrainTuneUsage checks that --tune with the logistic model is a usage error (exit 2),
// in both modes, before any data is read. (--tune alone implies --model gbt.)
func TestTrainTuneUsage(t *testing.T) {
	csv := writeTrainCSV(t, 200)
	tests := []struct {
		name string
		args []string
	}{
		{"explicit logistic", []string{"train", "--table", csv, "--label", "bought", "--model", "logistic", "--tune"}},
		{"history mode", []string{"train", "conversion", "--data", "/nonexistent", "--as-of", "2026-01-01", "--out", t.TempDir(), "--model", "logistic", "--tune"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), tt.args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), "tune") || !strings.Contains(stderr.String(), `"logistic"`) {
				t.Errorf("stderr %q does not explain that logistic has nothing to tune", stderr.String())
			}
		})
	}
}
