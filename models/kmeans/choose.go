package kmeans

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Criterion names the rule ChooseK uses.
type Criterion int

const (
	// BySilhouette picks the k with the largest mean silhouette on a sample.
	BySilhouette Criterion = iota
	// ByBIC picks the k with the largest BIC (see BIC).
	ByBIC
	// ByGap picks k with the gap statistic of Tibshirani, Walther & Hastie (2001,
	// "Estimating the number of clusters in a data set via the gap statistic", JRSS B
	// 63:411–423): the smallest k with Gap(k) ≥ Gap(k+1) − s(k+1), where Gap(k) is the mean
	// log inertia of uniform reference data in the data's bounding box minus the log inertia of the data, on the silhouette sample.
	ByGap
)

// ChooseSettings tune ChooseK. The zero value gives the defaults.
type ChooseSettings struct {
	Min, Max   int       // range of k tried, inclusive; default 2 and 10
	Criterion  Criterion // default BySilhouette
	SampleSize int       // rows the candidates are fitted on; default 10,000
	// SilhouetteSize is the number of rows the silhouette is computed on (it costs
	// O(m²)); default 2,000.
	SilhouetteSize int
	Fit            Settings // settings of each candidate fit
	// Progress, when not nil, is called with (0, candidates) before the first fit and with
	// (candidates scored, candidates) after each, so that a caller can show progress.
	Progress func(done, total int) `json:"-"`
}

// Candidate is the score of one k.
type Candidate struct {
	K          int     `json:"k"`
	Silhouette float64 `json:"silhouette"`
	BIC        float64 `json:"bic"`
	Inertia    float64 `json:"inertia"` // on the sample
	Gap        float64 `json:"gap,omitempty"`
	GapSE      float64 `json:"gap_se,omitempty"`
}

// Choice is the outcome of ChooseK.
type Choice struct {
	K          int         `json:"k"`
	Criterion  string      `json:"criterion"`
	Candidates []Candidate `json:"candidates"`
}

// ChooseK fits k-means for every k in [s.Min, s.Max] (bounded by the rows available) on
// a sample of x and returns the k the criterion prefers, with every candidate's scores.
func ChooseK(x []float64, dim int, s ChooseSettings, src rand.Source) (*Choice, error) {
	if s.Min <= 0 {
		s.Min = 2
	}
	if s.Max <= 0 {
		s.Max = max(10, s.Min)
	}
	if s.Min > s.Max {
		return nil, fmt.Errorf("kmeans: k range [%d, %d] is empty", s.Min, s.Max)
	}
	if s.SampleSize <= 0 {
		s.SampleSize = 10000
	}
	if s.SilhouetteSize <= 0 {
		s.SilhouetteSize = 2000
	}
	n, err := check(x, dim, s.Min)
	if err != nil {
		return nil, err
	}
	if src == nil {
		src = rand.NewPCG(1, 1)
	}
	rng := rand.New(src)
	sample := x
	if n > s.SampleSize {
		sample = Rows(x, dim, SampleRows(n, s.SampleSize, rng))
	}
	m := len(sample) / dim
	silRows := SampleRows(m, s.SilhouetteSize, rng)
	silX := Rows(sample, dim, silRows)
	silLab := make([]int, len(silRows))
	hi := min(s.Max, m-1)
	if hi < s.Min {
		return nil, &RowsError{K: s.Min + 1, Rows: m}
	}
	ch := &Choice{Criterion: "silhouette"}
	switch s.Criterion {
	case ByBIC:
		ch.Criterion = "bic"
	case ByGap:
		ch.Criterion = "gap"
	}
	best := math.Inf(-1)
	if s.Progress != nil {
		s.Progress(0, hi-s.Min+1)
	}
	for k := s.Min; k <= hi; k++ {
		r, err := Fit(sample, dim, k, s.Fit, rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if err != nil {
			return nil, err
		}
		for i, row := range silRows {
			silLab[i] = r.Labels[row]
		}
		c := Candidate{K: k, Silhouette: Silhouette(silX, dim, silLab), BIC: BIC(r), Inertia: r.Inertia}
		ch.Candidates = append(ch.Candidates, c)
		score := c.Silhouette
		if s.Criterion == ByBIC {
			score = c.BIC
		}
		if score > best {
			best, ch.K = score, k
		}
		if s.Progress != nil {
			s.Progress(k-s.Min+1, hi-s.Min+1)
		}
	}
	if s.Criterion == ByGap {
		if err := gap(ch, silX, dim, s.Fit, rng); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

// gapRefs is the number of reference data sets of the gap statistic.
const gapRefs = 5

// gap fills the candidates' gap statistics (computed on x) and sets ch.K by the
// one-standard-error rule of Tibshirani et al. (2001, section 3).
func gap(ch *Choice, x []float64, dim int, fs Settings, rng *rand.Rand) error {
	n := len(x) / dim
	// Reference distribution: uniform over the range of each column (the paper's option (a)).
	lo := make([]float64, dim)
	hi := make([]float64, dim)
	for d := range dim {
		lo[d], hi[d] = math.Inf(1), math.Inf(-1)
	}
	for i := range n {
		for d, v := range x[i*dim : (i+1)*dim] {
			lo[d] = min(lo[d], v)
			hi[d] = max(hi[d], v)
		}
	}
	ref := make([]float64, len(x))
	logW := make([][]float64, len(ch.Candidates))
	for range gapRefs {
		for i := range n {
			for d := range dim {
				ref[i*dim+d] = lo[d] + (hi[d]-lo[d])*rng.Float64()
			}
		}
		for c, cand := range ch.Candidates {
			r, err := Fit(ref, dim, cand.K, fs, rand.NewPCG(rng.Uint64(), rng.Uint64()))
			if err != nil {
				return err
			}
			logW[c] = append(logW[c], math.Log(r.Inertia))
		}
	}
	for c := range ch.Candidates {
		cand := &ch.Candidates[c]
		r, err := Fit(x, dim, cand.K, fs, rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if err != nil {
			return err
		}
		mean := 0.0
		for _, v := range logW[c] {
			mean += v
		}
		mean /= gapRefs
		sd := 0.0
		for _, v := range logW[c] {
			sd += (v - mean) * (v - mean)
		}
		sd = math.Sqrt(sd / gapRefs)
		cand.Gap = mean - math.Log(r.Inertia)
		cand.GapSE = sd * math.Sqrt(1+1.0/gapRefs)
	}
	ch.K = ch.Candidates[len(ch.Candidates)-1].K
	for c := 0; c+1 < len(ch.Candidates); c++ {
		if ch.Candidates[c].Gap >= ch.Candidates[c+1].Gap-ch.Candidates[c+1].GapSE {
			ch.K = ch.Candidates[c].K
			break
		}
	}
	return nil
}

// StabilitySettings tune Stability. The zero value gives the defaults.
type StabilitySettings struct {
	Resamples  int      // bootstrap resamples; default 10
	SampleSize int      // rows of x used (a random sample when x is larger); default 5,000
	Fit        Settings // settings of each fit; default Restarts 3
	// Progress, when not nil, is called with (0, Resamples) before the first resample and
	// with (resamples done, Resamples) after each, so that a caller can show progress.
	Progress func(done, total int) `json:"-"`
}

// Stability measures how reproducible a k-cluster solution is: the mean adjusted Rand index
// between the clustering of a sample of x and clusterings fitted on bootstrap resamples of
// it, each applied back to the whole sample (the resampling scheme of Lange, Roth, Braun &
// Buhmann 2004, "Stability-based validation of clustering solutions", Neural Computation
// 16:1299–1323, scored with the ARI as in Hennig 2007). 1 means every resample finds the
// same partition.
func Stability(x []float64, dim, k int, s StabilitySettings, src rand.Source) (float64, error) {
	if s.Resamples <= 0 {
		s.Resamples = 10
	}
	if s.SampleSize <= 0 {
		s.SampleSize = 5000
	}
	if s.Fit.Restarts <= 0 {
		s.Fit.Restarts = 3
	}
	n, err := check(x, dim, k)
	if err != nil {
		return 0, err
	}
	if src == nil {
		src = rand.NewPCG(1, 1)
	}
	rng := rand.New(src)
	sample := x
	if n > s.SampleSize {
		sample = Rows(x, dim, SampleRows(n, s.SampleSize, rng))
	}
	m := len(sample) / dim
	ref, err := Fit(sample, dim, k, s.Fit, rand.NewPCG(rng.Uint64(), rng.Uint64()))
	if err != nil {
		return 0, err
	}
	boot := make([]int, m)
	labels := make([]int, m)
	total := 0.0
	if s.Progress != nil {
		s.Progress(0, s.Resamples)
	}
	for b := range s.Resamples {
		for i := range boot {
			boot[i] = rng.IntN(m)
		}
		bx := Rows(sample, dim, boot)
		r, err := Fit(bx, dim, k, s.Fit, rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if err != nil {
			return 0, err
		}
		Assign(sample, dim, r.Centroids, labels, nil)
		total += AdjustedRand(ref.Labels, labels)
		if s.Progress != nil {
			s.Progress(b+1, s.Resamples)
		}
	}
	return total / float64(s.Resamples), nil
}
