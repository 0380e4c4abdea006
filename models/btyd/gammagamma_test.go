package btyd

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestFitGammaGammaCDNOW fits the 946 repeat customers of the CDNOW sample summary
// (zbar rounded to cents in the file, which moves γ by about 0.008; the job's test in
// training/ltv fits the unrounded transactions to the printed precision). Reference: Fader &
// Hardie (2013), "The Gamma-Gamma model of monetary value": p = 6.25, q = 3.74, γ = 15.44.
func TestFitGammaGammaCDNOW(t *testing.T) {
	x, _, _, zbar := readCDNOWSummary(t)
	g, err := FitGammaGamma(x, zbar, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Customers != 946 {
		t.Errorf("customers = %g, want 946", g.Customers)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p", g.P, 6.25}, {"q", g.Q, 3.74}, {"gamma", g.V, 15.44}} {
		if math.Abs(c.got-c.want) > 0.01 {
			t.Errorf("%s = %.4f, want %.2f", c.name, c.got, c.want)
		}
	}
	if g.StdErrors == nil {
		t.Error("no standard errors")
	}
}

func TestFitGammaGammaErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		x, m, w []float64
		want    error
	}{
		{"empty", nil, nil, nil, ErrNoData},
		{"no repeat", []float64{0, 0}, []float64{0, 0}, nil, ErrNoRepeat},
		{"zero spend", []float64{1, 2}, []float64{10, 0}, nil, ErrInput},
		{"negative spend", []float64{1, 2}, []float64{10, -5}, nil, ErrInput},
		{"NaN spend", []float64{1}, []float64{math.NaN()}, nil, ErrInput},
		{"fractional x", []float64{1.5}, []float64{10}, nil, ErrInput},
		{"bad weight", []float64{1}, []float64{10}, []float64{math.Inf(1)}, ErrInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FitGammaGamma(c.x, c.m, c.w, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var ie *InputError
			if c.want == ErrInput && (!errors.As(err, &ie) || ie.Field == "") {
				t.Errorf("error %v does not name the field", err)
			}
		})
	}
}

// TestConditionalExpectedSpendFallbacks: q <= 1 (infinite population mean) and odd input
// give the documented fallbacks, never NaN or Inf.
func TestConditionalExpectedSpendFallbacks(t *testing.T) {
	g := GammaGamma{P: 0.1, Q: 0.5, V: 10, MeanSpend: 42}
	for _, c := range []struct {
		x, m, want float64
	}{
		{0, 0, 42},  // x = 0: the data's mean spend
		{1, 30, 30}, // p·x + q − 1 <= 0: the customer's own mean
		{20, 30, 0.1 * (10 + 600) / (0.1*20 + 0.5 - 1)},
		{1, math.NaN(), 42},
		{-1, 5, 42},
	} {
		got := g.ConditionalExpectedSpend(c.x, c.m)
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("E[Z | x=%g, m=%g] = %g, want %g", c.x, c.m, got, c.want)
		}
	}
	if _, err := g.PopulationMeanSpend(); !errors.Is(err, ErrInfiniteMean) {
		t.Errorf("PopulationMeanSpend err = %v, want ErrInfiniteMean", err)
	}
}

func BenchmarkFitGammaGamma(b *testing.B) {
	x, _, _, mbar := simulateBGNBD(rand.NewPCG(1, 1), 100000, 0.25, 30, 0.8, 2.4, 0, 365)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitGammaGamma(x, mbar, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}
