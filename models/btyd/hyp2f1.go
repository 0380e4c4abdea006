package btyd

import "math"

// maxHypTerms caps the series of logHyp2f1. It is reached only for z within about 1e-5 of
// 1 together with slowly decaying terms (a horizon tens of thousands of times α+T).
const maxHypTerms = 1_000_000

// logHyp2f1 returns log ₂F₁(a, b; c; z) for 0 <= z < 1 and c > 0, or NaN when the value is
// not positive. See signedLogHyp2f1.
func logHyp2f1(a, b, c, z float64) float64 {
	l, sign := signedLogHyp2f1(a, b, c, z)
	if sign <= 0 {
		return math.NaN()
	}
	return l
}

// signedLogHyp2f1 returns log |₂F₁(a, b; c; z)| and the sign of ₂F₁ (+1, −1, or 0 when it is
// zero or undefined) for 0 <= z < 1 and c not a non-positive integer, by summing the Gauss
// series Σ (a)_n (b)_n / ((c)_n n!) zⁿ (Abramowitz & Stegun 15.1.1) with rescaling, so
// neither large parameters nor values near z = 1 overflow. The sum is stopped when the
// geometric bound on the remaining terms falls below 1e-16 of the total.
//
// The value is negative for some BG/NBD arguments: for a customer with no repeat purchase
// (x = 0) and a + b < 1, c = a + b − 1 is negative (see ConditionalExpectedPurchases).
//
// gonum's mathext.Hypergeo (Cephes) is not used: for parameters in the hundreds with z near
// 1 it can take minutes.
func signedLogHyp2f1(a, b, c, z float64) (float64, float64) {
	if z == 0 {
		return 0, 1
	}
	if c <= 0 && c == math.Floor(c) {
		return math.NaN(), 0
	}
	sum, term := 1.0, 1.0
	logScale := 0.0
	for n := 0.0; n < maxHypTerms; n++ {
		ratio := (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		term *= ratio
		sum += term
		if term == 0 {
			break
		}
		if math.Abs(sum) > 1e250 {
			sum *= 1e-250
			term *= 1e-250
			logScale += 250 * math.Ln10
		}
		// Past the point where the ratio is below one and decreasing in magnitude, the
		// remaining terms are bounded by a geometric series of ratio ρ.
		if n > math.Abs(a)+math.Abs(b) {
			rho := math.Abs((a + n + 1) * (b + n + 1) / ((c + n + 1) * (n + 2)) * z)
			if rho < 1 && math.Abs(term)*rho/(1-rho) <= 1e-16*math.Abs(sum) {
				break
			}
		}
	}
	switch {
	case sum > 0:
		return math.Log(sum) + logScale, 1
	case sum < 0:
		return math.Log(-sum) + logScale, -1
	}
	return math.NaN(), 0
}
