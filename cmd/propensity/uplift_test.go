package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainUpliftCommand runs `generate --campaign` and `train uplift --data` end to end,
// then the table mode's bad inputs, which exit 2 with a message naming the problem.
func TestTrainUpliftCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	ctx := context.Background()
	hist := filepath.Join(t.TempDir(), "hist")
	models := filepath.Join(t.TempDir(), "models")
	var stdout, stderr bytes.Buffer
	if code := realMain(ctx, []string{"generate", "--out", hist, "--contacts", "2500", "--seed", "2", "--campaign", "0.5"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("generate: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "sleeping_dog") || !strings.Contains(stdout.String(), "campaign_offer") {
		t.Errorf("generate summary lacks the campaign: %s", stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	code := realMain(ctx, []string{"train", "uplift", "--data", hist, "--treatment-event", "campaign_offer", "--as-of", "2026-01-01",
		"--learner", "t_learner", "--cv", "3", "--out", models, "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("train uplift: exit %d: %s", code, stderr.String())
	}
	var sum struct {
		Learner string `json:"learner"`
		Treated int    `json:"treated"`
		Control int    `json:"control"`
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
		Uplift struct {
			UpliftAt []struct{ Share float64 } `json:"uplift_at"`
		} `json:"uplift"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json: %v: %s", err, stdout.String())
	}
	if sum.Learner != "t_learner" || sum.Treated < 200 || sum.Control < 200 || len(sum.Columns) == 0 || len(sum.Uplift.UpliftAt) != 3 {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range []string{"manifest.json", "model.json", "report.html", "report.json"} {
		if _, err := os.Stat(filepath.Join(models, "uplift", f)); err != nil {
			t.Error(err)
		}
	}

	one := filepath.Join(t.TempDir(), "one.csv")
	var b strings.Builder
	b.WriteString("x,arm,y\n")
	for i := range 500 {
		fmt.Fprintf(&b, "%d,treatment,%d\n", i, i%2)
	}
	os.WriteFile(one, []byte(b.String()), 0o644)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train", "uplift", "--table", one, "--treatment", "arm", "--label", "y"}, `"arm" has 1 value`},
		{[]string{"train", "uplift", "--table", one, "--label", "y"}, "--treatment"},
		{[]string{"train", "uplift", "--data", hist, "--as-of", "2026-01-01"}, "--treatment-event"},
		{[]string{"train", "uplift", "--table", one, "--treatment", "arm", "--label", "y", "--learner", "s_learner"}, "s_learner"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := realMain(ctx, tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 mentioning %q", tc.args, code, stderr.String(), tc.msg)
		}
	}
}
