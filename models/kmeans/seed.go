package kmeans

import (
	"math"
	"sort"
	"sync"
)

// seedPlusPlus picks k initial centroids with greedy k-means++ (Arthur & Vassilvitskii
// 2007): the first uniformly, each next one among 2 + ⌊ln k⌋ candidates drawn with
// probability proportional to the squared distance to the closest chosen centroid, keeping
// the candidate that lowers the potential most.
func (f *fitter) seedPlusPlus() []float64 {
	n, dim, k := f.n, f.dim, f.k
	c := make([]float64, k*dim)
	first := f.rng.IntN(n)
	copy(c[:dim], f.x[first*dim:(first+1)*dim])
	closest := make([]float64, n)
	f.parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			closest[i] = sqDist(f.x[i*dim:(i+1)*dim], c[:dim])
		}
	})
	trials := 2 + int(math.Log(float64(k)))
	cum := make([]float64, n)
	cand := make([]int, trials)
	candDist := make([][]float64, trials)
	for t := range candDist {
		candDist[t] = make([]float64, n)
	}
	pot := make([]float64, trials)
	for j := 1; j < k; j++ {
		s := 0.0
		for i, v := range closest {
			s += v
			cum[i] = s
		}
		for t := range cand {
			if s <= 0 {
				// All rows coincide with chosen centroids: any row will do.
				cand[t] = f.rng.IntN(n)
				continue
			}
			u := f.rng.Float64() * s
			cand[t] = min(n-1, sort.SearchFloat64s(cum, u))
		}
		f.parallel(n, func(lo, hi int) {
			for t, ci := range cand {
				cr := f.x[ci*dim : (ci+1)*dim]
				cd := candDist[t]
				for i := lo; i < hi; i++ {
					d := sqDist(f.x[i*dim:(i+1)*dim], cr)
					cd[i] = min(d, closest[i])
				}
			}
		})
		bt := 0
		for t := range cand {
			p := 0.0
			for _, v := range candDist[t] {
				p += v
			}
			pot[t] = p
			if p < pot[bt] {
				bt = t
			}
		}
		copy(c[j*dim:(j+1)*dim], f.x[cand[bt]*dim:(cand[bt]+1)*dim])
		copy(closest, candDist[bt])
	}
	return c
}

// parallel splits [0, n) over the fitter's threads.
func (f *fitter) parallel(n int, fn func(lo, hi int)) {
	if f.threads <= 1 {
		fn(0, n)
		return
	}
	chunk := (n + f.threads - 1) / f.threads
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, min(n, lo+chunk)) }()
	}
	wg.Wait()
}
