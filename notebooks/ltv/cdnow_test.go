package ltv_test

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/internal/shareddata"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/notebooks/internal/figures"
	"github.com/propensity-dev/propensity/training/ltv"
	"github.com/propensity-dev/propensity/training/report"
)

// The CDNOW cells need the shared datasets (docs/performance.md) (present in CI, absent in a user's clone), and an
// Example cannot skip: they are Test functions that log their tables (go test -v) and
// assert the published numbers with tolerances.

// cdnowPath returns the CDNOW sample's path, skipping t where the shared datasets are absent.
func cdnowPath(t *testing.T) string {
	return filepath.Join(shareddata.Dir(t), "cdnow", "transactions_sample.parquet")
}

// fitCDNOW runs `propensity ltv` on the CDNOW sample: weekly periods, calibration up to
// 1997-09-30 inclusive, holdout to 1998-06-30, outputs (report.html, customers.csv, the
// model artifact) in notebooks/figures/ltv/cdnow when PROPENSITY_FIGURES=1 keeps them.
func fitCDNOW(t *testing.T) *ltv.Result {
	t.Helper()
	cdnow := cdnowPath(t)
	dir, err := figures.Dir("ltv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ltv.Run(context.Background(), ltv.Options{
		Transactions:   cdnow,
		Columns:        ltv.Columns{Customer: "customer_id", Time: "date", Amount: "amount"},
		CalibrationEnd: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC),
		HoldoutEnd:     time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC),
		Period:         btyd.Week,
		Out:            filepath.Join(dir, "cdnow"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// near fails the test when got is further than tol from the published value want.
func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, published %.4f (tolerance %g)", what, got, want, tol)
	}
}

// # 3. CDNOW: the paper's parameters, refitted
//
// 2,357 customers of the 1/10 sample; 39 weeks of calibration. Published: BG/NBD
// 0.2425982, 4.4136842, 0.7929899, 2.4261667, LL −9582.429 (R BTYD walkthrough of Fader,
// Hardie & Lee 2005); Gamma-Gamma on the 946 repeat customers p = 6.25, q = 3.74, γ = 15.44
// (Fader & Hardie 2013).
func TestCDNOWParameters(t *testing.T) {
	res := fitCDNOW(t)
	m, g := res.BGNBD, res.GammaGamma
	t.Logf("customers %d, transactions %d", res.Customers, res.Transactions)
	t.Logf("BG/NBD       fitted    published")
	t.Logf("r          %8.4f    0.2426", m.R)
	t.Logf("alpha      %8.4f    4.4137", m.Alpha)
	t.Logf("a          %8.4f    0.7930", m.A)
	t.Logf("b          %8.4f    2.4262", m.B)
	t.Logf("LL        %9.3f    -9582.429", m.LogLikelihood)
	t.Logf("Gamma-Gamma  fitted    published (on %.0f repeat customers)", g.Customers)
	t.Logf("p          %8.3f    6.25", g.P)
	t.Logf("q          %8.3f    3.74", g.Q)
	t.Logf("gamma      %8.3f    15.44", g.V)

	if res.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", res.Customers)
	}
	near(t, "r", m.R, 0.2425982, 0.002)
	near(t, "alpha", m.Alpha, 4.4136842, 0.03)
	near(t, "a", m.A, 0.7929899, 0.01)
	near(t, "b", m.B, 2.4261667, 0.03)
	near(t, "log-likelihood", m.LogLikelihood, -9582.429, 0.05)
	near(t, "Gamma-Gamma customers", g.Customers, 946, 0)
	near(t, "p", g.P, 6.25, 0.01)
	near(t, "q", g.Q, 3.74, 0.01)
	near(t, "gamma", g.V, 15.44, 0.01)
}

// # 4. CDNOW: the 39-week holdout
//
// Repeat purchase days in the holdout: 1,882 happened; the BG/NBD conditional forecast
// summed over customers is 1,653 (R BTYD walkthrough). The naive baseline projects each
// customer's calibration rate x/T; the model should beat it per customer.
func TestCDNOWHoldout(t *testing.T) {
	res := fitCDNOW(t)
	h := res.Holdout
	t.Logf("holdout over %.0f weeks: actual %.0f, BG/NBD %.1f, naive x/T %.1f", h.Periods, h.Actual, h.Predicted, h.BaselinePredicted)
	t.Logf("per-customer MAE: BG/NBD %.3f, naive %.3f", h.MAE, h.BaselineMAE)
	t.Logf("x in calibration  customers  actual  BG/NBD  naive")
	var labels []string
	var actual, predicted []float64
	for _, r := range h.ByFrequency {
		x := strconv.Itoa(r.X)
		if r.Plus {
			x += "+"
		}
		t.Logf("%-16s  %9d  %6.2f  %6.2f  %5.2f", x, r.Customers, r.Actual, r.Predicted, r.Baseline)
		labels = append(labels, x)
		actual = append(actual, r.Actual)
		predicted = append(predicted, r.Predicted)
	}
	near(t, "holdout actual", h.Actual, 1882, 0)
	near(t, "holdout predicted", h.Predicted, 1653, 2)
	if h.MAE >= h.BaselineMAE {
		t.Errorf("BG/NBD MAE %.3f does not beat the naive baseline's %.3f", h.MAE, h.BaselineMAE)
	}

	// Conditional expectations by calibration frequency, the paper's figure 4.
	xs := make([]float64, len(labels))
	for i := range xs {
		xs[i] = float64(i)
	}
	svg, err := report.Line("CDNOW: holdout purchases by calibration frequency", "repeat purchases in calibration (last: 7+)", "mean purchases in the 39-week holdout",
		report.Series{Name: "actual", X: xs, Y: actual}, report.Series{Name: "BG/NBD", X: xs, Y: predicted})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := figures.Write("ltv", "cdnow_conditional_expectations.svg", svg); err != nil {
		t.Fatal(err)
	}
}

// # 5. CDNOW: value tiers
//
// CLV over 52 weeks = expected purchases × expected spend per purchase; tiers act on it:
// at_risk (high past spend, P(alive) < 0.5), vip (top 5% CLV), loyal (next 20%), lapsed
// (P(alive) < 0.3), regular. report.html in notebooks/figures/ltv/cdnow shows them.
func TestCDNOWTiers(t *testing.T) {
	res := fitCDNOW(t)
	t.Logf("total 52-week CLV of the sample: $%.0f", res.TotalCLV)
	total := 0
	for _, tier := range []string{ltv.TierVIP, ltv.TierLoyal, ltv.TierRegular, ltv.TierAtRisk, ltv.TierLapsed} {
		n := res.Tiers.Counts[tier]
		total += n
		t.Logf("%-8s %5d", tier, n)
	}
	if total != res.Customers {
		t.Errorf("tiers hold %d customers, want %d", total, res.Customers)
	}
	// The VIP cut is the 95th percentile of CLV: about 5% of customers are VIPs.
	if vip := float64(res.Tiers.Counts[ltv.TierVIP]) / float64(res.Customers); vip < 0.03 || vip > 0.06 {
		t.Errorf("VIP share %.3f, want about 0.05", vip)
	}
	// The model's CLV ranks the holdout spenders: VIPs buy more in the holdout than lapsed.
	var vip, lapsed, nv, nl float64
	for i, tier := range res.Tier {
		switch tier {
		case ltv.TierVIP:
			vip += res.Summaries.Holdout[i]
			nv++
		case ltv.TierLapsed:
			lapsed += res.Summaries.Holdout[i]
			nl++
		}
	}
	t.Logf("mean holdout purchases: vip %.2f, lapsed %.2f", vip/nv, lapsed/nl)
	if vip/nv <= 2*lapsed/nl {
		t.Errorf("VIPs (%.2f) should buy far more in the holdout than lapsed customers (%.2f)", vip/nv, lapsed/nl)
	}
}
