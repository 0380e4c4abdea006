package kmeans

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// blobs returns n rows around each of the given centres with standard deviation sd, and
// the true label of each row.
func blobs(centres [][]float64, n int, sd float64, seed uint64) ([]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	dim := len(centres[0])
	var x []float64
	var lab []int
	for i := 0; i < n; i++ {
		for c, ctr := range centres {
			for d := 0; d < dim; d++ {
				x = append(x, ctr[d]+sd*rng.NormFloat64())
			}
			lab = append(lab, c)
		}
	}
	return x, lab
}

var fourCentres = [][]float64{{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}}

func TestFitErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float64
		dim  int
		k    int
		want error
	}{
		{"k zero", []float64{1, 2, 3, 4}, 2, 0, ErrK},
		{"k negative", []float64{1, 2, 3, 4}, 2, -1, ErrK},
		{"k above rows", []float64{1, 2, 3, 4}, 2, 3, ErrRows},
		{"NaN", []float64{1, 2, math.NaN(), 4}, 2, 1, ErrNaN},
		{"Inf", []float64{1, 2, 3, math.Inf(1)}, 2, 1, ErrNaN},
		{"ragged", []float64{1, 2, 3}, 2, 1, ErrShape},
		{"dim zero", []float64{1, 2, 3}, 0, 1, ErrShape},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.x, tc.dim, tc.k, Settings{}, rand.NewPCG(1, 2))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	_, err := Fit([]float64{1, 2, math.NaN(), 4}, 2, 1, Settings{}, nil)
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Row != 1 || ve.Col != 0 {
		t.Fatalf("NaN error %v does not name row 1 column 0", err)
	}
}

func TestFitRecoversBlobs(t *testing.T) {
	x, truth := blobs(fourCentres, 200, 1, 3)
	for _, tc := range []struct {
		name string
		s    Settings
	}{
		{"lloyd", Settings{}},
		{"lloyd one worker", Settings{Workers: 1, Restarts: 3}},
		{"lloyd split rows", Settings{Workers: 4, Restarts: 1}},
		{"mini-batch", Settings{BatchSize: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Fit(x, 3, 4, tc.s, rand.NewPCG(5, 6))
			if err != nil {
				t.Fatal(err)
			}
			if ari := AdjustedRand(truth, r.Labels); ari < 0.99 {
				t.Errorf("ARI %v, want ≥ 0.99", ari)
			}
			// The reported inertia is the inertia of the reported labels and centroids.
			want := 0.0
			for i, l := range r.Labels {
				want += sqDist(x[i*3:(i+1)*3], r.Centroid(l))
			}
			if math.Abs(r.Inertia-want) > 1e-9*want {
				t.Errorf("inertia %v, recomputed %v", r.Inertia, want)
			}
		})
	}
}

func TestFitDeterministic(t *testing.T) {
	x, _ := blobs(fourCentres, 300, 4, 9)
	a, err := Fit(x, 3, 5, Settings{Workers: 1}, rand.NewPCG(11, 12))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(x, 3, 5, Settings{Workers: 3}, rand.NewPCG(11, 12))
	if err != nil {
		t.Fatal(err)
	}
	if a.Inertia != b.Inertia || AdjustedRand(a.Labels, b.Labels) != 1 {
		t.Fatalf("same seed, different workers: inertia %v vs %v", a.Inertia, b.Inertia)
	}
}

func TestFitSameForAnyWorkers(t *testing.T) {
	// More rows than one work block, one restart: the row blocks are split over threads.
	x, _ := blobs(fourCentres, 3000, 4, 10)
	var ref *Result
	for _, w := range []int{1, 2, 4} {
		r, err := Fit(x, 3, 6, Settings{Restarts: 1, Workers: w}, rand.NewPCG(3, 4))
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = r
			continue
		}
		if r.Inertia != ref.Inertia || AdjustedRand(r.Labels, ref.Labels) != 1 {
			t.Fatalf("workers %d: inertia %v, with one worker %v", w, r.Inertia, ref.Inertia)
		}
	}
}

func TestLloydIsLocalOptimum(t *testing.T) {
	// At convergence each centroid is the mean of its rows and each row is with its nearest
	// centroid (the fixed point of Lloyd's algorithm).
	x, _ := blobs(fourCentres, 100, 5, 21)
	r, err := Fit(x, 3, 6, Settings{}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged {
		t.Fatal("did not converge")
	}
	for i, l := range r.Labels {
		row := x[i*3 : (i+1)*3]
		for j := 0; j < r.K; j++ {
			if sqDist(row, r.Centroid(j)) < sqDist(row, r.Centroid(l))-1e-9 {
				t.Fatalf("row %d is labelled %d but centroid %d is nearer", i, l, j)
			}
		}
	}
}

func TestAssignMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, k := range []int{1, 3, 4, 7, 9} {
		x := make([]float64, 500*5)
		c := make([]float64, k*5)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range c {
			c[i] = rng.NormFloat64()
		}
		lab := make([]int, 500)
		dist := make([]float64, 500)
		in := Assign(x, 5, c, lab, dist)
		want := 0.0
		for i := range 500 {
			bd, bj := math.Inf(1), -1
			for j := range k {
				if d := sqDist(x[i*5:(i+1)*5], c[j*5:(j+1)*5]); d < bd {
					bd, bj = d, j
				}
			}
			if lab[i] != bj || math.Abs(dist[i]-bd) > 1e-9 {
				t.Fatalf("k=%d row %d: got %d (%v), want %d (%v)", k, i, lab[i], dist[i], bj, bd)
			}
			want += bd
		}
		if math.Abs(in-want) > 1e-8 {
			t.Fatalf("k=%d inertia %v want %v", k, in, want)
		}
	}
}

func TestAdjustedRand(t *testing.T) {
	// Reference values: Hubert & Arabie's formula worked by hand; they agree with
	// scikit-learn's adjusted_rand_score documentation examples.
	for _, tc := range []struct {
		name string
		a, b []int
		want float64
	}{
		{"identical", []int{0, 0, 1, 1}, []int{0, 0, 1, 1}, 1},
		{"renamed", []int{0, 0, 1, 1}, []int{5, 5, 2, 2}, 1},
		{"split", []int{0, 0, 1, 1}, []int{0, 0, 1, 2}, 4.0 / 7},
		{"all apart", []int{0, 0, 0, 0}, []int{0, 1, 2, 3}, 0},
		{"crossed", []int{0, 0, 1, 1}, []int{0, 1, 0, 1}, -0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AdjustedRand(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestSilhouette(t *testing.T) {
	// Points 0, 1 | 10, 11 on a line. For 0: a = 1, b = (10+11)/2; for 1: a = 1,
	// b = (9+10)/2; the other cluster mirrors these (Rousseeuw 1987, eq. 1).
	x := []float64{0, 1, 10, 11}
	lab := []int{0, 0, 1, 1}
	want := ((10.5-1)/10.5 + (9.5-1)/9.5) / 2
	if got := Silhouette(x, 1, lab); math.Abs(got-want) > 1e-12 {
		t.Fatalf("got %v want %v", got, want)
	}
	if got := Silhouette(x, 1, []int{0, 0, 0, 0}); got != 0 {
		t.Fatalf("one cluster: got %v want 0", got)
	}
}

func TestChooseK(t *testing.T) {
	x, _ := blobs(fourCentres, 150, 1, 4)
	for _, crit := range []Criterion{BySilhouette, ByBIC, ByGap} {
		c, err := ChooseK(x, 3, ChooseSettings{Min: 2, Max: 8, Criterion: crit}, rand.NewPCG(1, 2))
		if err != nil {
			t.Fatal(err)
		}
		if c.K != 4 {
			t.Errorf("%s chose k = %d, want 4 (%+v)", c.Criterion, c.K, c.Candidates)
		}
	}
	if _, err := ChooseK(x[:6], 3, ChooseSettings{Min: 2, Max: 5}, nil); !errors.Is(err, ErrRows) {
		t.Errorf("two rows: error %v, want ErrRows", err)
	}
}

func TestStability(t *testing.T) {
	x, _ := blobs(fourCentres, 100, 1, 8)
	s, err := Stability(x, 3, 4, StabilitySettings{Resamples: 5}, rand.NewPCG(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if s < 0.99 {
		t.Errorf("separated blobs: stability %v, want ≈ 1", s)
	}
	// Uniform noise split into 7 parts has no stable structure.
	rng := rand.New(rand.NewPCG(2, 2))
	u := make([]float64, 400*2)
	for i := range u {
		u[i] = rng.Float64()
	}
	s2, err := Stability(u, 2, 7, StabilitySettings{Resamples: 5}, rand.NewPCG(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if s2 >= s {
		t.Errorf("noise stability %v not below blobs %v", s2, s)
	}
}

func TestBICPrefersTrueK(t *testing.T) {
	x, _ := blobs(fourCentres, 100, 1, 5)
	var b [7]float64
	for k := 1; k <= 6; k++ {
		r, err := Fit(x, 3, k, Settings{}, rand.NewPCG(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		b[k] = BIC(r)
	}
	for k := 1; k <= 6; k++ {
		if k != 4 && b[k] >= b[4] {
			t.Errorf("BIC(k=%d) = %v ≥ BIC(4) = %v", k, b[k], b[4])
		}
	}
}

func TestSampleRows(t *testing.T) {
	rows := SampleRows(100, 30, rand.NewPCG(1, 1))
	seen := map[int]bool{}
	for _, r := range rows {
		if r < 0 || r >= 100 || seen[r] {
			t.Fatalf("bad or repeated row %d", r)
		}
		seen[r] = true
	}
	if len(rows) != 30 {
		t.Fatalf("%d rows, want 30", len(rows))
	}
}

func BenchmarkFit(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, dim, k = 100000, 20, 8
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(x, dim, k, Settings{Restarts: 2}, rand.NewPCG(1, 2)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkAssign(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, dim, k = 100000, 20, 8
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	c := x[:k*dim]
	lab := make([]int, n)
	dist := make([]float64, n)
	b.ReportAllocs()
	for b.Loop() {
		Assign(x, dim, c, lab, dist)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
