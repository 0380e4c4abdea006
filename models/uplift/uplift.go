package uplift

import (
	"errors"
	"math"
	"sort"
)

// ErrGroup is returned when a statistic needs treated and control rows and one is empty.
var ErrGroup = errors.New("uplift: no treated or no control rows")

func check(y []float64, t []bool, score []float64) {
	if len(y) != len(t) || len(y) != len(score) {
		panic("uplift: length mismatch")
	}
}

// Order returns the rows by score, highest first; ties keep row order.
func Order(score []float64) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	return idx
}

// Curve is a Qini or uplift curve: X[i] is the share of rows targeted, Y[i] the incremental
// positive outcomes as a share of all rows. X[0] = Y[0] = 0.
type Curve struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// Coefficient returns the area between c and the straight line from (0, 0) to c's last point
// (trapezoidal rule).
func (c Curve) Coefficient() float64 {
	var area float64
	for i := 1; i < len(c.X); i++ {
		area += (c.X[i] - c.X[i-1]) * (c.Y[i] + c.Y[i-1]) / 2
	}
	last := len(c.X) - 1
	return area - c.X[last]*c.Y[last]/2
}

// Thin returns at most n+1 points of c, at about evenly spaced shares, for plotting.
func (c Curve) Thin(n int) Curve {
	if len(c.X) <= n+1 {
		return c
	}
	var out Curve
	next := 0.0
	for i := range c.X {
		if c.X[i] >= next || i == len(c.X)-1 {
			out.X = append(out.X, c.X[i])
			out.Y = append(out.Y, c.Y[i])
			next = c.X[i] + 1/float64(n)
		}
	}
	return out
}

// curves computes the Qini and uplift curves of score.
func curves(y []float64, t []bool, score []float64) (qini, up Curve) {
	check(y, t, score)
	n := float64(len(y))
	idx := Order(score)
	qini = Curve{X: []float64{0}, Y: []float64{0}}
	up = Curve{X: []float64{0}, Y: []float64{0}}
	var nt, nc, yt, yc float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			r := idx[j]
			if t[r] {
				nt++
				yt += y[r]
			} else {
				nc++
				yc += y[r]
			}
			j++
		}
		i = j
		x := float64(j) / n
		q := yt
		if nc > 0 {
			q -= yc * nt / nc
		}
		u := rate(yt, nt) - rate(yc, nc)
		qini.X, qini.Y = append(qini.X, x), append(qini.Y, q/n)
		up.X, up.Y = append(up.X, x), append(up.Y, u*float64(j)/n)
	}
	return qini, up
}

func rate(y, n float64) float64 {
	if n == 0 {
		return 0
	}
	return y / n
}

// QiniCurve returns the Qini curve of ranking by score (Radcliffe 2007).
func QiniCurve(y []float64, treated []bool, score []float64) Curve {
	q, _ := curves(y, treated, score)
	return q
}

// UpliftCurve returns the uplift curve of ranking by score (Gutierrez & Gérardy 2017).
func UpliftCurve(y []float64, treated []bool, score []float64) Curve {
	_, u := curves(y, treated, score)
	return u
}

// Qini returns the Qini coefficient of ranking by score: the area between its Qini curve
// and the random ranking's.
func Qini(y []float64, treated []bool, score []float64) float64 {
	return QiniCurve(y, treated, score).Coefficient()
}

// AUUC returns the area between the uplift curve of ranking by score and the random
// ranking's.
func AUUC(y []float64, treated []bool, score []float64) float64 {
	return UpliftCurve(y, treated, score).Coefficient()
}

// At returns the uplift among the top share of rows by score (the first ⌈share·N⌉ rows; ties
// in row order): the treated rows' positive rate minus the control rows'. It returns
// ErrGroup when the top rows lack treated or control rows.
func At(y []float64, treated []bool, score []float64, share float64) (float64, error) {
	check(y, treated, score)
	k := int(math.Ceil(share * float64(len(y))))
	idx := Order(score)[:min(max(k, 0), len(y))]
	var nt, nc, yt, yc float64
	for _, r := range idx {
		if treated[r] {
			nt++
			yt += y[r]
		} else {
			nc++
			yc += y[r]
		}
	}
	if nt == 0 || nc == 0 {
		return math.NaN(), ErrGroup
	}
	return yt/nt - yc/nc, nil
}

// Group is one of the equal-sized groups of ByGroup.
type Group struct {
	Group       int     `json:"group"` // 1 for the highest scores
	Rows        int     `json:"rows"`
	Treated     int     `json:"treated"`
	Control     int     `json:"control"`
	RateTreated float64 `json:"rate_treated"`
	RateControl float64 `json:"rate_control"`
	// Uplift is RateTreated − RateControl; 0 when a side is empty.
	Uplift float64 `json:"uplift"`
	// SE is the standard error of Uplift, √(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c); +Inf when a
	// side is empty.
	SE float64 `json:"se"`
	// MeanScore is the average score of the group's rows.
	MeanScore float64 `json:"mean_score"`
}

// ByGroup splits the rows, ranked by score, into groups of (nearly) equal size (ten for
// deciles) and returns each group's treated and control outcome rates.
func ByGroup(y []float64, treated []bool, score []float64, groups int) []Group {
	check(y, treated, score)
	idx := Order(score)
	n := len(idx)
	out := make([]Group, 0, groups)
	for g := range groups {
		lo, hi := g*n/groups, (g+1)*n/groups
		gr := Group{Group: g + 1, Rows: hi - lo}
		var yt, yc, s float64
		for _, r := range idx[lo:hi] {
			s += score[r]
			if treated[r] {
				gr.Treated++
				yt += y[r]
			} else {
				gr.Control++
				yc += y[r]
			}
		}
		if gr.Rows > 0 {
			gr.MeanScore = s / float64(gr.Rows)
		}
		gr.SE = math.Inf(1)
		if gr.Treated > 0 && gr.Control > 0 {
			pt, pc := yt/float64(gr.Treated), yc/float64(gr.Control)
			gr.RateTreated, gr.RateControl, gr.Uplift = pt, pc, pt-pc
			gr.SE = math.Sqrt(pt*(1-pt)/float64(gr.Treated) + pc*(1-pc)/float64(gr.Control))
		}
		out = append(out, gr)
	}
	return out
}

// SMD returns the standardised mean difference of x between treated and control rows,
// (mean_t − mean_c) / √((var_t + var_c)/2) (Austin 2009), over the rows where x is not NaN.
// It is 0 when both variances are 0 and the means agree, ±Inf when only the means differ,
// and NaN when a side has no value.
func SMD(x []float64, treated []bool) float64 {
	if len(x) != len(treated) {
		panic("uplift: length mismatch")
	}
	var n, s, ss [2]float64
	for i, v := range x {
		if math.IsNaN(v) {
			continue
		}
		k := 0
		if treated[i] {
			k = 1
		}
		n[k]++
		s[k] += v
		ss[k] += v * v
	}
	if n[0] == 0 || n[1] == 0 {
		return math.NaN()
	}
	var m, v [2]float64
	for k := range 2 {
		m[k] = s[k] / n[k]
		v[k] = math.Max(0, ss[k]/n[k]-m[k]*m[k])
	}
	d := m[1] - m[0]
	if v[0]+v[1] == 0 {
		if d == 0 {
			return 0
		}
		return math.Copysign(math.Inf(1), d)
	}
	return d / math.Sqrt((v[0]+v[1])/2)
}
