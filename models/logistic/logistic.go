package logistic

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Errors returned by Fit and the predictors.
var (
	ErrLabel       = errors.New("logistic: labels must be 0 or 1")
	ErrWeight      = errors.New("logistic: weights must be finite and non-negative with a positive sum")
	ErrNotFinite   = errors.New("logistic: features hold NaN or infinite values")
	ErrNoRows      = errors.New("logistic: no rows")
	ErrNumeric     = errors.New("logistic: optimisation failed numerically")
	ErrDimension   = errors.New("logistic: feature count differs from the model's")
	ErrCorruptJSON = errors.New("logistic: corrupt model")
)

// Options tunes Fit. The zero value uses the defaults in the comments.
type Options struct {
	// Lambda is the L2 penalty λ on the summed log-loss (scikit-learn's 1/C). 0 means 1.
	// Use NoPenalty for an unpenalised fit.
	Lambda float64 `json:"lambda"`
	// NoPenalty turns the penalty off (λ = 0); separable data then has no finite optimum.
	NoPenalty bool `json:"no_penalty"`
	// Tol stops the fit when every gradient component of L/Σw is below it in absolute
	// value (scikit-learn's tol). 0 means 1e-4.
	Tol float64 `json:"tol"`
	// MaxIter bounds the L-BFGS iterations. 0 means 1000.
	MaxIter int `json:"max_iter"`
	// Threads is the number of goroutines computing the gradient over row blocks. 0 means
	// runtime.GOMAXPROCS(0).
	Threads int `json:"threads"`
	// Names are the feature names, kept in the model for reason codes. Optional.
	Names []string `json:"names"`

	warmRows int // tests: subsample size of the warm start (0: warmRows, <0: none)
}

// Model is a fitted logistic regression. Its exported fields are its JSON state.
type Model struct {
	Intercept  float64   `json:"intercept"`
	Coef       []float64 `json:"coef"`
	Mean       []float64 `json:"mean"`            // weighted training mean of each feature
	Names      []string  `json:"names,omitempty"` // feature names, if given
	Lambda     float64   `json:"lambda"`
	Iterations int       `json:"iterations"`
	Converged  bool      `json:"converged"` // false when MaxIter stopped the fit first
}

// Reason is one feature's signed contribution to a prediction's log-odds, relative to the
// training average: Effect = coef × (value − training mean).
type Reason struct {
	Feature string  `json:"feature"`
	Index   int     `json:"index"`
	Value   float64 `json:"value"`
	Effect  float64 `json:"effect"`
}

// Fit fits the model to the rows of X with labels y (0 or 1) and weights w (nil means all
// ones).
func Fit(X *mat.Dense, y, w []float64, opts Options) (*Model, error) {
	n, p := X.Dims()
	if len(y) != n || (w != nil && len(w) != n) {
		panic("logistic: len(y) or len(w) differs from the rows of X")
	}
	if opts.Names != nil && len(opts.Names) != p {
		panic("logistic: len(Names) differs from the columns of X")
	}
	if n == 0 {
		return nil, ErrNoRows
	}
	var wsum float64
	for i := range n {
		if y[i] != 0 && y[i] != 1 {
			return nil, fmt.Errorf("%w: row %d has %v", ErrLabel, i, y[i])
		}
		if w != nil {
			if !(w[i] >= 0) || math.IsInf(w[i], 0) {
				return nil, fmt.Errorf("%w: row %d has %v", ErrWeight, i, w[i])
			}
			wsum += w[i]
		}
	}
	if w == nil {
		wsum = float64(n)
	}
	if !(wsum > 0) {
		return nil, ErrWeight
	}
	raw := X.RawMatrix()
	mean := make([]float64, p)
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		for k, v := range row {
			mean[k] += wi * v
		}
	}
	for k := range mean {
		mean[k] /= wsum
		if math.IsNaN(mean[k]) || math.IsInf(mean[k], 0) {
			return nil, fmt.Errorf("%w (feature %d)", ErrNotFinite, k)
		}
	}

	lambda := opts.Lambda
	if lambda <= 0 {
		lambda = 1
	}
	if opts.NoPenalty {
		lambda = 0
	}
	tol := opts.Tol
	if tol <= 0 {
		tol = 1e-4
	}
	maxIter := opts.MaxIter
	if maxIter <= 0 {
		maxIter = 1000
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = max(1, min(threads, n/blockRows))

	pr := newProblem(raw, n, p, y, w, wsum, lambda, threads)
	// Start at the intercept of the base rate: the optimum when every coefficient is 0.
	var ysum float64
	for i := range n {
		if w == nil {
			ysum += y[i]
		} else {
			ysum += w[i] * y[i]
		}
	}
	rate := math.Min(math.Max(ysum/wsum, 1e-12), 1-1e-12)
	x0 := make([]float64, p+1)
	x0[0] = math.Log(rate / (1 - rate))

	x, iters, converged := x0, 0, false
	warm := opts.warmRows
	if warm == 0 {
		warm = warmRows
	}
	if warm > 0 && n >= 4*warm {
		x, iters, converged = pr.warmNewton(x0, warm, tol)
	}
	if !converged {
		var it int
		var err error
		x, it, converged, err = pr.lbfgs(x, tol, max(1, maxIter-iters))
		iters += it
		if err != nil {
			return nil, err
		}
	}
	m := &Model{
		Intercept:  x[0],
		Coef:       append([]float64(nil), x[1:]...),
		Mean:       mean,
		Lambda:     lambda,
		Iterations: iters,
		Converged:  converged,
	}
	if opts.Names != nil {
		m.Names = append([]string(nil), opts.Names...)
	}
	return m, nil
}

// lbfgs minimises from x0 with gonum's L-BFGS and returns the solution, the iterations
// used and whether the gradient tolerance (or a stalled loss) was reached.
func (pr *problem) lbfgs(x0 []float64, tol float64, maxIter int) ([]float64, int, bool, error) {
	prob := optimize.Problem{Func: pr.fun, Grad: pr.grad}
	settings := &optimize.Settings{
		GradientThreshold: tol,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-10, Iterations: 5},
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{Store: 10})
	if res == nil {
		return nil, 0, false, fmt.Errorf("%w: %v", ErrNumeric, err)
	}
	// A line-search failure close to the optimum still leaves a usable point; anything
	// that is not finite is a failure.
	if !finite(res.X) || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		return nil, 0, false, fmt.Errorf("%w: loss %v (%v)", ErrNumeric, res.F, err)
	}
	return res.X, res.Stats.MajorIterations, res.Status != optimize.IterationLimit, nil
}

// warmRows is the subsample size of the warm start on large tables (used when the table has
// at least four times as many rows).
const warmRows = 50_000

// warmNewton solves the problem on an evenly spaced subsample of m rows first, then takes
// Newton steps on the full data with the subsample's Hessian at that point held fixed (a
// subsampled-Hessian Newton method, Byrd, Chin, Neveitt & Nocedal 2011; Roosta-Khorasani &
// Mahoney 2019). With p ≪ m the subsample Hessian is close to the full one, each step
// shrinks the gradient by a large factor, and the whole fit costs a few passes over the data
// instead of one per L-BFGS iteration. It reports whether the full gradient reached tol;
// if not, the caller continues with L-BFGS from the point returned.
func (pr *problem) warmNewton(x0 []float64, m int, tol float64) ([]float64, int, bool) {
	n, p := pr.n, pr.p
	rows := make([]int, m)
	for k := range rows {
		rows[k] = int(int64(k) * int64(n) / int64(m))
	}
	sub := make([]float64, m*p)
	sy := make([]float64, m)
	var sw []float64
	if pr.w != nil {
		sw = make([]float64, m)
	}
	var wsub float64
	for k, i := range rows {
		copy(sub[k*p:(k+1)*p], pr.X.Data[i*pr.X.Stride:i*pr.X.Stride+p])
		sy[k] = pr.y[i]
		if sw != nil {
			sw[k] = pr.w[i]
			wsub += sw[k]
		}
	}
	if sw == nil {
		wsub = float64(m)
	}
	if !(wsub > 0) {
		return x0, 0, false
	}
	// The same mean-form objective on the subsample: the penalty scales with the weight.
	lam := pr.lambda * wsub / pr.wsum
	sp := newProblem(blas64.General{Rows: m, Cols: p, Stride: p, Data: sub}, m, p, sy, sw, wsub, lam, pr.threads)
	xs, _, _, err := sp.lbfgs(x0, tol, 1000)
	if err != nil {
		return x0, 0, false
	}

	// Hessian of the subsample objective at xs: (1/W_s)·Σ w s (1, x)(1, x)ᵀ + (λ_s/W_s)·I on
	// the coefficients, with s = σ(1−σ).
	A := mat.NewDense(m, p+1, nil)
	ar := A.RawMatrix()
	for k := range m {
		row := sub[k*p : (k+1)*p]
		z := xs[0]
		for j, v := range row {
			z += xs[j+1] * v
		}
		sg := Sigmoid(z)
		c := sg * (1 - sg)
		if sw != nil {
			c *= sw[k]
		}
		c = math.Sqrt(c)
		dst := ar.Data[k*ar.Stride : k*ar.Stride+p+1]
		dst[0] = c
		for j, v := range row {
			dst[j+1] = c * v
		}
	}
	var H mat.SymDense
	H.SymOuterK(1/wsub, A.T())
	for j := 1; j <= p; j++ {
		H.SetSym(j, j, H.At(j, j)+lam/wsub+1e-12)
	}
	H.SetSym(0, 0, H.At(0, 0)+1e-12)
	var chol mat.Cholesky
	if !chol.Factorize(&H) {
		return xs, 0, false
	}

	x := append([]float64(nil), xs...)
	trial := make([]float64, p+1)
	d := mat.NewVecDense(p+1, nil)
	iters := 0
	for iters < 20 {
		pr.eval(x)
		f, g := pr.f, pr.g
		if !finite(g) || math.IsNaN(f) {
			return xs, iters, false
		}
		if maxAbs(g) < tol {
			return x, iters, true
		}
		if err := chol.SolveVecTo(d, mat.NewVecDense(p+1, g)); err != nil {
			return x, iters, false
		}
		dir := d.RawVector().Data
		var gd float64
		for k := range dir {
			dir[k] = -dir[k]
			gd += g[k] * dir[k]
		}
		if !(gd < 0) {
			return x, iters, false
		}
		iters++
		accepted := false
		for t := 1.0; t > 1e-3; t /= 2 {
			for k := range trial {
				trial[k] = x[k] + t*dir[k]
			}
			pr.eval(trial)
			if pr.f <= f+1e-4*t*gd {
				copy(x, trial)
				accepted = true
				break
			}
		}
		if !accepted {
			return x, iters, false
		}
	}
	return x, iters, false
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// blockRows is the row block of one matrix-vector product: 256 rows × 40 features fit in L2
// cache, so the second pass over a block (the gradient) reads it from cache.
const blockRows = 256

// problem evaluates L/Σw and its gradient in one pass over the data, in parallel over
// contiguous row ranges, with every buffer allocated once.
type problem struct {
	X       blas64.General
	n, p    int
	y, w    []float64
	wsum    float64
	lambda  float64
	threads int

	lastX  []float64 // the point of the cached value and gradient
	valid  bool
	f      float64
	g      []float64
	parts  []part
	notFin bool
}

type part struct {
	lo, hi int
	loss   float64
	g      []float64 // gradient w.r.t. (b0, b), unscaled
	z      []float64 // block buffer
}

func newProblem(raw blas64.General, n, p int, y, w []float64, wsum, lambda float64, threads int) *problem {
	pr := &problem{X: raw, n: n, p: p, y: y, w: w, wsum: wsum, lambda: lambda, threads: threads,
		lastX: make([]float64, p+1), g: make([]float64, p+1)}
	pr.parts = make([]part, threads)
	for t := range threads {
		pr.parts[t] = part{lo: t * n / threads, hi: (t + 1) * n / threads,
			g: make([]float64, p+1), z: make([]float64, blockRows)}
	}
	return pr
}

func (pr *problem) fun(x []float64) float64 {
	pr.eval(x)
	return pr.f
}

func (pr *problem) grad(g, x []float64) {
	pr.eval(x)
	copy(g, pr.g)
}

func (pr *problem) eval(x []float64) {
	if pr.valid && equal(x, pr.lastX) {
		return
	}
	copy(pr.lastX, x)
	pr.valid = true
	if !finite(x) {
		pr.f = math.NaN()
		for k := range pr.g {
			pr.g[k] = math.NaN()
		}
		return
	}
	if pr.threads == 1 {
		pr.evalPart(&pr.parts[0], x)
	} else {
		var wg sync.WaitGroup
		for t := range pr.parts {
			wg.Add(1)
			go func(pt *part) {
				defer wg.Done()
				pr.evalPart(pt, x)
			}(&pr.parts[t])
		}
		wg.Wait()
	}
	var loss float64
	clear(pr.g)
	for t := range pr.parts {
		loss += pr.parts[t].loss
		for k, v := range pr.parts[t].g {
			pr.g[k] += v
		}
	}
	var pen float64
	for k := 1; k <= pr.p; k++ {
		pen += x[k] * x[k]
		pr.g[k] += pr.lambda * x[k]
	}
	pr.f = (loss + pr.lambda*pen/2) / pr.wsum
	for k := range pr.g {
		pr.g[k] /= pr.wsum
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// evalPart accumulates the loss and gradient of rows [pt.lo, pt.hi).
func (pr *problem) evalPart(pt *part, x []float64) {
	b0, coef := x[0], x[1:]
	clear(pt.g)
	pt.loss = 0
	gc := pt.g[1:]
	var g0 float64
	for lo := pt.lo; lo < pt.hi; lo += blockRows {
		m := min(blockRows, pt.hi-lo)
		z := pt.z[:m]
		a := pr.X.Data[lo*pr.X.Stride:]
		blas64.Implementation().Dgemv(blas.NoTrans, m, pr.p, 1, a, pr.X.Stride, coef, 1, 0, z, 1)
		for i := range z {
			zi := z[i] + b0
			yi := pr.y[lo+i]
			// log(1+e^z) − y z and σ(z) − y with one exp, stable for large |z|.
			e := math.Exp(-math.Abs(zi))
			sig := 1 / (1 + e)
			l := math.Log1p(e) - yi*zi
			if zi >= 0 {
				l += zi
			} else {
				sig = e * sig
			}
			r := sig - yi
			if pr.w != nil {
				wi := pr.w[lo+i]
				r *= wi
				l *= wi
			}
			pt.loss += l
			g0 += r
			z[i] = r
		}
		blas64.Implementation().Dgemv(blas.Trans, m, pr.p, 1, a, pr.X.Stride, z, 1, 1, gc, 1)
	}
	pt.g[0] = g0
}

// check validates the model state against p features.
func (m *Model) check(p int) error {
	if len(m.Coef) != p {
		return fmt.Errorf("%w: the table has %d features, the model %d", ErrDimension, p, len(m.Coef))
	}
	if len(m.Mean) != len(m.Coef) || (m.Names != nil && len(m.Names) != len(m.Coef)) {
		return fmt.Errorf("%w: %d coefficients, %d means, %d names", ErrCorruptJSON, len(m.Coef), len(m.Mean), len(m.Names))
	}
	if !finite(m.Coef) || !finite(m.Mean) || math.IsNaN(m.Intercept) || math.IsInf(m.Intercept, 0) {
		return fmt.Errorf("%w: non-finite parameters", ErrCorruptJSON)
	}
	return nil
}

// PredictLogOdds returns b0 + xᵀb for every row of X.
func (m *Model) PredictLogOdds(X mat.Matrix) ([]float64, error) {
	n, p := X.Dims()
	if err := m.check(p); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	coef := mat.NewVecDense(p, m.Coef)
	var z mat.VecDense
	z.MulVec(X, coef)
	for i := range out {
		out[i] = z.AtVec(i) + m.Intercept
		if math.IsNaN(out[i]) {
			return nil, fmt.Errorf("%w (row %d)", ErrNotFinite, i)
		}
	}
	return out, nil
}

// Predict returns the probability σ(b0 + xᵀb) of every row of X.
func (m *Model) Predict(X mat.Matrix) ([]float64, error) {
	z, err := m.PredictLogOdds(X)
	if err != nil {
		return nil, err
	}
	for i, v := range z {
		z[i] = Sigmoid(v)
	}
	return z, nil
}

// Sigmoid returns 1/(1+e^−z) without overflow.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Reasons returns the k features with the largest absolute contribution coef_j·(x_j −
// mean_j) to the log-odds of the row x, largest first (all features when k <= 0). Features
// contributing exactly 0 are left out. The contributions and the intercept-at-mean add up to
// the log-odds: b0 + meanᵀb + Σ_j Effect_j.
func (m *Model) Reasons(x []float64, k int) ([]Reason, error) {
	if err := m.check(len(x)); err != nil {
		return nil, err
	}
	out := make([]Reason, 0, len(x))
	for j, v := range x {
		e := m.Coef[j] * (v - m.Mean[j])
		if e == 0 {
			continue
		}
		r := Reason{Index: j, Value: v, Effect: e}
		if m.Names != nil {
			r.Feature = m.Names[j]
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(a, b int) bool { return math.Abs(out[a].Effect) > math.Abs(out[b].Effect) })
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out, nil
}
