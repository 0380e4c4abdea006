package ltv

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/internal/csvtest"
	"github.com/propensity-dev/propensity/models/btyd"
)

func TestFitWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  Result
		want []string
	}{
		{"published fit", Result{BGNBD: &btyd.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
			GammaGamma: &GammaGammaResult{GammaGamma: &btyd.GammaGamma{P: 6.25, Q: 3.74, V: 15.44}},
			Holdout:    &Holdout{MAE: 0.5, BaselineMAE: 0.6}}, nil},
		// The fit that prompted the check: a small file, issue 19.
		{"issue 19", Result{BGNBD: &btyd.BGNBD{R: 1, Alpha: 3, A: 185124, B: 2996585},
			Holdout: &Holdout{MAE: 0.612, BaselineMAE: 0.569}},
			[]string{"BG/NBD a = 185124, BG/NBD b = 2996585", "mean absolute error 0.612 against 0.569"}},
		{"gamma-gamma q", Result{BGNBD: &btyd.BGNBD{R: 1, Alpha: 3, A: 1, B: 2},
			GammaGamma: &GammaGammaResult{GammaGamma: &btyd.GammaGamma{P: 2, Q: 5000, V: 1}}}, []string{"Gamma-Gamma q = 5000"}},
		// A large scale is a unit, not a problem: alpha is in periods and v in money.
		{"scales", Result{BGNBD: &btyd.BGNBD{R: 1, Alpha: 5e4, A: 1, B: 2},
			GammaGamma: &GammaGammaResult{GammaGamma: &btyd.GammaGamma{P: 2, Q: 3, V: 1e6}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fitWarnings(&tc.res)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q lacks %q", got[i], w)
				}
			}
		})
	}
}

// pausedCSV writes customers with gamma-distributed purchase rates who never leave, but of
// whom the paused share go quiet for the last 40 to 100 days of the calibration period (a
// season off) and come back at their old rate in the holdout. The BG/NBD reads the silence
// as dropout and forecasts little for them, while the naive baseline x/T projects their old
// rate: the model loses to the baseline.
func pausedCSV(t *testing.T, customers int, paused float64) string {
	rng := rand.New(rand.NewPCG(19, 19))
	var b strings.Builder
	b.WriteString("contact_id,ts,amount\n")
	start := date("2025-01-01")
	const calEnd = 150.0 // days from start to the calibration end
	for c := range customers {
		rate := gamma(rng, 2) / 2 / 7 // purchases per day, mean one a week
		from, to := calEnd, calEnd
		if rng.Float64() < paused {
			from = calEnd - 40 - 60*rng.Float64()
		}
		for d := rng.Float64() * 20; d < 240; d += rng.ExpFloat64() / rate {
			if d >= from && d < to {
				continue
			}
			fmt.Fprintf(&b, "c%d,%s,%.2f\n", c, start.AddDate(0, 0, int(d)).Format("2006-01-02"), 10+20*rng.Float64())
		}
	}
	return writeFile(t, "tx.csv", b.String())
}

// gamma draws from Gamma(shape k, scale 1) for an integer k as a sum of exponentials.
func gamma(rng *rand.Rand, k int) float64 {
	s := 0.0
	for range k {
		s += rng.ExpFloat64()
	}
	return s
}

// TestWarningsEndToEnd runs the job on paused buyers and checks that each warning it
// gives reaches the log, --json (result.json) and the report.
func TestWarningsEndToEnd(t *testing.T) {
	var logs strings.Builder
	out := t.TempDir()
	res, err := Run(context.Background(), Options{Transactions: pausedCSV(t, 400, 0.5), CalibrationEnd: date("2025-05-31"),
		HoldoutEnd: date("2025-08-28"), Out: out, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BG/NBD %+v; holdout MAE %.3f baseline %.3f; warnings %q", *res.BGNBD, res.Holdout.MAE, res.Holdout.BaselineMAE, res.Warnings)
	if !(res.Holdout.MAE > res.Holdout.BaselineMAE) {
		t.Fatalf("holdout MAE %.3f, baseline %.3f: the fixture no longer makes the model lose", res.Holdout.MAE, res.Holdout.BaselineMAE)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "worse than the naive baseline") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	raw, err := os.ReadFile(filepath.Join(out, ResultJSON))
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(out, ReportHTML))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range res.Warnings {
		if i >= len(js.Warnings) || js.Warnings[i] != w {
			t.Errorf("result.json warnings %q, want %q", js.Warnings, res.Warnings)
		}
		if !strings.Contains(logs.String(), strings.ReplaceAll(w, `"`, `\"`)[:40]) {
			t.Errorf("log lacks %q:\n%s", w, logs.String())
		}
		if !strings.Contains(string(html), w[:40]) {
			t.Errorf("report lacks %q", w)
		}
	}
}

// TestCustomersCSV reads customers.csv with encoding/csv: readable headers, integer counts
// and days (days whatever the period), money with 2 decimals and probabilities with 4.
func TestCustomersCSV(t *testing.T) {
	out := t.TempDir()
	res, err := Run(context.Background(), Options{Transactions: pausedCSV(t, 200, 0.2), CalibrationEnd: date("2025-05-31"),
		HoldoutEnd: date("2025-08-28"), Period: btyd.Week, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	rows := csvtest.ReadFile(t, filepath.Join(out, CustomersCSV))
	want := []string{"customer_id", "repeat_purchases", "days_first_to_last", "days_observed", "avg_repeat_purchase_value",
		"spend_to_calibration_end", "p_alive", "expected_purchases", "expected_spend_per_purchase", "clv", "value_tier",
		"holdout_repeat_purchases", "holdout_forecast"}
	if strings.Join(rows[0], ",") != strings.Join(want, ",") {
		t.Fatalf("header %q,\nwant %q", rows[0], want)
	}
	if len(rows)-1 != res.Customers {
		t.Fatalf("%d rows, want %d customers", len(rows)-1, res.Customers)
	}
	decimals := map[string]int{"repeat_purchases": 0, "days_first_to_last": 0, "days_observed": 0, "avg_repeat_purchase_value": 2,
		"spend_to_calibration_end": 2, "p_alive": 4, "expected_purchases": 2, "expected_spend_per_purchase": 2, "clv": 2,
		"holdout_repeat_purchases": 0, "holdout_forecast": 2}
	s := res.Summaries
	for i, r := range rows[1:] {
		for c, h := range want {
			d, ok := decimals[h]
			if !ok {
				continue
			}
			if _, err := strconv.ParseFloat(r[c], 64); err != nil {
				t.Fatalf("row %d %s: %q is not a number", i+1, h, r[c])
			}
			got := 0
			if j := strings.IndexByte(r[c], '.'); j >= 0 {
				got = len(r[c]) - j - 1
			}
			if got != d {
				t.Fatalf("row %d %s = %q: %d decimals, want %d", i+1, h, r[c], got, d)
			}
		}
		// The model's t_x and T are in weeks; the CSV has them in days.
		if r[0] != s.IDs[i] || r[2] != strconv.Itoa(int(s.TX[i]*7+0.5)) || r[3] != strconv.Itoa(int(s.T[i]*7+0.5)) {
			t.Fatalf("row %d %q: want id %s, days %v and %v", i+1, r[:4], s.IDs[i], s.TX[i]*7, s.T[i]*7)
		}
	}
}
