package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
)

// TestTrainAutoPicksTheBetterModelOnTheTourHistory runs the README tour's history
// (generate --contacts 20000 --seed 7 --campaign 0.5; train conversion as of 2026-01-01,
// horizon 90d) with
// no --model, and both models explicitly: the default must choose the model whose test AUC
// is higher, and record both cross-validated AUCs in --json and in the artifact.
func TestTrainAutoPicksTheBetterModelOnTheTourHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the tour's 20,000-contact history and trains three models")
	}
	work := t.TempDir()
	hist := filepath.Join(work, "hist")
	if code, _, stderr := runCmd(t, "generate", "--out", hist, "--contacts", "20000", "--seed", "7", "--campaign", "0.5"); code != exitOK {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	train := func(out string, extra ...string) map[string]any {
		t.Helper()
		args := append([]string{"train", "conversion", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d",
			"--out", filepath.Join(work, out), "--json"}, extra...)
		code, stdout, stderr := runCmd(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return got
	}
	auto := train("auto")
	lr := train("logistic", "--model", "logistic")
	trees := train("gbt", "--model", "gbt")

	better := "logistic"
	if trees["auc"].(float64) > lr["auc"].(float64) {
		better = "gbt"
	}
	sel, ok := auto["model_selection"].(map[string]any)
	if !ok {
		t.Fatalf("no model_selection in the default run's JSON: %v", auto)
	}
	cv, _ := sel["cv_auc"].(map[string]any)
	t.Logf("chosen %v; CV AUC %v; test AUC logistic %.4f, gbt %.4f", sel["chosen"], cv, lr["auc"], trees["auc"])
	if sel["chosen"] != better || auto["model"] != better {
		t.Errorf("default chose %v (model %v); the better model on the test snapshot is %s", sel["chosen"], auto["model"], better)
	}
	for _, m := range []string{"logistic", "gbt"} {
		if v, ok := cv[m].(float64); !ok || !(v > 0.5 && v <= 1) {
			t.Errorf("CV AUC of %s: %v", m, cv[m])
		}
	}
	man, err := artifact.ReadManifest(filepath.Join(work, "auto", "conversion"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"logistic", "gbt"} {
		if _, ok := man.Metrics["selection_cv_auc_"+m]; !ok {
			t.Errorf("manifest metrics lack selection_cv_auc_%s: %v", m, man.Metrics)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "auto", "conversion", "report.html")); err != nil {
		t.Error(err)
	}
}
