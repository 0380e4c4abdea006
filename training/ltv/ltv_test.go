package ltv

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/internal/shareddata"
	"github.com/propensity-dev/propensity/models/btyd"
)

// datasets locates the shared datasets (docs/performance.md) relative to the repository root, or skips.
func datasets(t testing.TB) string {
	t.Helper()
	return shareddata.Dir(t)
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestCDNOW runs the whole job on the CDNOW sample with the protocol of Fader, Hardie &
// Lee (2005): weekly periods, calibration to 1997-09-30, holdout to 1998-06-30.
func TestCDNOW(t *testing.T) {
	path := filepath.Join(datasets(t), "cdnow", "transactions_sample.parquet")
	out := t.TempDir()
	res, err := Run(context.Background(), Options{
		Transactions:   path,
		Columns:        Columns{Customer: "customer_id", Time: "date", Amount: "amount"},
		CalibrationEnd: date("1997-09-30"),
		HoldoutEnd:     date("1998-06-30"),
		Period:         btyd.Week,
		AnnualDiscount: 0.1,
		Out:            out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Customers != 2357 {
		t.Errorf("customers = %d, want 2357 (the CDNOW sample)", res.Customers)
	}
	bg, gg, h := res.BGNBD, res.GammaGamma, res.Holdout
	for _, c := range []struct {
		name           string
		got, want, tol float64
	}{
		// Fader, Hardie & Lee 2005, section 4.
		{"r", bg.R, 0.243, 0.0005},
		{"alpha", bg.Alpha, 4.414, 0.0005},
		{"a", bg.A, 0.793, 0.0005},
		{"b", bg.B, 2.426, 0.0005},
		// R BTYD walkthrough: −9582.429 (the datasets README, docs/performance.md).
		{"loglik", bg.LogLikelihood, -9582.429, 0.1},
		// Fader & Hardie 2013, "The Gamma-Gamma model of monetary value".
		{"p", gg.P, 6.25, 0.005},
		{"q", gg.Q, 3.74, 0.005},
		{"gamma", gg.V, 15.44, 0.005},
		{"gg customers", gg.Customers, 946, 0},
		// R BTYD walkthrough: 1,882 actual repeat transactions in the holdout, 1,653 forecast.
		{"holdout actual", h.Actual, 1882, 0},
		{"holdout predicted", h.Predicted, 1653, 0.01 * 1653},
		{"holdout periods", h.Periods, 39, 1e-9},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.5f, want %g ± %g", c.name, c.got, c.want, c.tol)
		}
	}
	if !(h.MAE < h.BaselineMAE) {
		t.Errorf("BG/NBD MAE %.4f not better than the naive baseline's %.4f", h.MAE, h.BaselineMAE)
	}
	for _, f := range []string{CustomersParquet, CustomersCSV, ReportHTML, ResultJSON, filepath.Join(ModelDir, "manifest.json")} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty: %v", f, err)
		}
	}
	m, _, err := btyd.LoadLTVModel(filepath.Join(out, ModelDir))
	if err != nil {
		t.Fatal(err)
	}
	// The loaded model scores a customer exactly as the job did.
	i := 0
	s := res.Summaries
	got := m.Score(btyd.Summary{X: s.X[i], TX: s.TX[i], T: s.T[i], Monetary: s.Monetary[i]})
	if math.Abs(got.CLV-res.Scores[i].CLV) > 1e-9 || got.ModelVersion != res.ModelVersion {
		t.Errorf("loaded model scores %+v, job %+v", got, res.Scores[i])
	}
	t.Logf("bgnbd %+v", *bg)
	t.Logf("gg %+v holdout %+v tiers %+v seconds %+v", *gg.GammaGamma, *h, res.Tiers, res.Seconds)
}
