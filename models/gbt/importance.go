package gbt

import (
	"fmt"
	"math"

	"github.com/propensity-dev/propensity/models/frame"
)

// Gain returns each feature's total split gain over all trees (the loss reduction of the
// splits on it, XGBoost's "total_gain"), in the order of FeatureNames.
func (m *Model) Gain() []float64 {
	out := make([]float64, len(m.features))
	for _, t := range m.trees {
		for _, n := range t.nodes {
			if n.Feature >= 0 {
				out[n.Feature] += n.Gain
			}
		}
	}
	return out
}

// MeanAbsContributions returns each feature's mean absolute TreeSHAP value (Contributions)
// over the given rows of X (all rows when rows is nil): the global importance of Lundberg et
// al. (2020, "From local explanations to global understanding with explainable AI for
// trees"), in log-odds, in the order of FeatureNames.
func (m *Model) MeanAbsContributions(X *frame.Frame, rows []int) ([]float64, error) {
	cols, err := m.columns(X)
	if err != nil {
		return nil, err
	}
	if rows == nil {
		rows = make([]int, X.Rows())
		for i := range rows {
			rows[i] = i
		}
	}
	nf := len(m.features)
	out := make([]float64, nf)
	if len(rows) == 0 {
		return out, nil
	}
	x := make([]float64, nf)
	phi := make([]float64, nf)
	var s shapper
	for _, r := range rows {
		if r < 0 || r >= X.Rows() {
			return nil, fmt.Errorf("%w: %d of %d", ErrRow, r, X.Rows())
		}
		m.fillRows(cols, r, r+1, x)
		clear(phi)
		m.contribRow(x, phi, &s)
		for j, v := range phi {
			out[j] += math.Abs(v)
		}
	}
	for j := range out {
		out[j] /= float64(len(rows))
	}
	return out, nil
}
