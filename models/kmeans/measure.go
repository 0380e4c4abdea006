package kmeans

import (
	"math"
	"math/rand/v2"
)

// AdjustedRand returns the adjusted Rand index of two labelings of the same items (Hubert &
// Arabie 1985, "Comparing partitions", Journal of Classification 2:193–218): 1 for identical
// partitions up to renaming, about 0 for independent ones. Labels may be any integers. It
// panics if the lengths differ.
func AdjustedRand(a, b []int) float64 {
	if len(a) != len(b) {
		panic("kmeans: AdjustedRand labelings differ in length")
	}
	n := len(a)
	if n < 2 {
		return 1
	}
	type pair struct{ a, b int }
	cells := make(map[pair]int)
	ra := make(map[int]int)
	rb := make(map[int]int)
	for i := range a {
		cells[pair{a[i], b[i]}]++
		ra[a[i]]++
		rb[b[i]]++
	}
	c2 := func(m int) float64 { return float64(m) * float64(m-1) / 2 }
	index := 0.0
	for _, m := range cells {
		index += c2(m)
	}
	sa, sb := 0.0, 0.0
	for _, m := range ra {
		sa += c2(m)
	}
	for _, m := range rb {
		sb += c2(m)
	}
	expected := sa * sb / c2(n)
	maxIndex := (sa + sb) / 2
	if maxIndex == expected {
		// Both partitions are trivial (one cluster each, or all singletons): identical.
		return 1
	}
	return (index - expected) / (maxIndex - expected)
}

// Silhouette returns the mean silhouette width of the labeled rows of x (Rousseeuw 1987,
// "Silhouettes: a graphical aid to the interpretation and validation of cluster analysis",
// J. Comput. Appl. Math. 20:53–65), with Euclidean distances. Rows alone in their cluster
// count as 0, as in the paper. It costs O(n²·dim): pass a sample for large inputs (see
// SampleRows). It returns 0 when fewer than two clusters are present.
func Silhouette(x []float64, dim int, labels []int) float64 {
	n := len(x) / dim
	if len(labels) != n {
		panic("kmeans: Silhouette labels length does not match x")
	}
	k := 0
	for _, l := range labels {
		k = max(k, l+1)
	}
	size := make([]int, k)
	for _, l := range labels {
		size[l]++
	}
	present := 0
	for _, s := range size {
		if s > 0 {
			present++
		}
	}
	if present < 2 {
		return 0
	}
	sum := make([]float64, k)
	total := 0.0
	for i := range n {
		clear(sum)
		ri := x[i*dim : (i+1)*dim]
		for j := range n {
			if j == i {
				continue
			}
			sum[labels[j]] += math.Sqrt(sqDist(ri, x[j*dim:(j+1)*dim]))
		}
		own := labels[i]
		if size[own] < 2 {
			continue
		}
		a := sum[own] / float64(size[own]-1)
		b := math.Inf(1)
		for c, s := range sum {
			if c != own && size[c] > 0 {
				b = min(b, s/float64(size[c]))
			}
		}
		if m := max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	return total / float64(n)
}

// BIC returns the Bayesian information criterion of a clustering under the identical
// spherical Gaussian mixture of X-means (Pelleg & Moore 2000, "X-means: extending k-means
// with efficient estimation of the number of clusters", ICML), in the larger-is-better form
// log L − p/2·log n with p = (k−1) + k·dim + 1 parameters. The log-likelihood at the
// maximum-likelihood variance σ² = inertia / (dim·(n−k)) is
// Σⱼ nⱼ log(nⱼ/n) − n·dim/2·log(2πσ²) − dim·(n−k)/2.
func BIC(r *Result) float64 {
	n := len(r.Labels)
	if n <= r.K {
		return math.Inf(-1)
	}
	d := float64(r.Dim)
	v := r.Inertia / (d * float64(n-r.K))
	if v <= 0 {
		v = math.SmallestNonzeroFloat64
	}
	ll := 0.0
	for _, s := range r.Sizes() {
		if s > 0 {
			ll += float64(s) * math.Log(float64(s)/float64(n))
		}
	}
	ll -= float64(n) * d / 2 * math.Log(2*math.Pi*v)
	ll -= d * float64(n-r.K) / 2
	p := float64(r.K-1) + float64(r.K)*d + 1
	return ll - p/2*math.Log(float64(n))
}

// SampleRows returns m distinct row indices of [0, n) drawn without replacement (all rows,
// in order, when m >= n).
func SampleRows(n, m int, src rand.Source) []int {
	if m >= n {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	rng := rand.New(src)
	// Floyd's algorithm: m draws, no O(n) permutation.
	chosen := make(map[int]bool, m)
	out := make([]int, 0, m)
	for j := n - m; j < n; j++ {
		t := rng.IntN(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
		out = append(out, t)
	}
	return out
}

// Rows copies the given rows of x into a new matrix.
func Rows(x []float64, dim int, rows []int) []float64 {
	out := make([]float64, len(rows)*dim)
	for i, r := range rows {
		copy(out[i*dim:(i+1)*dim], x[r*dim:(r+1)*dim])
	}
	return out
}
