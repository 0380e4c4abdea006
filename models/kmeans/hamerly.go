package kmeans

import (
	"math"
	"sync"
	"sync/atomic"
)

// blockRows is the number of rows in a work block. Partial sums are kept per block and
// reduced in block order, so results do not depend on the number of threads.
const blockRows = 4096

// lloyd runs Lloyd's algorithm from k-means++ seeds, skipping distance computations with
// the bounds of Hamerly (2010, "Making k-means even faster", SIAM SDM): an upper bound on
// each row's distance to its centroid and a lower bound on its distance to any other
// centroid, both moved by the centroids' shifts after each iteration. A row whose upper
// bound is below max(lower bound, half the distance from its centroid to the nearest other
// centroid) cannot change cluster, so the result is that of plain Lloyd iterations.
//
// An iteration assigns rows to the current centroids and moves each centroid to the mean
// of its rows; it stops when no row changed cluster, or when the summed squared centroid
// shift is at most tol (as scikit-learn does).
func (f *fitter) lloyd(maxIter int, tol float64) *Result {
	n, k, dim := f.n, f.k, f.dim
	f.centroids = f.seedPlusPlus()
	f.labels = make([]int, n)
	h := &hamerly{
		fitter: f,
		upper:  make([]float64, n),
		lower:  make([]float64, n),
		sums:   make([]float64, k*dim),
		counts: make([]int, k),
		half:   make([]float64, k),
		move:   make([]float64, k),
		nb:     (n + blockRows - 1) / blockRows,
	}
	full, bounded := h.fullBlock, h.boundedBlock
	h.bsum = make([][]float64, h.nb)
	h.bcnt = make([][]int, h.nb)
	h.bchg = make([]int, h.nb)
	h.bval = make([]float64, h.nb)
	for b := range h.nb {
		h.bsum[b] = make([]float64, k*dim)
		h.bcnt[b] = make([]int, k)
	}
	f.cnorm = make([]float64, k)
	centroidNorms(f.centroids, dim, f.cnorm)
	next := make([]float64, k*dim)
	res := &Result{K: k, Dim: dim}
	changed := 0
	for it := 1; it <= maxIter; it++ {
		res.Iterations = it
		if it == 1 {
			h.run(full)
		} else {
			h.run(bounded)
		}
		changed = h.reduce(it == 1)
		if it > 1 && changed == 0 {
			res.Converged = true
			break
		}
		h.means(next)
		shift := h.moveCentroids(next)
		if shift <= tol {
			res.Converged = true
			// The labels may lag the last small move; one more bounded pass fixes them.
			h.run(bounded)
			h.reduce(false)
			break
		}
		if it == maxIter {
			h.run(bounded)
			h.reduce(false)
		}
	}
	h.run(h.inertiaBlock)
	for _, v := range h.bval {
		res.Inertia += v
	}
	res.Centroids = f.centroids
	res.Labels = f.labels
	return res
}

type hamerly struct {
	*fitter
	upper, lower []float64
	sums         []float64 // per-cluster sums of rows, maintained incrementally
	counts       []int
	half         []float64 // half the distance from each centroid to the nearest other
	move         []float64 // how far each centroid moved in the last update
	maxMove      [2]float64
	maxMoveAt    int
	nb           int
	bsum         [][]float64 // per-block changes to sums
	bcnt         [][]int
	bchg         []int     // per-block count of rows that changed cluster
	bval         []float64 // per-block inertia
}

// run calls fn on every block from f.threads goroutines.
func (h *hamerly) run(fn func(b int)) {
	if h.threads <= 1 || h.nb == 1 {
		for b := range h.nb {
			fn(b)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(h.threads, h.nb) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= h.nb {
					return
				}
				fn(b)
			}
		}()
	}
	wg.Wait()
}

// reduce adds the blocks' sum changes into h.sums (replacing them when fresh) and returns
// the number of rows that changed cluster.
func (h *hamerly) reduce(fresh bool) int {
	if fresh {
		clear(h.sums)
		clear(h.counts)
	}
	changed := 0
	for b := range h.nb {
		for i, v := range h.bsum[b] {
			h.sums[i] += v
		}
		for j, c := range h.bcnt[b] {
			h.counts[j] += c
		}
		changed += h.bchg[b]
	}
	return changed
}

// nearest2 returns the nearest and second-nearest centroid of row i with squared distances.
func (h *hamerly) nearest2(i int) (j1 int, d1, d2 float64) {
	dim := h.dim
	r := h.x[i*dim : (i+1)*dim : (i+1)*dim]
	c := h.centroids
	d1, d2 = math.Inf(1), math.Inf(1)
	k := h.k
	j := 0
	consider := func(j int, s float64) {
		e := h.cnorm[j] - 2*s
		if e < d1 {
			d2, d1, j1 = d1, e, j
		} else if e < d2 {
			d2 = e
		}
	}
	for ; j+4 <= k; j += 4 {
		c0 := c[j*dim : (j+1)*dim]
		c1 := c[(j+1)*dim : (j+2)*dim]
		c2 := c[(j+2)*dim : (j+3)*dim]
		c3 := c[(j+3)*dim : (j+4)*dim]
		c0, c1, c2, c3 = c0[:len(r)], c1[:len(r)], c2[:len(r)], c3[:len(r)]
		var s0, s1, s2, s3 float64
		for d, v := range r {
			s0 += v * c0[d]
			s1 += v * c1[d]
			s2 += v * c2[d]
			s3 += v * c3[d]
		}
		consider(j, s0)
		consider(j+1, s1)
		consider(j+2, s2)
		consider(j+3, s3)
	}
	for ; j < k; j++ {
		cj := c[j*dim : (j+1)*dim]
		cj = cj[:len(r)]
		s := 0.0
		for d, v := range r {
			s += v * cj[d]
		}
		consider(j, s)
	}
	d1 = max(0, d1+h.xnorm[i])
	d2 = max(0, d2+h.xnorm[i])
	return j1, d1, d2
}

// fullBlock assigns every row of block b from scratch and sets its bounds and block sums.
func (h *hamerly) fullBlock(b int) {
	lo, hi := b*blockRows, min(h.n, (b+1)*blockRows)
	sums, cnt := h.bsum[b], h.bcnt[b]
	clear(sums)
	clear(cnt)
	for i := lo; i < hi; i++ {
		j, d1, d2 := h.nearest2(i)
		h.labels[i] = j
		h.upper[i] = math.Sqrt(d1)
		h.lower[i] = math.Sqrt(d2)
	}
	accumulate(h.x, h.dim, h.labels, lo, hi, sums, cnt)
	h.bchg[b] = hi - lo
}

// boundedBlock re-assigns the rows of block b whose bounds allow a change, recording the
// changes to the cluster sums.
func (h *hamerly) boundedBlock(b int) {
	lo, hi := b*blockRows, min(h.n, (b+1)*blockRows)
	sums, cnt := h.bsum[b], h.bcnt[b]
	clear(sums)
	clear(cnt)
	dim := h.dim
	changed := 0
	for i := lo; i < hi; i++ {
		a := h.labels[i]
		// Bounds after the last centroid move.
		u := h.upper[i] + h.move[a]
		l := h.lower[i] - h.maxMove[0]
		if a == h.maxMoveAt {
			l = h.lower[i] - h.maxMove[1]
		}
		h.upper[i], h.lower[i] = u, l
		m := max(h.half[a], l)
		if u <= m {
			continue
		}
		r := h.x[i*dim : (i+1)*dim]
		u = math.Sqrt(max(0, h.xnorm[i]+h.cnorm[a]-2*dot(r, h.centroids[a*dim:(a+1)*dim])))
		h.upper[i] = u
		if u <= m {
			continue
		}
		j, d1, d2 := h.nearest2(i)
		h.upper[i] = math.Sqrt(d1)
		h.lower[i] = math.Sqrt(d2)
		if j == a {
			continue
		}
		h.labels[i] = j
		changed++
		cnt[a]--
		cnt[j]++
		sa := sums[a*dim : (a+1)*dim]
		sj := sums[j*dim : (j+1)*dim]
		for d, v := range r {
			sa[d] -= v
			sj[d] += v
		}
	}
	h.bchg[b] = changed
}

// inertiaBlock stores the exact inertia of block b.
func (h *hamerly) inertiaBlock(b int) {
	lo, hi := b*blockRows, min(h.n, (b+1)*blockRows)
	dim := h.dim
	s := 0.0
	for i := lo; i < hi; i++ {
		a := h.labels[i]
		s += sqDist(h.x[i*dim:(i+1)*dim], h.centroids[a*dim:(a+1)*dim])
	}
	h.bval[b] = s
}

// means writes the cluster means into next, first moving each empty cluster onto the row
// with the largest distance bound to its centroid (a row of a cluster with other rows).
func (h *hamerly) means(next []float64) {
	dim := h.dim
	for j, c := range h.counts {
		if c != 0 {
			continue
		}
		far, fd := -1, -1.0
		for i, u := range h.upper {
			if u > fd && h.counts[h.labels[i]] > 1 {
				far, fd = i, u
			}
		}
		if far < 0 {
			continue
		}
		from := h.labels[far]
		r := h.x[far*dim : (far+1)*dim]
		for d, v := range r {
			h.sums[from*dim+d] -= v
			h.sums[j*dim+d] = v
		}
		h.counts[from]--
		h.counts[j] = 1
		h.labels[far] = j
		h.upper[far], h.lower[far] = 0, 0
	}
	for j, c := range h.counts {
		row := next[j*dim : (j+1)*dim]
		if c == 0 {
			copy(row, h.centroids[j*dim:(j+1)*dim])
			continue
		}
		inv := 1 / float64(c)
		for d, v := range h.sums[j*dim : (j+1)*dim] {
			row[d] = v * inv
		}
	}
}

// moveCentroids replaces the centroids by next, records how far each moved, refreshes the
// half-distances and norms, and returns the summed squared shift.
func (h *hamerly) moveCentroids(next []float64) float64 {
	dim, k := h.dim, h.k
	shift := 0.0
	h.maxMove = [2]float64{}
	h.maxMoveAt = -1
	for j := range k {
		d2 := sqDist(next[j*dim:(j+1)*dim], h.centroids[j*dim:(j+1)*dim])
		shift += d2
		m := math.Sqrt(d2)
		h.move[j] = m
		if m > h.maxMove[0] {
			h.maxMove[1] = h.maxMove[0]
			h.maxMove[0], h.maxMoveAt = m, j
		} else if m > h.maxMove[1] {
			h.maxMove[1] = m
		}
	}
	copy(h.centroids, next)
	centroidNorms(h.centroids, dim, h.cnorm)
	for j := range k {
		best := math.Inf(1)
		for o := range k {
			if o != j {
				best = min(best, sqDist(h.centroids[j*dim:(j+1)*dim], h.centroids[o*dim:(o+1)*dim]))
			}
		}
		h.half[j] = math.Sqrt(best) / 2
	}

	return shift
}

// dot returns a·b, with four accumulators to shorten the dependency chains.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
