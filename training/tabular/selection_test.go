package tabular

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/gbt"
)

// xor makes rows whose label depends on the sign of a·b only: no linear model can rank them,
// trees can.
func xor(n int) *Dataset {
	d := synthetic(n, 3)
	a, b := d.X.Column("x").Num, d.X.Column("noise").Num
	for i := range d.Y {
		d.Y[i] = 0
		if math.IsNaN(b[i]) {
			b[i] = 0
		}
		if (a[i] > 0) == (b[i] > 0) && i%5 != 0 || (a[i] > 0) != (b[i] > 0) && i%5 == 0 {
			d.Y[i] = 1
		}
	}
	return d
}

// TestAutoSelection: on an interaction that only trees can rank, auto picks the trees, and
// the choice, both CV AUCs and every fold are recorded.
func TestAutoSelection(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *Dataset
		want string
	}{
		{"interaction", xor(3000), classifier.ModelGBT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Train(context.Background(), tc.d, nil, Options{Model: ModelAuto, GBT: gbt.Options{Trees: 50}})
			if err != nil {
				t.Fatal(err)
			}
			sel := res.Selection
			if sel == nil || sel.Chosen != tc.want || res.Model.Payload.Model != tc.want {
				t.Fatalf("selection %+v, model %s; want %s", sel, res.Model.Payload.Model, tc.want)
			}
			for _, m := range []string{classifier.ModelLogistic, classifier.ModelGBT} {
				if len(sel.FoldMetrics[m]) != DefaultAutoFolds || !(sel.CVAUC[m] > 0) {
					t.Errorf("%s: %d folds, CV AUC %v", m, len(sel.FoldMetrics[m]), sel.CVAUC[m])
				}
			}
			if sel.CVAUC[classifier.ModelGBT] < sel.CVAUC[classifier.ModelLogistic]+0.1 {
				t.Errorf("CV AUC gbt %.3f, logistic %.3f: want the trees far ahead on an interaction", sel.CVAUC[classifier.ModelGBT], sel.CVAUC[classifier.ModelLogistic])
			}
			if res.MetricsMap()["selection_cv_auc_logistic"] != sel.CVAUC[classifier.ModelLogistic] {
				t.Error("selection not in the manifest metrics")
			}
		})
	}
}

// TestAutoBudget: a budget spent before the second fold stops both models after one fold,
// says so, and still chooses.
func TestAutoBudget(t *testing.T) {
	res, err := Train(context.Background(), synthetic(1500, 2), nil, Options{Model: ModelAuto, AutoBudget: time.Nanosecond, GBT: gbt.Options{Trees: 20}})
	if err != nil {
		t.Fatal(err)
	}
	sel := res.Selection
	for _, m := range []string{classifier.ModelLogistic, classifier.ModelGBT} {
		if len(sel.FoldMetrics[m]) != 1 {
			t.Errorf("%s ran %d folds under an exhausted budget, want 1", m, len(sel.FoldMetrics[m]))
		}
	}
	if !strings.Contains(sel.Note, "budget") || sel.Chosen == "" {
		t.Errorf("selection %+v", sel)
	}
	if err := (Options{Model: ModelAuto, AutoFolds: 1}).Validate(); err == nil {
		t.Error("1 auto fold accepted")
	}
}

// TestReportContents: per-fold CV metrics with their spread, importance, thresholds, the PR
// curve and calibration bins reach report.json, and their values hang together.
func TestReportContents(t *testing.T) {
	d := synthetic(3000, 1)
	res, err := Train(context.Background(), d, nil, Options{Folds: 4, Kind: artifact.KindConversion})
	if err != nil {
		t.Fatal(err)
	}
	s, err := res.Write(filepath.Join(t.TempDir(), "conversion"), res.Summarize(), "test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Out, ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	var got Summary
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	cv := got.CV
	if cv == nil || len(cv.FoldMetrics) != 4 {
		t.Fatalf("cv %+v", cv)
	}
	var sum float64
	for _, f := range cv.FoldMetrics {
		sum += f.LogLoss
		if !(f.AUC > 0.7 && f.PRAUC > 0 && f.LogLoss > 0 && f.Brier > 0 && f.Brier < 0.25) {
			t.Errorf("fold %+v", f)
		}
	}
	if ll := cv.Spread["log_loss"]; math.Abs(ll.Mean-sum/4) > 1e-12 || !(ll.SD >= 0) || ll.Min > ll.Mean || ll.Max < ll.Mean {
		t.Errorf("log loss spread %+v, folds mean %v", ll, sum/4)
	}
	if len(got.Importance) == 0 || got.Importance[0].Feature != "x" {
		t.Errorf("importance %+v: x drives the labels", got.Importance)
	}
	if len(got.Thresholds) != 5 {
		t.Fatalf("thresholds %+v", got.Thresholds)
	}
	for i := 1; i < len(got.Thresholds); i++ {
		a, c := got.Thresholds[i-1], got.Thresholds[i]
		if c.Recall < a.Recall || c.Rows <= a.Rows || c.Threshold > a.Threshold {
			t.Errorf("threshold rows not nested: %+v then %+v", a, c)
		}
	}
	if top := got.Thresholds[0]; !(top.Lift > 1.5) {
		t.Errorf("top 5%% lift %v", top.Lift)
	}
	if n := len(got.PRCurve); n < 10 || n > 200 || got.PRCurve[0].Recall != 0 || got.PRCurve[n-1].Recall != 1 {
		t.Errorf("PR curve of %d points from %+v", n, got.PRCurve[0])
	}
	rows := 0
	for _, b := range got.CalibrationBins {
		rows += b.Rows
		if !(b.ObservedLow <= b.Observed && b.Observed <= b.ObservedHigh) {
			t.Errorf("bin %+v: interval does not hold the rate", b)
		}
	}
	if rows != got.TestRows {
		t.Errorf("calibration bins hold %d rows, test %d", rows, got.TestRows)
	}
	html, err := os.ReadFile(s.Report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Feature importance", "Precision-recall", "Threshold table", "Cross-validation per fold", "95% Wilson"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
