package kmeans

import (
	"math"
	"runtime"
)

// Assign labels each row of x with its nearest centroid, writing labels[i] and, when dist
// is not nil, the squared Euclidean distance dist[i]. It returns the inertia (the sum of
// the squared distances). It panics if the slices' lengths do not agree with dim, which is a
// programming error.
//
// Distances are computed as ‖x‖² − 2x·c + ‖c‖² with the norms computed once, over blocks
// of rows in parallel, without allocating per row.
func Assign(x []float64, dim int, centroids []float64, labels []int, dist []float64) float64 {
	if dim < 1 || len(x)%dim != 0 || len(centroids)%dim != 0 || len(centroids) == 0 {
		panic("kmeans: bad matrix shape in Assign")
	}
	n := len(x) / dim
	if len(labels) != n || (dist != nil && len(dist) != n) {
		panic("kmeans: labels or dist length does not match x")
	}
	k := len(centroids) / dim
	cnorm := make([]float64, k)
	centroidNorms(centroids, dim, cnorm)
	workers := runtime.GOMAXPROCS(0)
	xnorm := rowNorms(x, dim, workers)
	if dist == nil {
		dist = make([]float64, n)
	}
	chunks := max(1, min(workers, n/4096))
	part := make([]float64, chunks)
	size := (n + chunks - 1) / chunks
	parallelRange(chunks, chunks, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			part[w] = assignRange(x, xnorm, dim, centroids, cnorm, w*size, min(n, (w+1)*size), labels, dist)
		}
	})
	s := 0.0
	for _, v := range part {
		s += v
	}
	return s
}

// assignRange labels rows [lo, hi) and returns the sum of their squared distances. Four
// centroids are scored per pass over a row so each x value is loaded once per four dot
// products.
func assignRange(x, xnorm []float64, dim int, c, cnorm []float64, lo, hi int, labels []int, dist []float64) float64 {
	k := len(cnorm)
	k4 := k &^ 3
	total := 0.0
	for i := lo; i < hi; i++ {
		r := x[i*dim : (i+1)*dim : (i+1)*dim]
		best, bj := math.Inf(1), 0
		j := 0
		for ; j < k4; j += 4 {
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
			if e := cnorm[j] - 2*s0; e < best {
				best, bj = e, j
			}
			if e := cnorm[j+1] - 2*s1; e < best {
				best, bj = e, j+1
			}
			if e := cnorm[j+2] - 2*s2; e < best {
				best, bj = e, j+2
			}
			if e := cnorm[j+3] - 2*s3; e < best {
				best, bj = e, j+3
			}
		}
		for ; j < k; j++ {
			cj := c[j*dim : (j+1)*dim]
			cj = cj[:len(r)]
			s := 0.0
			for d, v := range r {
				s += v * cj[d]
			}
			if e := cnorm[j] - 2*s; e < best {
				best, bj = e, j
			}
		}
		d := xnorm[i] + best
		if d < 0 {
			d = 0 // rounding of the expanded form
		}
		labels[i] = bj
		dist[i] = d
		total += d
	}
	return total
}

// sqDist returns ‖a − b‖².
func sqDist(a, b []float64) float64 {
	b = b[:len(a)]
	s := 0.0
	for i, v := range a {
		e := v - b[i]
		s += e * e
	}
	return s
}
