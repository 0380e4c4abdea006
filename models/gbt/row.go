package gbt

import (
	"fmt"

	"github.com/propensity-dev/propensity/models/frame"
)

// RowScratch holds the buffers of scoring one row at a time with ScoreRow, for callers that
// score many single rows (online requests, a batch scored person by person): PredictLogOdds
// and Contributions make them afresh at each call, and match their columns by name. A
// RowScratch is for one goroutine at a time.
type RowScratch struct {
	xb      []uint8
	xf      []float64
	contrib []float64
	s       shapper
}

// NewRowScratch returns buffers for ScoreRow with m.
func (m *Model) NewRowScratch() *RowScratch {
	nf := len(m.features)
	return &RowScratch{xb: make([]uint8, nf), xf: make([]float64, nf), contrib: make([]float64, nf)}
}

// CheckColumns reports whether cols can be given to ScoreRow: one column per feature, in the
// order of FeatureNames, each of the feature's name and kind (what PredictLogOdds checks of the
// columns it finds by name).
func (m *Model) CheckColumns(cols []*frame.Column) error {
	if len(cols) != len(m.features) {
		return fmt.Errorf("gbt: %d columns for %d features", len(cols), len(m.features))
	}
	for i := range m.features {
		f, c := &m.features[i], cols[i]
		if c == nil || c.Name != f.Name {
			return &ColumnError{Name: f.Name, Err: ErrMissingColumn}
		}
		if c.Kind.String() != f.Kind {
			return &ColumnError{Name: f.Name, Err: fmt.Errorf("%w: %s, want %s", ErrColumnKind, c.Kind, f.Kind)}
		}
	}
	return nil
}

// ScoreRow returns, for row of cols (columns CheckColumns accepts), the log-odds
// PredictLogOdds gives that row and the TreeSHAP values Contributions gives it, bit for bit:
// the same sums in the same order. contrib is s's buffer, valid until s is used again.
func (m *Model) ScoreRow(cols []*frame.Column, row int, s *RowScratch) (logOdds float64, contrib []float64) {
	nf := len(m.features)
	o := [1]float64{m.base}
	if e := m.batch; e != nil {
		e.binRows(m.features, cols, row, row+1, s.xb[:nf])
		e.add(s.xb[:nf], nf, o[:])
	} else {
		m.fillRows(cols, row, row+1, s.xf[:nf])
		for _, t := range m.trees {
			t.addBlock(s.xf[:nf], nf, o[:])
		}
	}
	m.fillRows(cols, row, row+1, s.xf[:nf])
	contrib = s.contrib[:nf]
	clear(contrib)
	m.contribRow(s.xf[:nf], contrib, &s.s)
	return o[0], contrib
}
