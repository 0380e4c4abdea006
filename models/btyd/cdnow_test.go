package btyd

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/propensity-dev/propensity/internal/shareddata"
)

// cdnowDir locates the CDNOW folder of the shared datasets (docs/performance.md) relative to the repository root, or skips.
func cdnowDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(shareddata.Dir(t), "cdnow")
}

// readCDNOWSummary reads cdnow_customers_summary_with_transactions.csv: x, t_x, T (weeks)
// and zbar per customer of the 2,357-customer CDNOW sample, 39-week calibration.
func readCDNOWSummary(t testing.TB) (x, tx, T, zbar []float64) {
	f, err := os.Open(filepath.Join(cdnowDir(t), "cdnow_customers_summary_with_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs[1:] {
		var v [4]float64
		for j := range 4 {
			if v[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatalf("line %d: %v", i+2, err)
			}
		}
		x, tx, T, zbar = append(x, v[0]), append(tx, v[1]), append(T, v[2]), append(zbar, v[3])
	}
	return
}

// paper holds the BG/NBD estimates of Fader, Hardie & Lee (2005), section 4, on the CDNOW
// sample (full precision from the R BTYD walkthrough, as quoted in
// the datasets README, docs/performance.md).
var paper = BGNBD{R: 0.2425982, Alpha: 4.4136842, A: 0.7929899, B: 2.4261667}

func TestFitBGNBDCDNOW(t *testing.T) {
	x, tx, T, _ := readCDNOWSummary(t)
	if len(x) != 2357 {
		t.Fatalf("read %d customers, want 2357", len(x))
	}
	m, err := FitBGNBD(x, tx, T, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Fader, Hardie & Lee 2005, table/section 4: r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4.
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"r", m.R, 0.243, 0.0005},
		{"alpha", m.Alpha, 4.414, 0.0005},
		{"a", m.A, 0.793, 0.0005},
		{"b", m.B, 2.426, 0.0005},
		{"loglik", m.LogLikelihood, -9582.4, 0.1},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.6f, want %.4f ± %g", c.name, c.got, c.want, c.tol)
		}
	}
	if m.StdErrors == nil {
		t.Fatal("no standard errors")
	}
	// The per-customer likelihood (written with beta functions) sums to the fitted total.
	var sum float64
	for i := range x {
		sum += m.LogLikelihoodRow(x[i], tx[i], T[i])
	}
	if math.Abs(sum-m.LogLikelihood) > 1e-6 {
		t.Errorf("Σ LogLikelihoodRow = %.8f, fit reports %.8f", sum, m.LogLikelihood)
	}
	t.Logf("fit %+v se %+v", *m, *m.StdErrors)
}

func TestSpotValuesCDNOW(t *testing.T) {
	m := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	// E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226: Fader, Hardie & Lee 2005, section 4
	// (also in the lifetimes test suite, from Hardie's spreadsheet).
	if got := m.ConditionalExpectedPurchases(39, 2, 30.43, 38.86); math.Abs(got-1.226) > 0.0005 {
		t.Errorf("E[X(39)|2,30.43,38.86] = %.6f, want 1.226", got)
	}
	// P(X(39)=0) = 0.5737864: lifetimes test suite, from the R BTYD package documentation.
	if got := m.ProbPurchases(0, 39); math.Abs(got-0.5737864) > 1e-6 {
		t.Errorf("P(X(39)=0) = %.7f, want 0.5737864", got)
	}
}

func BenchmarkFitCDNOW(b *testing.B) {
	x, tx, T, zbar := readCDNOWSummary(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitBGNBD(x, tx, T, nil, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := FitGammaGamma(x, zbar, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
