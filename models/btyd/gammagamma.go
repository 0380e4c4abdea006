package btyd

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma is a fitted Gamma-Gamma model of spend per purchase (Fader & Hardie 2013,
// "The Gamma-Gamma model of monetary value", http://brucehardie.com/notes/025/; the model
// is that of Colombo & Jiang 1999). A customer's purchase amounts are Gamma(p, ν) with
// ν ~ Gamma(q, γ) across customers; V is γ, in currency units.
type GammaGamma struct {
	P float64 `json:"p"`
	Q float64 `json:"q"`
	V float64 `json:"v"`

	// LogLikelihood is the maximised log-likelihood of the mean spends.
	LogLikelihood float64 `json:"log_likelihood"`

	// StdErrors are standard errors of P, Q, V, or nil when they could not be computed.
	StdErrors *GammaGammaStdErrors `json:"std_errors,omitempty"`

	// MeanSpend is the weighted mean of the customers' mean spends in the fitted data. It
	// is the expected spend of a customer without repeat purchases when Q <= 1 (the model's
	// population mean P·V/(Q−1) is then infinite).
	MeanSpend float64 `json:"mean_spend"`

	// Customers is the total weight of the fitted rows (customers with x > 0).
	Customers  float64 `json:"customers"`
	Iterations int     `json:"iterations"`
}

// GammaGammaStdErrors holds standard errors on the natural scale.
type GammaGammaStdErrors struct {
	P float64 `json:"p"`
	Q float64 `json:"q"`
	V float64 `json:"v"`
}

type ggData struct {
	xs    []float64 // distinct x, with rows start[k]:start[k+1]
	start []int
	wx    []float64
	w     []float64
	lm    []float64 // log mean spend
	m     []float64 // mean spend
	lx    []float64 // log x per distinct x
	n     float64
	mean  float64
}

// ggObjective returns the mean negative log-likelihood of the Gamma-Gamma model with its
// analytic gradient in (log p, log q, log γ). The density of the mean z̄ of x purchases is
//
//	f(z̄ | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) z̄^(px−1) / (γ + x z̄)^(px+q)
//
// (Fader & Hardie 2013, the marginal distribution of z̄ after integrating out ν).
func ggObjective(d *ggData) objective {
	type group struct{ x, pxm1, pxq float64 }
	return func(theta, grad []float64) float64 {
		for _, v := range theta {
			if !(math.Abs(v) <= maxLogParam) {
				for i := range grad {
					grad[i] = 0
				}
				return math.Inf(1)
			}
		}
		p, q, v := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2])
		lv := math.Log(v)
		lgq, _ := math.Lgamma(q)
		psq := mathext.Digamma(q)
		var ll, gp, gq, gv float64
		groups := make([]group, len(d.xs))
		for k, x := range d.xs {
			px := p * x
			lgpxq, _ := math.Lgamma(px + q)
			lgpx, _ := math.Lgamma(px)
			pspxq := mathext.Digamma(px + q)
			pspx := mathext.Digamma(px)
			wx := d.wx[k]
			lx := d.lx[k]
			ll += wx * (lgpxq - lgpx - lgq + q*lv + px*lx)
			gp += wx * x * (pspxq - pspx + lx)
			gq += wx * (pspxq - psq + lv)
			gv += wx * q / v
			groups[k] = group{x: x, pxm1: px - 1, pxq: px + q}
		}
		rows := func(lo, hi int) [5]float64 {
			var sll, sp, sq, sv float64
			k, _ := slices.BinarySearch(d.start, lo+1)
			k--
			for i := lo; i < hi; i++ {
				for i >= d.start[k+1] {
					k++
				}
				g := &groups[k]
				w := d.w[i]
				den := g.x*d.m[i] + v
				l := math.Log(den)
				sll += w * (g.pxm1*d.lm[i] - g.pxq*l)
				sp += w * g.x * (d.lm[i] - l)
				sq -= w * l
				sv -= w * g.pxq / den
			}
			return [5]float64{sll, sp, sq, sv}
		}
		acc := parallelSum(len(d.w), rows)
		ll += acc[0]
		gp += acc[1]
		gq += acc[2]
		gv += acc[3]
		if grad != nil {
			grad[0] = -p * gp / d.n
			grad[1] = -q * gq / d.n
			grad[2] = -v * gv / d.n
		}
		f := -ll / d.n
		if math.IsNaN(f) {
			for i := range grad {
				grad[i] = 0
			}
			return math.Inf(1)
		}
		return f
	}
}

// FitGammaGamma fits a Gamma-Gamma spend model by maximum likelihood to customers with x
// repeat purchases of mean value mbar (the mean over repeat purchases, as in the paper).
// Rows with x = 0 carry no information about spend and are skipped; every row with x > 0
// must have a finite mbar > 0 (an *InputError names the first that does not). Weights w
// count identical customers; nil means one each.
//
// The optimisation is BFGS over log-parameters with the analytic gradient from several
// deterministic starts (Settings.Starts, order p, q, γ). It returns ErrNoRepeat when no row
// has x > 0, a *FitError wrapping ErrBoundary for a degenerate estimate and a *FitError
// wrapping ErrNotConverged when no start converged.
func FitGammaGamma(x, mbar, w []float64, s *Settings) (*GammaGamma, error) {
	if len(mbar) != len(x) || (w != nil && len(w) != len(x)) {
		panic("btyd: length mismatch")
	}
	type row struct{ x, m, w float64 }
	var rows []row
	for i := range x {
		wi := 1.0
		if w != nil {
			wi = w[i]
			if !(wi >= 0) || math.IsInf(wi, 0) {
				return nil, &InputError{Field: "weight", Row: i, Value: wi, Want: "a finite number >= 0"}
			}
		}
		if !(x[i] >= 0) || x[i] != math.Trunc(x[i]) || x[i] > 1e9 {
			return nil, &InputError{Field: "x", Row: i, Value: x[i], Want: "a whole number of repeat purchases >= 0"}
		}
		if x[i] == 0 || wi == 0 {
			continue
		}
		if !(mbar[i] > 0) || math.IsInf(mbar[i], 0) {
			return nil, &InputError{Field: "monetary", Row: i, Value: mbar[i], Want: "a finite mean spend > 0"}
		}
		rows = append(rows, row{x[i], mbar[i], wi})
	}
	if len(rows) == 0 {
		if len(x) == 0 {
			return nil, ErrNoData
		}
		return nil, ErrNoRepeat
	}
	// Group by x so the gamma functions are evaluated once per distinct frequency.
	d := &ggData{}
	byX := map[float64][]row{}
	for _, r := range rows {
		byX[r.x] = append(byX[r.x], r)
	}
	for k := range byX {
		d.xs = append(d.xs, k)
	}
	slices.Sort(d.xs)
	var sum float64
	for _, k := range d.xs {
		d.start = append(d.start, len(d.w))
		var wx float64
		for _, r := range byX[k] {
			d.w = append(d.w, r.w)
			d.m = append(d.m, r.m)
			d.lm = append(d.lm, math.Log(r.m))
			wx += r.w
			sum += r.w * r.m
		}
		d.wx = append(d.wx, wx)
		d.lx = append(d.lx, math.Log(k))
		d.n += wx
	}
	d.start = append(d.start, len(d.w))
	d.mean = sum / d.n

	set := s.withDefaults()
	starts := set.Starts
	if starts == nil {
		starts = DefaultGammaGammaStarts(d.mean)
	}
	obj := ggObjective(d)
	theta, f, iters, err := minimize("gamma-gamma", obj, starts, set)
	if err != nil {
		return nil, err
	}
	m := &GammaGamma{
		P: math.Exp(theta[0]), Q: math.Exp(theta[1]), V: math.Exp(theta[2]),
		LogLikelihood: -f * d.n, MeanSpend: d.mean, Customers: d.n, Iterations: iters,
	}
	if !set.SkipStdErrors {
		if se := stdErrors(obj, theta, d.n); se != nil {
			m.StdErrors = &GammaGammaStdErrors{P: se[0], Q: se[1], V: se[2]}
		}
	}
	return m, nil
}

// DefaultGammaGammaStarts returns the deterministic starts (p, q, γ) used by FitGammaGamma
// for data whose mean spend is mean: the customary all-ones start and two starts whose
// population mean p·γ/(q−1) equals the observed mean.
func DefaultGammaGammaStarts(mean float64) [][]float64 {
	if !(mean > 0) || math.IsInf(mean, 0) {
		mean = 1
	}
	return [][]float64{
		{1, 1, 1},
		{1, 2, mean},
		{5, 5, 4 * mean / 5},
	}
}

// ConditionalExpectedSpend returns the expected spend per purchase of a customer with x
// repeat purchases of mean mbar (Fader & Hardie 2013, eq. 5):
//
//	E[Z | p, q, γ, x, z̄] = p (γ + x z̄) / (p x + q − 1)
//
// a weighted mean of the population mean pγ/(q−1) and z̄. Fallbacks, never NaN: when the
// denominator is not positive (q <= 1 with little data) it returns z̄ for x > 0 and
// MeanSpend for x = 0.
func (g *GammaGamma) ConditionalExpectedSpend(x, mbar float64) float64 {
	if x <= 0 || !(mbar > 0) || math.IsInf(mbar, 0) {
		x, mbar = 0, 0
	}
	den := g.P*x + g.Q - 1
	if !(den > 0) {
		if x > 0 {
			return mbar
		}
		return g.MeanSpend
	}
	e := g.P * (g.V + x*mbar) / den
	if !(e >= 0) || math.IsInf(e, 0) {
		return g.MeanSpend
	}
	return e
}

// PopulationMeanSpend returns the model's mean spend per purchase pγ/(q−1), or
// ErrInfiniteMean when q <= 1.
func (g *GammaGamma) PopulationMeanSpend() (float64, error) {
	if !(g.Q > 1) {
		return 0, ErrInfiniteMean
	}
	return g.P * g.V / (g.Q - 1), nil
}
