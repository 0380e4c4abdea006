package btyd

import (
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Settings controls a maximum-likelihood fit. The zero value (or a nil *Settings) means
// the defaults given in the field comments.
type Settings struct {
	// Starts are initial parameter vectors on the natural scale, in the model's parameter
	// order (BG/NBD: r, α, a, b; Gamma-Gamma: p, q, γ). Every start is optimised and the
	// best converged one kept. Default: a fixed set of deterministic starts scaled to the
	// data (see DefaultStarts).
	Starts [][]float64

	// GradientThreshold stops an optimisation when the largest component of the gradient
	// of the mean negative log-likelihood with respect to the log-parameters falls below
	// it. Default 1e-8.
	GradientThreshold float64

	// MaxIterations caps the BFGS iterations of each start. Default 1000.
	MaxIterations int

	// SkipStdErrors skips the numerical Hessian and leaves StdErrors nil. Default false.
	SkipStdErrors bool
}

func (s *Settings) withDefaults() Settings {
	var out Settings
	if s != nil {
		out = *s
	}
	if out.GradientThreshold <= 0 {
		out.GradientThreshold = 1e-8
	}
	if out.MaxIterations <= 0 {
		out.MaxIterations = 1000
	}
	return out
}

// objective evaluates the mean negative log-likelihood and its gradient with respect to
// log-parameters. grad may be nil.
type objective func(theta, grad []float64) float64

// maxLogParam bounds |log θ|: beyond it a parameter has run away to 0 or ∞ and the
// objective answers +Inf so the line search backs off instead of producing NaN.
const maxLogParam = 30

// boundaryLogParam flags an estimate whose |log θ| exceeds it (θ beyond 3.3e6 or below
// 3.1e-7) as a boundary solution: the likelihood keeps rising towards a degenerate model.
const boundaryLogParam = 15

// minimize runs BFGS on obj from every start (given on the natural scale) and returns
// the best log-parameter vector with its objective value and iteration count.
func minimize(model string, obj objective, starts [][]float64, s Settings) (theta []float64, f float64, iters int, err error) {
	var lastX []float64
	var lastF float64
	var lastG []float64
	eval := func(x []float64) (float64, []float64) {
		if lastX != nil && equal(lastX, x) {
			return lastF, lastG
		}
		g := make([]float64, len(x))
		v := obj(x, g)
		lastX = append(lastX[:0], x...)
		lastF, lastG = v, g
		return v, g
	}
	p := optimize.Problem{
		Func: func(x []float64) float64 { v, _ := eval(x); return v },
		Grad: func(grad, x []float64) { _, g := eval(x); copy(grad, g) },
	}
	best := math.Inf(1)
	var bestStatus optimize.Status
	var firstErr error
	for _, st := range starts {
		x0 := make([]float64, len(st))
		ok := true
		for i, v := range st {
			if !(v > 0) || math.IsInf(v, 0) {
				ok = false
				break
			}
			x0[i] = math.Log(v)
		}
		if !ok {
			continue
		}
		lastX = nil
		set := &optimize.Settings{
			GradientThreshold: s.GradientThreshold,
			MajorIterations:   s.MaxIterations,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-13, Relative: 1e-13, Iterations: 50},
		}
		res, e := optimize.Minimize(p, x0, set, &optimize.BFGS{})
		if res == nil {
			if firstErr == nil {
				firstErr = e
			}
			continue
		}
		// Accept a run stopped by the line search or the function converger when the
		// gradient is nonetheless small: BFGS often ends that way at the optimum.
		_, g := eval(res.X)
		gmax := 0.0
		for _, v := range g {
			gmax = math.Max(gmax, math.Abs(v))
		}
		if e != nil && !(gmax < 1e-5) {
			if firstErr == nil {
				firstErr = e
			}
			continue
		}
		if !(gmax < 1e-4) || math.IsInf(res.F, 0) || math.IsNaN(res.F) {
			if firstErr == nil {
				firstErr = ErrNotConverged
			}
			bestStatus = res.Status
			continue
		}
		iters += res.MajorIterations
		if res.F < best {
			best = res.F
			theta = append([]float64(nil), res.X...)
			bestStatus = res.Status
		}
	}
	if theta != nil {
		for _, v := range theta {
			if math.Abs(v) > boundaryLogParam {
				return nil, 0, iters, &FitError{Model: model, Status: bestStatus.String(), Err: ErrBoundary}
			}
		}
	}
	if theta == nil {
		if firstErr == nil {
			firstErr = ErrNotConverged
		}
		if !errors.Is(firstErr, ErrNotConverged) {
			firstErr = errors.Join(ErrNotConverged, firstErr)
		}
		return nil, 0, iters, &FitError{Model: model, Status: bestStatus.String(), Err: firstErr}
	}
	return theta, best, iters, nil
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stdErrors returns standard errors on the natural scale for the parameters exp(theta),
// from the inverse of the observed information: the Hessian of the total negative
// log-likelihood n·obj, taken by central differences of the analytic gradient, in the
// log-parameters; the delta method gives se(θ) = θ·se(log θ). It returns nil when the
// Hessian is not positive definite (a flat or boundary optimum).
func stdErrors(obj objective, theta []float64, n float64) []float64 {
	k := len(theta)
	h := mat.NewSymDense(k, nil)
	gp := make([]float64, k)
	gm := make([]float64, k)
	x := make([]float64, k)
	cols := make([][]float64, k)
	for j := range k {
		step := 1e-5 * math.Max(1, math.Abs(theta[j]))
		copy(x, theta)
		x[j] = theta[j] + step
		obj(x, gp)
		x[j] = theta[j] - step
		obj(x, gm)
		cols[j] = make([]float64, k)
		for i := range k {
			cols[j][i] = n * (gp[i] - gm[i]) / (2 * step)
		}
	}
	for i := range k {
		for j := i; j < k; j++ {
			h.SetSym(i, j, (cols[i][j]+cols[j][i])/2)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(h) {
		return nil
	}
	var cov mat.SymDense
	if err := ch.InverseTo(&cov); err != nil {
		return nil
	}
	se := make([]float64, k)
	for i := range k {
		v := cov.At(i, i)
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil
		}
		se[i] = math.Exp(theta[i]) * math.Sqrt(v)
	}
	return se
}

// parallelChunks is the fixed number of row chunks of a large objective: the partition (and
// so the floating-point summation order) does not depend on the number of CPUs, which keeps
// fits reproducible.
const parallelChunks = 16

// minParallelRows is the row count below which objectives are summed on one goroutine.
const minParallelRows = 32768

// parallelSum splits [0, n) into fixed chunks, sums f over them concurrently (up to
// GOMAXPROCS goroutines) and adds the chunk results in chunk order.
func parallelSum(n int, f func(lo, hi int) [5]float64) [5]float64 {
	if n < minParallelRows {
		return f(0, n)
	}
	var parts [parallelChunks][5]float64
	workers := min(runtime.GOMAXPROCS(0), parallelChunks)
	var next atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1)) - 1
				if c >= parallelChunks {
					return
				}
				parts[c] = f(c*n/parallelChunks, (c+1)*n/parallelChunks)
			}
		}()
	}
	wg.Wait()
	var out [5]float64
	for _, p := range parts {
		for j := range out {
			out[j] += p[j]
		}
	}
	return out
}
