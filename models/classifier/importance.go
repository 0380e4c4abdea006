package classifier

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/propensity-dev/propensity/models/frame"
)

// Importance is one model feature's global importance over a set of rows.
type Importance struct {
	Feature string `json:"feature"`
	// Value ranks the features: |Standardized| for logistic regression, MeanAbsSHAP for
	// gradient-boosted trees. Both are in log-odds.
	Value float64 `json:"importance"`

	// Logistic regression: the coefficient of the encoded feature, and the coefficient
	// times the feature's standard deviation over the rows (the change in log-odds for one
	// standard deviation, comparable across features of different scales).
	Coefficient  float64 `json:"coefficient,omitempty"`
	Standardized float64 `json:"standardized_coefficient,omitempty"`

	// Gradient-boosted trees: the feature's share of the total split gain, and its mean
	// absolute TreeSHAP contribution (Lundberg et al. 2018, 2020).
	GainShare   float64 `json:"gain_share,omitempty"`
	MeanAbsSHAP float64 `json:"mean_abs_shap,omitempty"`
}

// Importance returns the global importance of every model feature over the rows of f (the
// model's input columns), most important first. The trees' TreeSHAP values are averaged over
// at most maxRows rows, evenly spaced (0 means 1000); the standard deviations of the logistic
// features over at most 20 × maxRows.
func (m *Model) Importance(f *frame.Frame, maxRows int) ([]Importance, error) {
	f, err := m.Select(f)
	if err != nil {
		return nil, err
	}
	if maxRows <= 0 {
		maxRows = 1000
	}
	var out []Importance
	switch s := m.scorer.(type) {
	case *logisticScorer:
		M, err := s.Enc.Transform(f.Take(spaced(f.Rows(), 20*maxRows)))
		if err != nil {
			return nil, err
		}
		r, c := M.Dims()
		if c != len(s.LR.Coef) {
			return nil, fmt.Errorf("classifier: %d encoded features, %d coefficients", c, len(s.LR.Coef))
		}
		col := make([]float64, r)
		for j, name := range s.Enc.Features {
			sd := 0.0
			if r > 1 {
				sd = stat.StdDev(mat.Col(col, j, M), nil)
			}
			b := s.LR.Coef[j]
			out = append(out, Importance{Feature: name, Value: math.Abs(b * sd), Coefficient: b, Standardized: b * sd})
		}
	case *gbtScorer:
		shap, err := s.M.MeanAbsContributions(f, spaced(f.Rows(), maxRows))
		if err != nil {
			return nil, err
		}
		gain := s.M.Gain()
		total := 0.0
		for _, g := range gain {
			total += g
		}
		for j, name := range s.M.FeatureNames() {
			im := Importance{Feature: name, Value: shap[j], MeanAbsSHAP: shap[j]}
			if total > 0 {
				im.GainShare = gain[j] / total
			}
			out = append(out, im)
		}
	default:
		return nil, fmt.Errorf("classifier: no importance for model %q", m.Payload.Model)
	}
	slices.SortStableFunc(out, func(a, b Importance) int { return cmp.Compare(b.Value, a.Value) })
	return out, nil
}

// spaced returns min(n, k) row indices evenly spaced over [0, n).
func spaced(n, k int) []int {
	k = min(n, k)
	rows := make([]int, k)
	for i := range rows {
		rows[i] = i * n / k
	}
	return rows
}
