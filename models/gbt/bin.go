package gbt

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/propensity-dev/propensity/models/frame"
)

// binSampleRows caps the rows used to place the numeric cut points: quantiles from 200,000
// rows are as good as exact for 255 bins and save sorting millions of values per column.
const binSampleRows = 200_000

// feature is the fitted binning of one input column: model state, stored in the JSON.
type feature struct {
	Name string `json:"name"`
	// Kind is "numeric" or "categorical".
	Kind string `json:"kind"`
	// Thresholds are the numeric cut points, ascending: value v falls in bin i, the least i
	// with v <= Thresholds[i], or in bin len(Thresholds) above them all.
	Thresholds []float64 `json:"thresholds,omitempty"`
	// Categories are the categorical bins, most frequent first: category Categories[i] is bin i.
	Categories []string `json:"categories,omitempty"`

	index map[string]int // Categories → bin
}

func (f *feature) categorical() bool { return f.Kind == frame.Categorical.String() }

// nbins is the number of value bins; the missing bin comes right after them.
func (f *feature) nbins() int {
	if f.categorical() {
		return len(f.Categories)
	}
	return len(f.Thresholds) + 1
}

func (f *feature) buildIndex() {
	f.index = make(map[string]int, len(f.Categories))
	for i, c := range f.Categories {
		f.index[c] = i
	}
}

// code returns the value of row r of c as the traversal sees it: the number itself for a
// numeric column, the category's bin for a categorical one, NaN when missing or unseen.
func (f *feature) code(c *frame.Column, r int) float64 {
	if !f.categorical() {
		return c.Num[r]
	}
	if i, ok := f.index[c.Cat[r]]; ok && c.Cat[r] != "" {
		return float64(i)
	}
	return math.NaN()
}

// fitFeature places the bins of column c, using buf as scratch space; it returns buf, grown
// if needed, for reuse.
func fitFeature(c *frame.Column, maxBins int, sample []int, buf []float64) (feature, []float64) {
	f := feature{Name: c.Name, Kind: c.Kind.String()}
	if c.Kind == frame.Categorical {
		counts := map[string]int{}
		for _, v := range c.Cat {
			if v != "" {
				counts[v]++
			}
		}
		cats := make([]string, 0, len(counts))
		for k := range counts {
			cats = append(cats, k)
		}
		slices.SortFunc(cats, func(a, b string) int {
			if c := cmp.Compare(counts[b], counts[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		if len(cats) > maxBins {
			cats = cats[:maxBins]
		}
		f.Categories = cats
		f.buildIndex()
		return f, buf
	}
	vals := buf[:0]
	if sample == nil {
		for _, v := range c.Num {
			if !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
	} else {
		for _, r := range sample {
			if v := c.Num[r]; !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
	}
	f.Thresholds = quantileCuts(vals, maxBins)
	return f, vals
}

// quantileCuts sorts vals and returns at most maxBins-1 cut points placed so that the bins
// hold about equally many values. A value that alone fills more than a bin gets a bin to
// itself, and the bins after it share what remains. Cuts are midpoints between neighbouring
// distinct values, so every observed value is strictly inside its bin.
func quantileCuts(vals []float64, maxBins int) []float64 {
	if len(vals) == 0 {
		return nil
	}
	slices.Sort(vals)
	distinct := 1
	for i := 1; i < len(vals); i++ {
		if vals[i] != vals[i-1] {
			distinct++
		}
	}
	mid := func(a, b float64) float64 {
		m := a + (b-a)/2
		if m >= b || m < a {
			m = a
		}
		return m
	}
	cuts := make([]float64, 0, min(distinct, maxBins)-1)
	if distinct <= maxBins {
		for i := 1; i < len(vals); i++ {
			if vals[i] != vals[i-1] {
				cuts = append(cuts, mid(vals[i-1], vals[i]))
			}
		}
		return cuts
	}
	remaining := float64(len(vals))
	binsLeft := float64(maxBins)
	acc := 0.0
	// Walk the runs of equal values [i, j).
	for i := 0; i < len(vals) && binsLeft > 1; {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j == len(vals) {
			break
		}
		acc += float64(j - i)
		k := j + 1 // end of the next run
		for k < len(vals) && vals[k] == vals[j] {
			k++
		}
		// Close the bin when it reaches its fair share, or when the next value alone would
		// overfill it by more than half.
		target := remaining / binsLeft
		if acc >= target || acc+float64(k-j) > target*1.5 && acc >= target/2 {
			cuts = append(cuts, mid(vals[i], vals[j]))
			remaining -= acc
			binsLeft--
			acc = 0
		}
		i = j
	}
	return cuts
}

// binSample returns the rows used to place cut points: nil (all rows) for small inputs.
func binSample(n int, rng *rand.Rand) []int {
	if n <= binSampleRows {
		return nil
	}
	s := rng.Perm(n)[:binSampleRows]
	slices.Sort(s)
	return s
}

// binColumn writes the bin of every row of c into dst; missing and unseen values get the
// missing bin, nbins().
func (f *feature) binColumn(c *frame.Column, dst []uint8) {
	miss := uint8(f.nbins())
	if f.categorical() {
		for r, v := range c.Cat {
			if i, ok := f.index[v]; ok && v != "" {
				dst[r] = uint8(i)
			} else {
				dst[r] = miss
			}
		}
		return
	}
	// Branchless lower bound over the cut points padded to 256 with +Inf: the bin is the
	// number of cut points below v (NaN is below none). Four values are searched at once, so
	// that their chains of dependent loads overlap.
	var tt [256]float64
	for i := range tt {
		tt[i] = math.Inf(1)
	}
	copy(tt[:], f.Thresholds)
	num := c.Num[:len(dst)]
	r := 0
	for ; r+4 <= len(num); r += 4 {
		v0, v1, v2, v3 := num[r], num[r+1], num[r+2], num[r+3]
		var i0, i1, i2, i3 int32
		for step := int32(128); step > 0; step >>= 1 {
			i0 += step & -b2i(tt[uint8(i0+step-1)] < v0)
			i1 += step & -b2i(tt[uint8(i1+step-1)] < v1)
			i2 += step & -b2i(tt[uint8(i2+step-1)] < v2)
			i3 += step & -b2i(tt[uint8(i3+step-1)] < v3)
		}
		d := (*[4]uint8)(dst[r : r+4])
		d[0], d[1], d[2], d[3] = uint8(i0), uint8(i1), uint8(i2), uint8(i3)
		if v0 != v0 || v1 != v1 || v2 != v2 || v3 != v3 {
			for k, v := range num[r : r+4] {
				if v != v {
					d[k] = miss
				}
			}
		}
	}
	for ; r < len(num); r++ {
		v := num[r]
		if v != v {
			dst[r] = miss
			continue
		}
		i := int32(0)
		for step := int32(128); step > 0; step >>= 1 {
			i += step & -b2i(tt[uint8(i+step-1)] < v)
		}
		dst[r] = uint8(i)
	}
}
