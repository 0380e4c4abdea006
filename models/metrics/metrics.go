package metrics

import (
	"errors"
	"math"
	"sort"
)

// ErrOneClass is returned by ranking metrics when the labels hold a single class (or either
// class has zero total weight), for which they are undefined.
var ErrOneClass = errors.New("metrics: labels hold a single class")

// ErrEmpty is returned when there is nothing to score.
var ErrEmpty = errors.New("metrics: no predictions")

// Eps bounds probabilities away from 0 and 1 in LogLoss, as scikit-learn does, so one
// confident mistake costs -log(1e-15) ≈ 34.5 instead of infinity.
const Eps = 1e-15

func check(y, p, w []float64) {
	if len(y) != len(p) {
		panic("metrics: len(y) != len(p)")
	}
	if w != nil && len(w) != len(y) {
		panic("metrics: len(w) != len(y)")
	}
}

func weight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// order returns the indices of p sorted by decreasing score, ties by index.
func order(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	return idx
}

// AUC returns the area under the ROC curve: the probability that a random positive scores
// above a random negative, ties counting one half (Hanley & McNeil 1982), with each pair
// weighted by the product of its weights.
func AUC(y, p, w []float64) (float64, error) {
	check(y, p, w)
	idx := order(p)
	var posAbove, area, wPos, wNeg float64
	// Walk from the highest score down; within a group of tied scores, each negative meets
	// the positives above it fully and the tied positives by half.
	for i := 0; i < len(idx); {
		j := i
		var gp, gn float64
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			k := idx[j]
			if y[k] == 1 {
				gp += weight(w, k)
			} else {
				gn += weight(w, k)
			}
			j++
		}
		area += gn * (posAbove + gp/2)
		posAbove += gp
		wPos += gp
		wNeg += gn
		i = j
	}
	if len(y) == 0 {
		return 0, ErrEmpty
	}
	if wPos <= 0 || wNeg <= 0 {
		return 0, ErrOneClass
	}
	return area / (wPos * wNeg), nil
}

// ROC returns the points of the ROC curve from (0,0) to (1,1), one per distinct score
// (thresholds descending).
func ROC(y, p, w []float64) (fpr, tpr []float64, err error) {
	check(y, p, w)
	idx := order(p)
	var wPos, wNeg float64
	for i := range y {
		if y[i] == 1 {
			wPos += weight(w, i)
		} else {
			wNeg += weight(w, i)
		}
	}
	if wPos <= 0 || wNeg <= 0 {
		return nil, nil, ErrOneClass
	}
	fpr, tpr = []float64{0}, []float64{0}
	var tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			k := idx[j]
			if y[k] == 1 {
				tp += weight(w, k)
			} else {
				fp += weight(w, k)
			}
			j++
		}
		fpr = append(fpr, fp/wNeg)
		tpr = append(tpr, tp/wPos)
		i = j
	}
	return fpr, tpr, nil
}

// AveragePrecision returns the area under the precision-recall curve as average precision,
// Σ (R_k − R_{k−1}) P_k over distinct score thresholds k (the step-wise sum of scikit-learn's
// average_precision_score, without interpolation).
func AveragePrecision(y, p, w []float64) (float64, error) {
	curve, err := PRCurve(y, p, w)
	if err != nil {
		return 0, err
	}
	ap := 0.0
	for k := 1; k < len(curve); k++ {
		ap += (curve[k].Recall - curve[k-1].Recall) * curve[k].Precision
	}
	return ap, nil
}

// LogLoss returns the weighted mean negative log-likelihood −[y log p + (1−y) log(1−p)],
// with p clipped to [Eps, 1−Eps].
func LogLoss(y, p, w []float64) float64 {
	check(y, p, w)
	var s, ws float64
	for i := range y {
		q := math.Min(math.Max(p[i], Eps), 1-Eps)
		wi := weight(w, i)
		if y[i] == 1 {
			s -= wi * math.Log(q)
		} else {
			s -= wi * math.Log1p(-q)
		}
		ws += wi
	}
	if ws == 0 {
		return 0
	}
	return s / ws
}

// Brier returns the weighted mean squared difference (p − y)² (Brier 1950).
func Brier(y, p, w []float64) float64 {
	check(y, p, w)
	var s, ws float64
	for i := range y {
		d := p[i] - y[i]
		wi := weight(w, i)
		s += wi * d * d
		ws += wi
	}
	if ws == 0 {
		return 0
	}
	return s / ws
}

// Bin is one bin of a reliability diagram.
type Bin struct {
	// The bin covers Lo <= p < Hi (the last bin includes 1).
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	MeanScore float64 `json:"mean_score"` // weighted mean predicted probability in the bin
	Rate      float64 `json:"rate"`       // weighted share of positives in the bin
	Weight    float64 `json:"weight"`     // total weight in the bin
	Count     int     `json:"count"`      // rows in the bin
}

// Reliability groups predictions into bins equal-width bins over [0, 1] (10 when bins <= 0)
// and returns the non-empty ones: the data of a calibration plot.
func Reliability(y, p, w []float64, bins int) []Bin {
	check(y, p, w)
	if bins <= 0 {
		bins = 10
	}
	all := make([]Bin, bins)
	for b := range all {
		all[b].Lo = float64(b) / float64(bins)
		all[b].Hi = float64(b+1) / float64(bins)
	}
	for i := range y {
		b := int(p[i] * float64(bins))
		b = min(max(b, 0), bins-1)
		wi := weight(w, i)
		all[b].MeanScore += wi * p[i]
		all[b].Rate += wi * y[i]
		all[b].Weight += wi
		all[b].Count++
	}
	out := all[:0]
	for _, b := range all {
		if b.Count == 0 || b.Weight <= 0 {
			continue
		}
		b.MeanScore /= b.Weight
		b.Rate /= b.Weight
		out = append(out, b)
	}
	return out
}

// ECE returns the expected calibration error over 10 equal-width probability bins:
// Σ_b (W_b / W) |rate_b − meanScore_b| (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017).
// Equal-width rather than equal-mass bins, so the number compares across models.
func ECE(y, p, w []float64) float64 {
	var s, ws float64
	for _, b := range Reliability(y, p, w, 10) {
		s += b.Weight * math.Abs(b.Rate-b.MeanScore)
		ws += b.Weight
	}
	if ws == 0 {
		return 0
	}
	return s / ws
}

// LiftRow is one group of a lift table, highest scores first.
type LiftRow struct {
	Decile         int     `json:"decile"`          // 1 = the highest scores
	Rows           int     `json:"rows"`            // rows in the group
	MeanScore      float64 `json:"mean_score"`      // weighted mean predicted probability
	Positives      float64 `json:"positives"`       // weighted positives
	Rate           float64 `json:"rate"`            // weighted share of positives
	Lift           float64 `json:"lift"`            // Rate / overall rate
	CumulativeLift float64 `json:"cumulative_lift"` // rate of groups 1..d / overall rate
	Gain           float64 `json:"gain"`            // share of all positives in groups 1..d
}

// Lift sorts rows by decreasing score, cuts them into groups equal groups of rows (10 when
// groups <= 0; rows with tied scores may straddle a boundary, which is broken by row order)
// and returns each group's rate, lift and cumulative gain.
func Lift(y, p, w []float64, groups int) ([]LiftRow, error) {
	check(y, p, w)
	if groups <= 0 {
		groups = 10
	}
	n := len(y)
	if n == 0 {
		return nil, ErrEmpty
	}
	groups = min(groups, n)
	idx := order(p)
	totPos, totW, err := totals(y, w)
	if err != nil {
		return nil, err
	}
	base := totPos / totW
	out := make([]LiftRow, groups)
	var cumPos, cumW float64
	for g := range groups {
		lo, hi := g*n/groups, (g+1)*n/groups
		var sp, sw, ss float64
		for _, k := range idx[lo:hi] {
			wk := weight(w, k)
			sp += wk * y[k]
			sw += wk
			ss += wk * p[k]
		}
		cumPos += sp
		cumW += sw
		r := LiftRow{Decile: g + 1, Rows: hi - lo, Positives: sp, Gain: cumPos / totPos}
		if sw > 0 {
			r.MeanScore = ss / sw
			r.Rate = sp / sw
			r.Lift = r.Rate / base
		}
		if cumW > 0 {
			r.CumulativeLift = cumPos / cumW / base
		}
		out[g] = r
	}
	return out, nil
}

// totals returns the weighted positives and the total weight, or ErrOneClass when either
// is not positive.
func totals(y, w []float64) (pos, all float64, err error) {
	for i := range y {
		pos += weight(w, i) * y[i]
		all += weight(w, i)
	}
	if pos <= 0 || all <= 0 {
		return pos, all, ErrOneClass
	}
	return pos, all, nil
}

// Summary holds the usual metrics of one set of predictions.
type Summary struct {
	AUC       float64   `json:"auc"`
	PRAUC     float64   `json:"pr_auc"`
	LogLoss   float64   `json:"log_loss"`
	Brier     float64   `json:"brier"`
	ECE       float64   `json:"ece"`
	Rows      int       `json:"rows"`
	Positives float64   `json:"positives"`
	Lift      []LiftRow `json:"lift"`
}

// Summarize computes every metric of Summary. It fails only when a ranking metric is
// undefined (a single class, or no rows).
func Summarize(y, p, w []float64) (Summary, error) {
	s := Summary{Rows: len(y)}
	var err error
	if s.AUC, err = AUC(y, p, w); err != nil {
		return s, err
	}
	if s.PRAUC, err = AveragePrecision(y, p, w); err != nil {
		return s, err
	}
	if s.Lift, err = Lift(y, p, w, 10); err != nil {
		return s, err
	}
	s.LogLoss = LogLoss(y, p, w)
	s.Brier = Brier(y, p, w)
	s.ECE = ECE(y, p, w)
	for i := range y {
		s.Positives += weight(w, i) * y[i]
	}
	return s, nil
}
