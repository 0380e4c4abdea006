package btyd

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// simulateBGNBD draws n customers from the BG/NBD process of Fader, Hardie & Lee (2005),
// section 2: rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b); purchases are a Poisson process
// with rate λ from the first purchase at time 0, and after each repeat purchase the
// customer drops out with probability p. Customers are observed for T ~ U(Tmin, Tmax).
// Monetary: each purchase ~ Gamma(pp, ν), ν ~ Gamma(q, γ) (Fader & Hardie 2013).
func simulateBGNBD(src rand.Source, n int, r, alpha, a, b, tMin, tMax float64) (x, tx, T, mbar []float64) {
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: r, Beta: alpha, Src: src}
	pa := distuv.Gamma{Alpha: a, Beta: 1, Src: src}
	pb := distuv.Gamma{Alpha: b, Beta: 1, Src: src}
	nu := distuv.Gamma{Alpha: 3.7, Beta: 15, Src: src}
	for range n {
		l := lam.Rand()
		ga, gb := pa.Rand(), pb.Rand()
		p := ga / (ga + gb)
		age := tMin + (tMax-tMin)*rng.Float64()
		spend := distuv.Gamma{Alpha: 6, Beta: nu.Rand(), Src: src}
		var t, last, sum float64
		k := 0
		for {
			t += rng.ExpFloat64() / l
			if t > age || math.IsInf(t, 0) {
				break
			}
			k++
			last = t
			sum += spend.Rand()
			if rng.Float64() < p {
				break
			}
		}
		x = append(x, float64(k))
		tx = append(tx, last)
		T = append(T, age)
		m := 0.0
		if k > 0 {
			m = sum / float64(k)
		}
		mbar = append(mbar, m)
	}
	return x, tx, T, mbar
}
