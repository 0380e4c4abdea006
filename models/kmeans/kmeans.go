package kmeans

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Errors returned by Fit and the functions that call it.
var (
	ErrK     = errors.New("kmeans: k must be at least 1")
	ErrShape = errors.New("kmeans: matrix length is not a multiple of dim, or dim < 1")
	ErrRows  = errors.New("kmeans: fewer rows than clusters")
	ErrNaN   = errors.New("kmeans: value is NaN or infinite")
)

// ValueError reports a NaN or infinite value at a row and column of the input.
type ValueError struct {
	Row, Col int
	Value    float64
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("kmeans: row %d column %d is %v (clustering needs finite values)", e.Row, e.Col, e.Value)
}

// Unwrap returns ErrNaN.
func (e *ValueError) Unwrap() error { return ErrNaN }

// RowsError reports a request for more clusters than there are distinct rows to seed them.
type RowsError struct {
	K, Rows int
}

func (e *RowsError) Error() string {
	return fmt.Sprintf("kmeans: k = %d is larger than the number of rows (%d)", e.K, e.Rows)
}

// Unwrap returns ErrRows.
func (e *RowsError) Unwrap() error { return ErrRows }

// Settings tune Fit. The zero value gives the defaults written next to each field.
type Settings struct {
	// Restarts is the number of k-means++ initialisations; the run with the smallest
	// inertia is kept. Default 10.
	Restarts int
	// MaxIter bounds the Lloyd iterations of one restart (or the number of mini-batches).
	// Default 300 (mini-batch: max(100, 10·n/BatchSize)).
	MaxIter int
	// Tol stops a restart when the summed squared centroid shift of an iteration is at most
	// Tol times the mean per-column variance of x (the rule of scikit-learn). Default 1e-4.
	Tol float64
	// BatchSize > 0 selects mini-batch k-means (Sculley 2010) with batches of this many
	// rows, followed by one full assignment. Default 0: full Lloyd iterations.
	BatchSize int
	// Workers is the number of goroutines. Restarts run in parallel; when there are fewer
	// restarts than workers, the assignment step is split over row blocks. Default
	// runtime.GOMAXPROCS(0).
	Workers int
}

func (s Settings) withDefaults() Settings {
	if s.Restarts <= 0 {
		s.Restarts = 10
	}
	if s.MaxIter <= 0 {
		s.MaxIter = 300
	}
	if s.Tol <= 0 {
		s.Tol = 1e-4
	}
	if s.Workers <= 0 {
		s.Workers = runtime.GOMAXPROCS(0)
	}
	return s
}

// Result is a fitted clustering.
type Result struct {
	K, Dim     int
	Centroids  []float64 // K×Dim, row-major
	Labels     []int     // cluster of each row, in [0, K)
	Inertia    float64   // sum of squared distances of rows to their centroids
	Iterations int       // Lloyd iterations (or mini-batches) of the kept restart
	Converged  bool      // whether the kept restart met the tolerance before MaxIter
}

// Centroid returns the centroid of cluster j (sharing storage with r.Centroids).
func (r *Result) Centroid(j int) []float64 { return r.Centroids[j*r.Dim : (j+1)*r.Dim] }

// Sizes returns the number of rows in each cluster.
func (r *Result) Sizes() []int {
	out := make([]int, r.K)
	for _, l := range r.Labels {
		out[l]++
	}
	return out
}

// check validates the input shape and values.
func check(x []float64, dim, k int) (int, error) {
	if dim < 1 || len(x)%dim != 0 {
		return 0, ErrShape
	}
	if k < 1 {
		return 0, ErrK
	}
	n := len(x) / dim
	if k > n {
		return n, &RowsError{K: k, Rows: n}
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return n, &ValueError{Row: i / dim, Col: i % dim, Value: v}
		}
	}
	return n, nil
}

// Fit clusters the n = len(x)/dim rows of x into k clusters. Seeds come from the greedy
// k-means++ of Arthur & Vassilvitskii (2007) ("k-means++: the advantages of careful
// seeding", SODA), each restart drawing its own generator from src so the result depends
// only on src and not on scheduling. Each restart runs Lloyd's algorithm (Lloyd 1982), which
// decreases the inertia Σᵢ ‖xᵢ − c_{l(i)}‖² until assignments stop changing (accelerated
// with the distance bounds of Hamerly 2010, which skip work without changing the result), or mini-batch
// k-means (Sculley 2010, "Web-scale k-means clustering", WWW) when s.BatchSize > 0.
//
// The result depends on x, k, s and src only, not on s.Workers or scheduling. A nil src
// means a fixed seed.
func Fit(x []float64, dim, k int, s Settings, src rand.Source) (*Result, error) {
	n, err := check(x, dim, k)
	if err != nil {
		return nil, err
	}
	s = s.withDefaults()
	if src == nil {
		src = rand.NewPCG(1, 1)
	}
	rng := rand.New(src)
	seeds := make([][2]uint64, s.Restarts)
	for i := range seeds {
		seeds[i] = [2]uint64{rng.Uint64(), rng.Uint64()}
	}
	xnorm := rowNorms(x, dim, s.Workers)
	tol := s.Tol * meanVariance(x, dim)

	par := min(s.Workers, s.Restarts)
	threads := max(1, s.Workers/par)
	// Keep only the best restart so far (lowest inertia, then lowest restart index, so the
	// outcome does not depend on which restart finishes first).
	var mu sync.Mutex
	var best *Result
	bestAt := -1
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				src := rand.New(rand.NewPCG(seeds[r][0], seeds[r][1]))
				f := &fitter{x: x, xnorm: xnorm, n: n, dim: dim, k: k, threads: threads, rng: src}
				var res *Result
				if s.BatchSize > 0 {
					res = f.miniBatch(s)
				} else {
					res = f.lloyd(s.MaxIter, tol)
				}
				mu.Lock()
				if best == nil || res.Inertia < best.Inertia || (res.Inertia == best.Inertia && r < bestAt) {
					best, bestAt = res, r
				}
				mu.Unlock()
			}
		}()
	}
	for r := range s.Restarts {
		next <- r
	}
	close(next)
	wg.Wait()
	return best, nil
}

// fitter holds one restart's state.
type fitter struct {
	x, xnorm  []float64
	n, dim, k int
	threads   int
	rng       *rand.Rand
	centroids []float64
	cnorm     []float64
	labels    []int
	dist      []float64 // squared distance of each row to its centroid (mini-batch)
}

// assignAll assigns every row to its nearest centroid, filling f.labels and f.dist, and
// returns the inertia.
func (f *fitter) assignAll() float64 {
	centroidNorms(f.centroids, f.dim, f.cnorm)
	t := f.threads
	part := make([]float64, t)
	chunk := (f.n + t - 1) / t
	f.parallel(f.n, func(lo, hi int) {
		part[lo/chunk] = assignRange(f.x, f.xnorm, f.dim, f.centroids, f.cnorm, lo, hi, f.labels, f.dist)
	})
	inertia := 0.0
	for _, v := range part {
		inertia += v
	}
	return inertia
}

func accumulate(x []float64, dim int, labels []int, lo, hi int, sums []float64, counts []int) {
	for i := lo; i < hi; i++ {
		l := labels[i]
		counts[l]++
		s := sums[l*dim : (l+1)*dim]
		r := x[i*dim : (i+1)*dim]
		r = r[:len(s)]
		for d, v := range r {
			s[d] += v
		}
	}
}

func rowNorms(x []float64, dim, workers int) []float64 {
	n := len(x) / dim
	out := make([]float64, n)
	parallelRange(n, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := 0.0
			for _, v := range x[i*dim : (i+1)*dim] {
				s += v * v
			}
			out[i] = s
		}
	})
	return out
}

func centroidNorms(c []float64, dim int, out []float64) {
	for j := range out {
		s := 0.0
		for _, v := range c[j*dim : (j+1)*dim] {
			s += v * v
		}
		out[j] = s
	}
}

// meanVariance returns the mean over columns of the population variance of x.
func meanVariance(x []float64, dim int) float64 {
	n := len(x) / dim
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		for d, v := range x[i*dim : (i+1)*dim] {
			mean[d] += v
		}
	}
	for d := range mean {
		mean[d] /= float64(n)
	}
	ss := 0.0
	for i := 0; i < n; i++ {
		for d, v := range x[i*dim : (i+1)*dim] {
			e := v - mean[d]
			ss += e * e
		}
	}
	return ss / float64(n) / float64(dim)
}

// parallelRange calls fn on contiguous chunks of [0, n) from up to workers goroutines.
func parallelRange(n, workers int, fn func(lo, hi int)) {
	if workers <= 1 || n < 4096 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, min(n, lo+chunk)) }()
	}
	wg.Wait()
}
