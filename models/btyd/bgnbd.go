package btyd

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD is a fitted beta-geometric/negative-binomial distribution model of repeat
// purchasing (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an
// alternative to the Pareto/NBD model", Marketing Science 24(2):275-284).
//
// While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
// purchase they drop out with probability p ~ Beta(a, b). α is in the model's Period.
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`

	// LogLikelihood is the maximised log-likelihood, eq. (6) of the paper summed over
	// customers (with weights).
	LogLikelihood float64 `json:"log_likelihood"`

	// StdErrors are the asymptotic standard errors of R, Alpha, A, B (in that order) from
	// the observed information, or nil when they could not be computed.
	StdErrors *BGNBDStdErrors `json:"std_errors,omitempty"`

	// Customers is the total weight of the fitted rows; Rows the number of distinct
	// (x, t_x, T) rows after collapsing; Iterations the BFGS iterations over all starts.
	Customers  float64 `json:"customers"`
	Rows       int     `json:"rows"`
	Iterations int     `json:"iterations"`
}

// BGNBDStdErrors holds standard errors on the natural scale.
type BGNBDStdErrors struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// bgData is BG/NBD input collapsed into distinct rows, grouped by frequency x, with the
// distinct values of T and t_x tabulated so that logarithms are taken once per value.
type bgData struct {
	xs    []float64 // distinct frequencies, ascending
	wx    []float64 // total weight per distinct frequency
	start []int     // rows of xs[k] are start[k]:start[k+1]
	w     []float64 // row weights
	ti    []int32   // row → index into tv
	txi   []int32   // row → index into txv
	tv    []float64 // distinct T
	txv   []float64 // distinct t_x
	n     float64   // total weight
	meanT float64
	meanX float64
}

type bgKey struct{ x, tx, T float64 }

// collapseBG validates the input and collapses identical (x, t_x, T) rows into weights.
func collapseBG(x, tx, T, w []float64) (*bgData, error) {
	if len(tx) != len(x) || len(T) != len(x) || (w != nil && len(w) != len(x)) {
		panic("btyd: length mismatch")
	}
	idx := make(map[bgKey]int32, min(len(x), 1<<16))
	type row struct {
		k bgKey
		w float64
	}
	var rows []row
	for i := range x {
		wi := 1.0
		if w != nil {
			wi = w[i]
			if !(wi >= 0) || math.IsInf(wi, 0) {
				return nil, &InputError{Field: "weight", Row: i, Value: wi, Want: "a finite number >= 0"}
			}
			if wi == 0 {
				continue
			}
		}
		if err := checkXTxT(i, x[i], tx[i], T[i]); err != nil {
			return nil, err
		}
		k := bgKey{x[i], tx[i], T[i]}
		if j, ok := idx[k]; ok {
			rows[j].w += wi
			continue
		}
		idx[k] = int32(len(rows))
		rows = append(rows, row{k, wi})
	}
	if len(rows) == 0 {
		return nil, ErrNoData
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.k.x, b.k.x), cmp.Compare(a.k.T, b.k.T), cmp.Compare(a.k.tx, b.k.tx))
	})
	d := &bgData{w: make([]float64, len(rows)), ti: make([]int32, len(rows)), txi: make([]int32, len(rows))}
	tIdx := map[float64]int32{}
	txIdx := map[float64]int32{}
	var sumT, sumX float64
	for i, r := range rows {
		if i == 0 || r.k.x != rows[i-1].k.x {
			d.xs = append(d.xs, r.k.x)
			d.wx = append(d.wx, 0)
			d.start = append(d.start, i)
		}
		d.wx[len(d.wx)-1] += r.w
		d.w[i] = r.w
		j, ok := tIdx[r.k.T]
		if !ok {
			j = int32(len(d.tv))
			tIdx[r.k.T] = j
			d.tv = append(d.tv, r.k.T)
		}
		d.ti[i] = j
		j, ok = txIdx[r.k.tx]
		if !ok {
			j = int32(len(d.txv))
			txIdx[r.k.tx] = j
			d.txv = append(d.txv, r.k.tx)
		}
		d.txi[i] = j
		d.n += r.w
		sumT += r.w * r.k.T
		sumX += r.w * r.k.x
	}
	d.start = append(d.start, len(rows))
	d.meanT = sumT / d.n
	d.meanX = sumX / d.n
	if d.xs[len(d.xs)-1] == 0 {
		return nil, ErrNoRepeat
	}
	return d, nil
}

// checkXTxT validates one customer summary.
func checkXTxT(i int, x, tx, T float64) error {
	switch {
	case !(x >= 0) || x != math.Trunc(x) || x > 1e9:
		return &InputError{Field: "x", Row: i, Value: x, Want: "a whole number of repeat purchases >= 0"}
	case !(T >= 0) || math.IsInf(T, 0):
		return &InputError{Field: "T", Row: i, Value: T, Want: "a finite age >= 0"}
	case !(tx >= 0) || tx > T:
		return &InputError{Field: "t_x", Row: i, Value: tx, Want: "a recency in [0, T]"}
	case x == 0 && tx != 0:
		return &InputError{Field: "t_x", Row: i, Value: tx, Want: "0 for a customer without repeat purchases"}
	}
	return nil
}

// bgObjective returns the mean negative BG/NBD log-likelihood with its analytic gradient in
// the log-parameters (log r, log α, log a, log b).
//
// Per customer, with the paper's eq. (6) written as in its appendix:
//
//	ln L = A1 + A2 + ln(exp(A3) + δ(x>0) exp(A4))
//	A1 = lnΓ(r+x) − lnΓ(r) + r ln α
//	A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	A3 = −(r+x) ln(α+T)
//	A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)
//
// A1 and A2 depend on x only and are computed once per distinct frequency.
func bgObjective(d *bgData) objective {
	type group struct {
		rx, la4, ib float64
		zero        bool
	}
	return func(theta, grad []float64) float64 {
		for _, v := range theta {
			if !(math.Abs(v) <= maxLogParam) {
				for i := range grad {
					grad[i] = 0
				}
				return math.Inf(1)
			}
		}
		r, alpha, a, b := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
		// Scratch is allocated per call so that concurrent evaluations are safe.
		lT := make([]float64, len(d.tv))
		iT := make([]float64, len(d.tv))
		lTx := make([]float64, len(d.txv))
		iTx := make([]float64, len(d.txv))
		for i, t := range d.tv {
			lT[i] = math.Log(alpha + t)
			iT[i] = 1 / (alpha + t)
		}
		for i, t := range d.txv {
			lTx[i] = math.Log(alpha + t)
			iTx[i] = 1 / (alpha + t)
		}
		la := math.Log(alpha)
		lgr, _ := math.Lgamma(r)
		lgab, _ := math.Lgamma(a + b)
		lgb, _ := math.Lgamma(b)
		psr, psab, psb := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
		var ll, gr, gal, ga, gb float64
		groups := make([]group, len(d.xs))
		for k, x := range d.xs {
			wx := d.wx[k]
			rx := r + x
			lgrx, _ := math.Lgamma(rx)
			lgbx, _ := math.Lgamma(b + x)
			lgabx, _ := math.Lgamma(a + b + x)
			ll += wx * (lgrx - lgr + r*la + lgab + lgbx - lgb - lgabx)
			psabx := mathext.Digamma(a + b + x)
			gr += wx * (mathext.Digamma(rx) - psr + la)
			gal += wx * r / alpha
			ga += wx * (psab - psabx)
			gb += wx * (psab + mathext.Digamma(b+x) - psb - psabx)
			groups[k] = group{rx: rx, zero: x == 0}
			if x > 0 {
				groups[k].la4 = math.Log(a) - math.Log(b+x-1)
				groups[k].ib = 1 / (b + x - 1)
			}
		}
		// Per row: ln(e^A3 + δ e^A4) and its derivatives, with π3 = e^(A3−D), π4 = e^(A4−D).
		rows := func(lo, hi int) [5]float64 {
			var sll, sr, sal, s4, sb float64
			k, _ := slices.BinarySearch(d.start, lo+1)
			k-- // group of row lo: start[k] <= lo < start[k+1]
			for i := lo; i < hi; i++ {
				for i >= d.start[k+1] {
					k++
				}
				g := &groups[k]
				w, t := d.w[i], d.ti[i]
				a3 := -g.rx * lT[t]
				if g.zero {
					sll += w * a3
					sr -= w * lT[t]
					sal -= w * g.rx * iT[t]
					continue
				}
				u := d.txi[i]
				a4 := g.la4 - g.rx*lTx[u]
				var D, p3, p4 float64
				if a4 > a3 {
					e := math.Exp(a3 - a4)
					D = a4 + math.Log(1+e) // 1+e in (1, 2]: no precision lost
					p3 = e / (1 + e)
					p4 = 1 / (1 + e)
				} else {
					e := math.Exp(a4 - a3)
					D = a3 + math.Log(1+e)
					p3 = 1 / (1 + e)
					p4 = e / (1 + e)
				}
				sll += w * D
				sr -= w * (p3*lT[t] + p4*lTx[u])
				sal -= w * g.rx * (p3*iT[t] + p4*iTx[u])
				s4 += w * p4
				sb -= w * p4 * g.ib
			}
			return [5]float64{sll, sr, sal, s4, sb}
		}
		acc := parallelSum(len(d.w), rows)
		ll += acc[0]
		gr += acc[1]
		gal += acc[2]
		ga += acc[3] / a
		gb += acc[4]
		if grad != nil {
			// d(−LL/n)/d log θ = −θ ∂LL/∂θ / n
			grad[0] = -r * gr / d.n
			grad[1] = -alpha * gal / d.n
			grad[2] = -a * ga / d.n
			grad[3] = -b * gb / d.n
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

// FitBGNBD fits a BG/NBD model by maximum likelihood to customers with x repeat purchases,
// recency tx (time from the first to the last purchase) and age T (time from the first
// purchase to the end of calibration), tx and T in the model's period. Weights w count
// identical customers; nil means one each. Identical (x, tx, T) rows are collapsed before
// fitting, so passing raw per-customer rows costs little.
//
// The likelihood (eq. 6 of Fader, Hardie & Lee 2005) is maximised over log-parameters by
// BFGS with its analytic gradient from several deterministic starts (Settings.Starts); the
// best converged start wins. It returns ErrNoData when there are no customers, ErrNoRepeat
// when nobody purchased twice, an *InputError for invalid rows, a *FitError wrapping
// ErrBoundary when the best estimate runs off to a degenerate model, and a *FitError wrapping
// ErrNotConverged when no start converged.
func FitBGNBD(x, tx, T, w []float64, s *Settings) (*BGNBD, error) {
	d, err := collapseBG(x, tx, T, w)
	if err != nil {
		return nil, err
	}
	set := s.withDefaults()
	starts := set.Starts
	if starts == nil {
		starts = DefaultBGNBDStarts(d.meanX, d.meanT)
	}
	obj := bgObjective(d)
	theta, f, iters, err := minimize("bgnbd", obj, starts, set)
	if err != nil {
		return nil, err
	}
	m := &BGNBD{
		R: math.Exp(theta[0]), Alpha: math.Exp(theta[1]), A: math.Exp(theta[2]), B: math.Exp(theta[3]),
		LogLikelihood: -f * d.n, Customers: d.n, Rows: len(d.w), Iterations: iters,
	}
	if !set.SkipStdErrors {
		if se := stdErrors(obj, theta, d.n); se != nil {
			m.StdErrors = &BGNBDStdErrors{R: se[0], Alpha: se[1], A: se[2], B: se[3]}
		}
	}
	return m, nil
}

// DefaultBGNBDStarts returns the deterministic starting points (r, α, a, b) FitBGNBD uses
// for data with mean frequency meanX and mean age meanT: the all-ones start customary for
// this model, and starts whose purchase rate r/α matches the observed mean rate with low
// and high dropout.
func DefaultBGNBDStarts(meanX, meanT float64) [][]float64 {
	rate := (meanX + 0.5) / math.Max(meanT, 1e-3) // purchases per period, kept positive
	return [][]float64{
		{1, 1, 1, 1},
		{0.5, 0.5 / rate, 0.5, 3},
		{2, 2 / rate, 1.5, 1},
	}
}

// LogLikelihoodRow returns the log-likelihood of one customer (eq. 6 of the paper).
func (m *BGNBD) LogLikelihoodRow(x, tx, T float64) float64 {
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	lgrx, _ := math.Lgamma(r + x)
	lgr, _ := math.Lgamma(r)
	a1 := lgrx - lgr + r*math.Log(al)
	a2 := mathext.Lbeta(a, b+x) - mathext.Lbeta(a, b)
	a3 := -(r + x) * math.Log(al+T)
	if x == 0 {
		return a1 + a2 + a3
	}
	// B(a, b+x) rewritten: a2 + A4 uses B(a+1, b+x−1)/B(a,b) = B(a,b+x)/B(a,b) · a/(b+x−1).
	a4 := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(al+tx)
	return a1 + a2 + logAddExp(a3, a4)
}

func logAddExp(u, v float64) float64 {
	if u < v {
		u, v = v, u
	}
	if math.IsInf(u, -1) {
		return u
	}
	return u + math.Log1p(math.Exp(v-u))
}

// PAlive returns the probability that a customer with history (x, tx, T) is still alive at
// T (Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD model", eq. 1):
//
//	P(alive) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// evaluated in log space so it neither overflows nor returns NaN for large x.
func (m *BGNBD) PAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	z := math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	return 1 / (1 + math.Exp(z))
}

// ExpectedPurchases returns E[X(t)], the expected number of purchases in (0, t] of a
// customer picked at random at their first purchase (eq. 9 of the paper).
func (m *BGNBD) ExpectedPurchases(t float64) float64 {
	return m.ConditionalExpectedPurchases(t, 0, 0, 0)
}

// ConditionalExpectedPurchases returns E[Y(t) | x, t_x, T], the expected number of purchases
// in (T, T+t] of a customer with history (x, t_x, T) (eq. 10 of the paper):
//
//	E = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)] · P(alive)
//
// with z = t/(α+T+t). Euler's transformation ₂F₁(A,B;C;z) = (1−z)^(C−A−B) ₂F₁(C−A,C−B;C;z)
// (Abramowitz & Stegun 15.3.3) turns the bracket into 1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1;
// a+b+x−1; z), whose parameters do not grow with x: no overflow for large frequencies.
// At a = 1 the expression is 0/0; within 1e-5 of it, it is evaluated as the mean of the
// values at a = 1 ± 1e-5. For x = 0 and a + b < 1 the ₂F₁ has a negative c = a+b−1 and a
// negative value (the prefactor is then negative too); at a + b = 1 it has a pole, and within
// 1e-5 of it the mean of the values at b ± 1e-5 is used.
func (m *BGNBD) ConditionalExpectedPurchases(t, x, tx, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	const eps = 1e-5
	at := func(b float64) float64 {
		if math.Abs(m.A-1) < eps {
			return (m.condExp(1-eps, b, t, x, T) + m.condExp(1+eps, b, t, x, T)) / 2
		}
		return m.condExp(m.A, b, t, x, T)
	}
	var e float64
	if math.Abs(m.A+m.B+x-1) < eps {
		e = (at(m.B-eps) + at(m.B+eps)) / 2
	} else {
		e = at(m.B)
	}
	e *= m.PAlive(x, tx, T)
	if !(e >= 0) || math.IsInf(e, 0) {
		return 0
	}
	return e
}

// condExp is eq. (10) without its P(alive) factor, at given values of a and b.
func (m *BGNBD) condExp(a, b, t, x, T float64) float64 {
	r, al := m.R, m.Alpha
	z := t / (al + T + t)
	l1z := math.Log(al+T) - math.Log(al+T+t) // log(1−z)
	lf, sign := signedLogHyp2f1(a+b-1-r, a-1, a+b+x-1, z)
	var bracket float64
	switch sign {
	case 1:
		bracket = -math.Expm1((a-1)*l1z + lf)
	case -1:
		bracket = 1 + math.Exp((a-1)*l1z+lf)
	default:
		return math.NaN()
	}
	return (a + b + x - 1) / (a - 1) * bracket
}

// ProbPurchases returns P(X(t) = n), the probability that a customer picked at random at
// their first purchase makes exactly n purchases in (0, t] (eq. 8 of the paper). The
// negative-binomial tail 1 − Σ_{j<n} NBD(j) in its second term is the regularised incomplete
// beta function I_{t/(α+t)}(n, r), which avoids cancellation.
func (m *BGNBD) ProbPurchases(n int, t float64) float64 {
	if n < 0 {
		return 0
	}
	r, al, a, b := m.R, m.Alpha, m.A, m.B
	if !(t > 0) {
		if n == 0 {
			return 1
		}
		return 0
	}
	fn := float64(n)
	lbab := mathext.Lbeta(a, b)
	lgrn, _ := math.Lgamma(r + fn)
	lgr, _ := math.Lgamma(r)
	lgn1, _ := math.Lgamma(fn + 1)
	lp := math.Log(al) - math.Log(al+t) // log(α/(α+t))
	lq := math.Log(t) - math.Log(al+t)  // log(t/(α+t))
	p := math.Exp(mathext.Lbeta(a, b+fn) - lbab + lgrn - lgr - lgn1 + r*lp + fn*lq)
	if n > 0 {
		tail := mathext.RegIncBeta(fn, r, t/(al+t))
		p += math.Exp(mathext.Lbeta(a+1, b+fn-1)-lbab) * tail
	}
	if !(p >= 0) {
		return 0
	}
	return math.Min(p, 1)
}
