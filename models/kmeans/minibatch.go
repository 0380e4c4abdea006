package kmeans

// miniBatch runs mini-batch k-means (Sculley 2010, "Web-scale k-means clustering", WWW,
// algorithm 1): each step assigns a random batch to the nearest centroids and moves each
// centroid towards its rows with a per-centroid learning rate 1/(rows seen so far). A final
// full assignment gives labels and inertia.
func (f *fitter) miniBatch(s Settings) *Result {
	b := min(s.BatchSize, f.n)
	steps := s.MaxIter
	if steps == 300 || steps <= 0 { // the Lloyd default is not a sensible number of batches
		steps = max(100, 10*f.n/b)
	}
	f.centroids = f.seedPlusPlusSample(b)
	f.cnorm = make([]float64, f.k)
	seen := make([]float64, f.k)
	batch := make([]float64, b*f.dim)
	bnorm := make([]float64, b)
	blab := make([]int, b)
	bdist := make([]float64, b)
	for step := 0; step < steps; step++ {
		for i := range b {
			r := f.rng.IntN(f.n)
			copy(batch[i*f.dim:(i+1)*f.dim], f.x[r*f.dim:(r+1)*f.dim])
			bnorm[i] = f.xnorm[r]
		}
		centroidNorms(f.centroids, f.dim, f.cnorm)
		assignRange(batch, bnorm, f.dim, f.centroids, f.cnorm, 0, b, blab, bdist)
		for i := range b {
			j := blab[i]
			seen[j]++
			eta := 1 / seen[j]
			c := f.centroids[j*f.dim : (j+1)*f.dim]
			for d, v := range batch[i*f.dim : (i+1)*f.dim] {
				c[d] += eta * (v - c[d])
			}
		}
	}
	f.labels = make([]int, f.n)
	f.dist = make([]float64, f.n)
	res := &Result{K: f.k, Dim: f.dim, Iterations: steps, Converged: true}
	res.Inertia = f.assignAll()
	res.Centroids = f.centroids
	res.Labels = f.labels
	return res
}

// seedPlusPlusSample seeds on a random sample of m rows (at least 3k), which is how large
// inputs keep k-means++ cheap.
func (f *fitter) seedPlusPlusSample(m int) []float64 {
	m = min(f.n, max(m, 3*f.k))
	if m >= f.n {
		return f.seedPlusPlus()
	}
	sub := make([]float64, m*f.dim)
	for i := range m {
		r := f.rng.IntN(f.n)
		copy(sub[i*f.dim:(i+1)*f.dim], f.x[r*f.dim:(r+1)*f.dim])
	}
	g := &fitter{x: sub, n: m, dim: f.dim, k: f.k, threads: 1, rng: f.rng}
	return g.seedPlusPlus()
}
