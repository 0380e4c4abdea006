package btyd_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/propensity-dev/propensity/models/btyd"
)

// simulate draws customers from a BG/NBD process (r, α, a, b) observed for T periods, with
// Gamma-Gamma spend: a small stand-in for real data.
func simulate(n int, r, alpha, a, b, T float64) (x, tx, age, mbar []float64) {
	rng := rand.New(rand.NewPCG(42, 1))
	gamma := func(shape float64) float64 { // Marsaglia & Tsang (2000), shape boosted below 1
		boost := 1.0
		if shape < 1 {
			boost = math.Pow(rng.Float64(), 1/shape)
			shape++
		}
		d := shape - 1.0/3
		c := 1 / math.Sqrt(9*d)
		for {
			z := rng.NormFloat64()
			v := 1 + c*z
			if v <= 0 {
				continue
			}
			v = v * v * v
			if u := rng.Float64(); math.Log(u) < z*z/2+d-d*v+d*math.Log(v) {
				return d * v * boost
			}
		}
	}
	for range n {
		lambda := gamma(r) / alpha
		ga, gb := gamma(a), gamma(b)
		p := ga / (ga + gb)
		nu := gamma(3) / 20
		var t, last, sum float64
		k := 0
		for {
			t += rng.ExpFloat64() / lambda
			if t > T {
				break
			}
			k++
			last = t
			sum += gamma(5) / nu
			if rng.Float64() < p {
				break
			}
		}
		m := 0.0
		if k > 0 {
			m = sum / float64(k)
		}
		x, tx, age, mbar = append(x, float64(k)), append(tx, last), append(age, T), append(mbar, m)
	}
	return x, tx, age, mbar
}

func ExampleFitBGNBD() {
	// 5,000 customers observed for 52 weeks; true r 0.5, α 6, a 0.7, b 3 (weeks).
	x, tx, T, _ := simulate(5000, 0.5, 6, 0.7, 3, 52)
	m, err := btyd.FitBGNBD(x, tx, T, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("r %.2f ± %.2f, alpha %.1f ± %.1f, a %.2f ± %.2f, b %.1f ± %.1f\n",
		m.R, m.StdErrors.R, m.Alpha, m.StdErrors.Alpha, m.A, m.StdErrors.A, m.B, m.StdErrors.B)
	// Output:
	// r 0.51 ± 0.01, alpha 6.2 ± 0.2, a 0.67 ± 0.07, b 2.7 ± 0.3
}

func ExampleFitGammaGamma() {
	x, _, _, mbar := simulate(5000, 0.5, 6, 0.7, 3, 52)
	g, err := btyd.FitGammaGamma(x, mbar, nil, nil) // customers with x = 0 are skipped
	if err != nil {
		fmt.Println(err)
		return
	}
	mean, _ := g.PopulationMeanSpend()
	fmt.Printf("%.0f repeat customers, mean spend per purchase %.0f\n", g.Customers, mean)
	fmt.Printf("expected spend, 1 purchase of 200: %.1f; 10 purchases averaging 200: %.1f\n",
		g.ConditionalExpectedSpend(1, 200), g.ConditionalExpectedSpend(10, 200))
	// Output:
	// 3430 repeat customers, mean spend per purchase 50
	// expected spend, 1 purchase of 200: 158.2; 10 purchases averaging 200: 194.4
}

func ExampleBGNBD_ConditionalExpectedPurchases() {
	// Parameters of Fader, Hardie & Lee (2005) on CDNOW, in weeks.
	m := btyd.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	// The paper's customer: 2 repeat purchases, the last at 30.43 weeks, observed 38.86 weeks.
	fmt.Printf("E[X(39) | 2, 30.43, 38.86] = %.3f\n", m.ConditionalExpectedPurchases(39, 2, 30.43, 38.86))
	fmt.Printf("P(alive) = %.3f\n", m.PAlive(2, 30.43, 38.86))
	// Output:
	// E[X(39) | 2, 30.43, 38.86] = 1.226
	// P(alive) = 0.727
}

func ExampleBGNBD_ProbPurchases() {
	m := btyd.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	for n := range 3 {
		fmt.Printf("P(X(39) = %d) = %.4f\n", n, m.ProbPurchases(n, 39))
	}
	fmt.Printf("E[X(39)] = %.4f\n", m.ExpectedPurchases(39))
	// Output:
	// P(X(39) = 0) = 0.5738
	// P(X(39) = 1) = 0.1994
	// P(X(39) = 2) = 0.0854
	// E[X(39)] = 1.1967
}

func ExampleLTVModel_Score() {
	m := btyd.LTVModel{
		PeriodDays:     7, // the models below were fitted in weeks
		HorizonDays:    365,
		AnnualDiscount: 0.1,
		BGNBD:          btyd.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
		GammaGamma:     btyd.GammaGamma{P: 6.25, Q: 3.74, V: 15.44},
	}
	s := m.Score(btyd.Summary{X: 2, TX: 30.43, T: 38.86, Monetary: 22.35})
	fmt.Printf("p_alive %.3f, purchases %.2f, spend %.2f, clv %.2f over %.0f days\n",
		s.PAlive, s.ExpectedPurchases, s.ExpectedSpendPerPurchase, s.CLV, s.HorizonDays)
	// Output:
	// p_alive 0.727, purchases 1.56, spend 24.66, clv 36.73 over 365 days
}

func ExampleSummarize() {
	day := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	purchases := []btyd.Purchase{
		{Time: day("2025-01-01"), Amount: 20},
		{Time: day("2025-01-01").Add(5 * time.Hour), Amount: 5}, // same day: one purchase of 25
		{Time: day("2025-01-15"), Amount: 30},
		{Time: day("2025-02-12"), Amount: 50},
		{Time: day("2025-04-01"), Amount: 99}, // on or after as-of: ignored
	}
	s, err := btyd.Summarize(purchases, day("2025-04-01"), btyd.Week)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("x %.0f, t_x %.2f weeks, T %.2f weeks, monetary %.0f\n", s.X, s.TX, s.T, s.Monetary)
	// Output:
	// x 2, t_x 6.00 weeks, T 12.71 weeks, monetary 40
}

func ExampleParsePeriod() {
	p, _ := btyd.ParsePeriod("month")
	fmt.Println(p, p.Days(), "days")
	// Output:
	// month 30.4375 days
}
