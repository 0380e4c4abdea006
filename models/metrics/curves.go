package metrics

import "math"

// PRPoint is one point of a precision-recall curve: everyone scoring at or above Threshold
// is flagged.
type PRPoint struct {
	Threshold float64 `json:"threshold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// PRCurve returns the precision-recall curve, one point per distinct score from the highest
// down (the steps that AveragePrecision sums). It starts at recall 0 with the precision and
// threshold of the first step, as scikit-learn's precision_recall_curve ends.
func PRCurve(y, p, w []float64) ([]PRPoint, error) {
	check(y, p, w)
	if len(y) == 0 {
		return nil, ErrEmpty
	}
	idx := order(p)
	var wPos float64
	for i := range y {
		if y[i] == 1 {
			wPos += weight(w, i)
		}
	}
	if wPos <= 0 {
		return nil, ErrOneClass
	}
	var out []PRPoint
	var tp, all float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			k := idx[j]
			if y[k] == 1 {
				tp += weight(w, k)
			}
			all += weight(w, k)
			j++
		}
		if all > 0 {
			out = append(out, PRPoint{Threshold: p[idx[i]], Precision: tp / all, Recall: tp / wPos})
		}
		i = j
	}
	if len(out) > 0 {
		out = append([]PRPoint{{Threshold: out[0].Threshold, Precision: out[0].Precision, Recall: 0}}, out...)
	}
	return out, nil
}

// Thin keeps at most n points of a curve (n >= 2), evenly spaced by index, always the first
// and the last: enough to draw it or store it in a report.
func Thin(curve []PRPoint, n int) []PRPoint {
	if len(curve) <= n || n < 2 {
		return curve
	}
	out := make([]PRPoint, 0, n)
	for i := range n - 1 {
		out = append(out, curve[i*(len(curve)-1)/(n-1)])
	}
	return append(out, curve[len(curve)-1])
}

// Cutoff is what flagging the top Share of rows by score gives.
type Cutoff struct {
	Share     float64 `json:"share"`     // requested share of rows flagged
	Rows      int     `json:"rows"`      // rows flagged
	Threshold float64 `json:"threshold"` // lowest score flagged
	Positives float64 `json:"positives"` // weighted positives among them
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Lift      float64 `json:"lift"` // precision / overall positive rate
}

// DefaultShares are the cut-offs of a threshold table: the top 5, 10, 20, 30 and 50%.
var DefaultShares = []float64{0.05, 0.1, 0.2, 0.3, 0.5}

// Cutoffs returns precision, recall and lift of flagging the top share of rows by score,
// for each share (DefaultShares when nil). The top k = ceil(share·n) rows are flagged;
// ties at the boundary are broken by row order, as in Lift.
func Cutoffs(y, p, w []float64, shares []float64) ([]Cutoff, error) {
	check(y, p, w)
	if shares == nil {
		shares = DefaultShares
	}
	n := len(y)
	if n == 0 {
		return nil, ErrEmpty
	}
	idx := order(p)
	totPos, totW, err := totals(y, w)
	if err != nil {
		return nil, err
	}
	base := totPos / totW
	out := make([]Cutoff, 0, len(shares))
	for _, s := range shares {
		k := min(max(int(math.Ceil(s*float64(n)-1e-9)), 1), n)
		var sp, sw float64
		for _, i := range idx[:k] {
			sp += weight(w, i) * y[i]
			sw += weight(w, i)
		}
		c := Cutoff{Share: s, Rows: k, Threshold: p[idx[k-1]], Positives: sp, Recall: sp / totPos}
		if sw > 0 {
			c.Precision = sp / sw
			c.Lift = c.Precision / base
		}
		out = append(out, c)
	}
	return out, nil
}

// Wilson returns the Wilson score interval of a proportion rate observed on n trials, at
// z standard errors (1.96 for 95%; Wilson 1927, as recommended over the Wald interval by
// Brown, Cai & DasGupta 2001). n <= 0 gives [0, 1].
func Wilson(rate, n, z float64) (lo, hi float64) {
	if n <= 0 || math.IsNaN(rate) {
		return 0, 1
	}
	z2 := z * z
	den := 1 + z2/n
	centre := (rate + z2/(2*n)) / den
	half := z / den * math.Sqrt(rate*(1-rate)/n+z2/(4*n*n))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}
