package ltv_test

import (
	"fmt"

	"github.com/propensity-dev/propensity/models/btyd"
)

// # 1. BG/NBD at the paper's parameters
//
// Fader, Hardie & Lee (2005) fit BG/NBD to the CDNOW sample in weeks: r = 0.243,
// α = 4.414, a = 0.793, b = 2.426. A customer who made x = 2 repeat purchases, the last at
// t_x = 30.43 weeks after the first, observed for T = 38.86 weeks, is expected to make 1.226
// purchases in the next 39 weeks (section 4 of the paper), and a new customer makes none
// in 39 weeks with probability 0.5737864 (lifetimes test suite, from R BTYD).
func Example_paperParameters() {
	m := &btyd.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	fmt.Printf("E[X(39) | x=2, t_x=30.43, T=38.86] = %.3f\n", m.ConditionalExpectedPurchases(39, 2, 30.43, 38.86))
	fmt.Printf("P(alive | x=2, t_x=30.43, T=38.86) = %.3f\n", m.PAlive(2, 30.43, 38.86))

	// The same customer had he stopped buying early (t_x = 5): far less likely alive.
	fmt.Printf("P(alive | x=2, t_x=5, T=38.86)     = %.3f\n", m.PAlive(2, 5, 38.86))

	// A new customer, before any data: expected purchases in the first 39 weeks.
	fmt.Printf("E[X(39)] for a new customer        = %.3f\n", m.ExpectedPurchases(39))
	fmt.Printf("P(X(39) = 0) for a new customer    = %.7f\n", m.ProbPurchases(0, 39))

	// Gamma-Gamma at the paper's values (Fader & Hardie 2013): p = 6.25, q = 3.74,
	// γ = 15.44. The population mean spend per purchase is pγ/(q−1); a customer's own mean
	// is shrunk toward it, the more so the fewer purchases we saw.
	g := &btyd.GammaGamma{P: 6.25, Q: 3.74, V: 15.44}
	pop, err := g.PopulationMeanSpend()
	if err != nil {
		panic(err)
	}
	fmt.Printf("\npopulation mean spend              = %.2f\n", pop)
	for _, x := range []float64{1, 5, 20} {
		fmt.Printf("E[spend | x=%2.0f, mean $100]         = %.2f\n", x, g.ConditionalExpectedSpend(x, 100))
	}
	// Output:
	// E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
	// P(alive | x=2, t_x=30.43, T=38.86) = 0.727
	// P(alive | x=2, t_x=5, T=38.86)     = 0.124
	// E[X(39)] for a new customer        = 1.197
	// P(X(39) = 0) for a new customer    = 0.5737864
	//
	// population mean spend              = 35.22
	// E[spend | x= 1, mean $100]         = 80.26
	// E[spend | x= 5, mean $100]         = 94.78
	// E[spend | x=20, mean $100]         = 98.61
}
