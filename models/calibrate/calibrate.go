package calibrate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Methods.
const (
	Platt    = "platt"
	Isotonic = "isotonic"
)

// Errors.
var (
	ErrOneClass = errors.New("calibrate: calibration data hold a single class")
	ErrTooFew   = errors.New("calibrate: too few calibration rows")
	ErrNumeric  = errors.New("calibrate: fit failed numerically")
	ErrCorrupt  = errors.New("calibrate: corrupt calibrator")
)

// Clip bounds calibrated probabilities to [Clip, 1−Clip], so that an isotonic block of all
// negatives does not predict an impossible 0.
const Clip = 1e-6

// Calibrator maps a log-odds score to a probability. Its exported fields are its JSON state.
type Calibrator struct {
	Method string `json:"method"` // platt or isotonic

	// Platt: p = σ(A·z + B).
	A float64 `json:"a,omitempty"`
	B float64 `json:"b,omitempty"`

	// Isotonic: a non-decreasing piecewise-linear function through (X[i], Y[i]), X
	// ascending; constant beyond the ends.
	X []float64 `json:"x,omitempty"`
	Y []float64 `json:"y,omitempty"`
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func classes(y, w []float64) (pos, neg float64) {
	for i := range y {
		if y[i] == 1 {
			pos += wt(w, i)
		} else {
			neg += wt(w, i)
		}
	}
	return pos, neg
}

// FitPlatt fits p = σ(A·z + B) by maximum likelihood against Platt's smoothed targets
// (N₊+1)/(N₊+2) and 1/(N₋+2) (Platt 1999), by Newton's method with backtracking as in Lin,
// Lin & Weng 2007, "A note on Platt's probabilistic outputs for support vector machines".
func FitPlatt(z, y, w []float64) (*Calibrator, error) {
	if len(z) != len(y) || (w != nil && len(w) != len(y)) {
		panic("calibrate: length mismatch")
	}
	pos, neg := classes(y, w)
	if pos <= 0 || neg <= 0 {
		return nil, ErrOneClass
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	t := make([]float64, len(y))
	for i := range y {
		if y[i] == 1 {
			t[i] = hi
		} else {
			t[i] = lo
		}
	}
	obj := func(a, b float64) float64 {
		var f float64
		for i := range z {
			v := a*z[i] + b
			// −[t log σ(v) + (1−t) log(1−σ(v))] = log(1+e^v) − t v, stably.
			f += wt(w, i) * (math.Max(v, 0) + math.Log1p(math.Exp(-math.Abs(v))) - t[i]*v)
		}
		return f
	}
	a, b := 1.0, 0.0 // start at the identity: the model's own probabilities
	f := obj(a, b)
	for iter := 0; iter < 100; iter++ {
		var g1, g2, h11, h22, h21 float64
		for i := range z {
			p := sigmoid(a*z[i] + b)
			wi := wt(w, i)
			d := wi * (p - t[i])
			g1 += d * z[i]
			g2 += d
			s := wi * math.Max(p*(1-p), 1e-12)
			h11 += s * z[i] * z[i]
			h22 += s
			h21 += s * z[i]
		}
		if math.Abs(g1) < 1e-9 && math.Abs(g2) < 1e-9 {
			break
		}
		h11 += 1e-12
		h22 += 1e-12
		det := h11*h22 - h21*h21
		if !(det > 0) {
			return nil, fmt.Errorf("%w: singular Hessian (are all scores equal?)", ErrNumeric)
		}
		da := -(h22*g1 - h21*g2) / det
		db := -(-h21*g1 + h11*g2) / det
		gd := g1*da + g2*db
		step := 1.0
		for ; step >= 1e-10; step /= 2 {
			na, nb := a+step*da, b+step*db
			nf := obj(na, nb)
			if nf < f+1e-4*step*gd {
				a, b, f = na, nb, nf
				break
			}
		}
		if step < 1e-10 {
			break // no further decrease: at the optimum up to rounding
		}
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return nil, ErrNumeric
	}
	return &Calibrator{Method: Platt, A: a, B: b}, nil
}

// FitIsotonic fits the non-decreasing function of z closest to y in weighted least squares
// by the pool-adjacent-violators algorithm (Ayer et al. 1955; Zadrozny & Elkan 2002 for its
// use in calibration). Equal scores are pooled first.
func FitIsotonic(z, y, w []float64) (*Calibrator, error) {
	if len(z) != len(y) || (w != nil && len(w) != len(y)) {
		panic("calibrate: length mismatch")
	}
	pos, neg := classes(y, w)
	if pos <= 0 || neg <= 0 {
		return nil, ErrOneClass
	}
	idx := make([]int, len(z))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return z[idx[a]] < z[idx[b]] })
	type block struct{ lo, hi, sum, w float64 }
	var st []block
	for k := 0; k < len(idx); {
		j := k
		b := block{lo: z[idx[k]], hi: z[idx[k]]}
		for j < len(idx) && z[idx[j]] == z[idx[k]] {
			wi := wt(w, idx[j])
			b.sum += wi * y[idx[j]]
			b.w += wi
			j++
		}
		k = j
		if b.w <= 0 {
			continue
		}
		st = append(st, b)
		for len(st) > 1 {
			top, prev := st[len(st)-1], st[len(st)-2]
			if prev.sum/prev.w < top.sum/top.w {
				break
			}
			st = st[:len(st)-2]
			st = append(st, block{lo: prev.lo, hi: top.hi, sum: prev.sum + top.sum, w: prev.w + top.w})
		}
	}
	c := &Calibrator{Method: Isotonic}
	for _, b := range st {
		v := b.sum / b.w
		c.X = append(c.X, b.lo)
		c.Y = append(c.Y, v)
		if b.hi > b.lo {
			c.X = append(c.X, b.hi)
			c.Y = append(c.Y, v)
		}
	}
	return c, nil
}

// Apply returns the calibrated probability of log-odds z.
func (c *Calibrator) Apply(z float64) float64 {
	var p float64
	switch c.Method {
	case Platt:
		p = sigmoid(c.A*z + c.B)
	case Isotonic:
		n := len(c.X)
		switch {
		case n == 0:
			p = sigmoid(z)
		case z <= c.X[0]:
			p = c.Y[0]
		case z >= c.X[n-1]:
			p = c.Y[n-1]
		default:
			k := sort.SearchFloat64s(c.X, z) // c.X[k-1] < z <= c.X[k]
			x0, x1 := c.X[k-1], c.X[k]
			f := (z - x0) / (x1 - x0)
			p = c.Y[k-1] + f*(c.Y[k]-c.Y[k-1])
		}
	default:
		p = sigmoid(z)
	}
	if math.IsNaN(p) {
		p = 0.5
	}
	return math.Min(math.Max(p, Clip), 1-Clip)
}

// ApplyAll returns the calibrated probabilities of every score in z.
func (c *Calibrator) ApplyAll(z []float64) []float64 {
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = c.Apply(v)
	}
	return out
}

// Validate checks decoded state.
func (c *Calibrator) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch c.Method {
	case Platt:
		if bad(c.A) || bad(c.B) {
			return fmt.Errorf("%w: non-finite Platt parameters", ErrCorrupt)
		}
	case Isotonic:
		if len(c.X) == 0 || len(c.X) != len(c.Y) {
			return fmt.Errorf("%w: %d knots and %d values", ErrCorrupt, len(c.X), len(c.Y))
		}
		for i := range c.X {
			if bad(c.X[i]) || !(c.Y[i] >= 0 && c.Y[i] <= 1) || (i > 0 && (c.X[i] < c.X[i-1] || c.Y[i] < c.Y[i-1])) {
				return fmt.Errorf("%w: isotonic knot %d is out of order or range", ErrCorrupt, i)
			}
		}
	default:
		return fmt.Errorf("%w: unknown method %q", ErrCorrupt, c.Method)
	}
	return nil
}

// Choice records how Select chose.
type Choice struct {
	Method string             `json:"method"`
	Folds  int                `json:"folds"`
	Loss   map[string]float64 `json:"cv_log_loss"` // cross-validated log loss per method
}

// Select fits Platt and isotonic calibrators on scores z with labels y, compares them by
// K-fold cross-validated log loss (K = folds, 5 when <= 1; folds drawn from src), and
// returns the better method refitted on all rows. Isotonic regression, being more flexible,
// wins only when it predicts held-out rows better.
func Select(z, y, w []float64, folds int, src rand.Source) (*Calibrator, Choice, error) {
	if len(z) != len(y) || (w != nil && len(w) != len(y)) {
		panic("calibrate: length mismatch")
	}
	if folds <= 1 {
		folds = 5
	}
	ch := Choice{Folds: folds, Loss: map[string]float64{}}
	pos, neg := classes(y, w)
	if pos <= 0 || neg <= 0 {
		return nil, ch, ErrOneClass
	}
	if len(z) < 2*folds {
		return nil, ch, fmt.Errorf("%w: %d rows for %d folds", ErrTooFew, len(z), folds)
	}
	rng := rand.New(src)
	perm := rng.Perm(len(z))
	fold := make([]int, len(z))
	for r, i := range perm {
		fold[i] = r % folds
	}
	fits := map[string]func(z, y, w []float64) (*Calibrator, error){Platt: FitPlatt, Isotonic: FitIsotonic}
	for _, m := range []string{Platt, Isotonic} {
		var loss, wsum float64
		for k := range folds {
			var tz, ty, tw, hz, hy, hw []float64
			for i := range z {
				if fold[i] == k {
					hz, hy, hw = append(hz, z[i]), append(hy, y[i]), append(hw, wt(w, i))
				} else {
					tz, ty, tw = append(tz, z[i]), append(ty, y[i]), append(tw, wt(w, i))
				}
			}
			c, err := fits[m](tz, ty, tw)
			if errors.Is(err, ErrOneClass) {
				continue // a tiny fold with one class: skip it for both methods alike
			}
			if err != nil {
				return nil, ch, err
			}
			for i := range hz {
				p := c.Apply(hz[i])
				if hy[i] == 1 {
					loss -= hw[i] * math.Log(p)
				} else {
					loss -= hw[i] * math.Log1p(-p)
				}
				wsum += hw[i]
			}
		}
		if wsum > 0 {
			ch.Loss[m] = loss / wsum
		}
	}
	ch.Method = Platt
	if li, ok := ch.Loss[Isotonic]; ok && li < ch.Loss[Platt] {
		ch.Method = Isotonic
	}
	c, err := fits[ch.Method](z, y, w)
	return c, ch, err
}
