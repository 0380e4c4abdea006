package classifier

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/propensity-dev/propensity/models/frame"
)

// The one-record path of PredictRow for logistic models: online scoring calls PredictRow once
// per request and model, so the work that depends only on the model (input positions,
// encoder checks) is done once, and the buffers of one call are reused through a pool. Its
// results are those of the general path, bit for bit; on any error it steps aside and the
// general path produces the error.

// rowPath is what the one-record path precomputes for a model.
type rowPath struct {
	lr       *logisticScorer
	inputSet map[string]struct{}
	numeric  []bool // per input
}

// rowScratch holds the buffers of one call.
type rowScratch struct {
	cols []frame.Column // one row each, in input order
	nums []float64
	cats []string
	x    []float64  // the encoded, standardised row
	xm   *mat.Dense // x as a 1-row matrix
	top  []reasonCand
}

type reasonCand struct {
	j   int
	abs float64
}

// rowPath returns the model's one-record path, or nil when the model cannot use it.
func (m *Model) rowPath() *rowPath {
	m.fastOnce.Do(func() {
		lr, ok := m.scorer.(*logisticScorer)
		if !ok || lr.Enc == nil || lr.LR == nil || len(lr.Enc.Features) == 0 {
			return
		}
		names := m.Inputs()
		if lr.Enc.Prepare(names) != nil {
			return
		}
		rp := &rowPath{lr: lr, inputSet: make(map[string]struct{}, len(names)), numeric: make([]bool, len(names))}
		for i, in := range m.Payload.Inputs {
			rp.inputSet[in.Name] = struct{}{}
			rp.numeric[i] = in.Kind == frame.Numeric.String()
		}
		if len(rp.inputSet) != len(names) {
			return
		}
		m.fast = rp
	})
	return m.fast
}

func (m *Model) getScratch(rp *rowPath) *rowScratch {
	if s, ok := m.scratch.Get().(*rowScratch); ok {
		return s
	}
	n := len(m.Payload.Inputs)
	s := &rowScratch{cols: make([]frame.Column, n), nums: make([]float64, n), cats: make([]string, n),
		x: make([]float64, len(rp.lr.Enc.Features))}
	s.xm = mat.NewDense(1, len(s.x), s.x)
	for i, in := range m.Payload.Inputs {
		if rp.numeric[i] {
			s.cols[i] = frame.Column{Name: in.Name, Kind: frame.Numeric, Num: s.nums[i : i+1 : i+1]}
		} else {
			s.cols[i] = frame.Column{Name: in.Name, Kind: frame.Categorical, Cat: s.cats[i : i+1 : i+1]}
		}
	}
	return s
}

func (m *Model) putScratch(s *rowScratch) {
	clear(s.cats)
	m.scratch.Put(s)
}

// predictRowFast is PredictRow for a logistic model; ok is false when the general path must
// answer instead (another model, a record that does not match, any error).
func (m *Model) predictRowFast(record map[string]any) (p float64, rs []Reason, ok bool) {
	rp := m.rowPath()
	if rp == nil || len(record) != len(rp.numeric) {
		return 0, nil, false
	}
	for k := range record {
		if _, in := rp.inputSet[k]; !in {
			return 0, nil, false
		}
	}
	s := m.getScratch(rp)
	defer m.putScratch(s)
	for i, in := range m.Payload.Inputs {
		v := record[in.Name]
		if rp.numeric[i] {
			x, err := toNumber(v)
			if err != nil {
				return 0, nil, false
			}
			s.nums[i] = x
		} else {
			s.cats[i] = toText(v)
		}
	}
	return m.scoreScratch(rp, s)
}

// PredictValues is PredictRow with the record given by position, in Inputs order, which
// spares the caller a map per call: the value of input i is str[i] when that is not empty,
// else num[i], NaN standing for nil (missing). Its answers and errors are PredictRow's for
// that record.
func (m *Model) PredictValues(num []float64, str []string) (float64, []Reason, error) {
	if n := len(m.Payload.Inputs); len(num) != n || len(str) != n {
		return 0, nil, fmt.Errorf("tabular: %d numbers and %d strings for %d inputs", len(num), len(str), n)
	}
	if p, rs, ok := m.predictValuesFast(num, str); ok {
		return p, rs, nil
	}
	return m.predictRow(valuesRecord(m.Payload.Inputs, num, str))
}

// valuesRecord is the PredictRow record of PredictValues' arguments.
func valuesRecord(inputs []Input, num []float64, str []string) map[string]any {
	rec := make(map[string]any, len(inputs))
	for i, in := range inputs {
		switch {
		case str[i] != "":
			rec[in.Name] = str[i]
		case !math.IsNaN(num[i]):
			rec[in.Name] = num[i]
		default:
			rec[in.Name] = nil
		}
	}
	return rec
}

// predictValuesFast is predictRowFast for PredictValues' arguments: each value is converted
// as toNumber or toText converts the record's value.
func (m *Model) predictValuesFast(num []float64, str []string) (p float64, rs []Reason, ok bool) {
	if gp := m.gbtPath(); gp != nil {
		return m.predictValuesGBT(gp, num, str)
	}
	rp := m.rowPath()
	if rp == nil {
		return 0, nil, false
	}
	s := m.getScratch(rp)
	defer m.putScratch(s)
	if !fillValues(rp.numeric, s.nums, s.cats, num, str) {
		return 0, nil, false
	}
	return m.scoreScratch(rp, s)
}

// fillValues converts PredictValues' arguments into a record's numbers and texts (nums[i] for
// a numeric input, cats[i] for a categorical one) as toNumber and toText convert the values
// of a PredictRow record; false when toNumber would refuse one.
func fillValues(numeric []bool, nums []float64, cats []string, num []float64, str []string) bool {
	for i, isNum := range numeric {
		switch {
		case isNum && str[i] != "":
			x, err := toNumber(str[i])
			if err != nil {
				return false
			}
			nums[i] = x
		case isNum:
			if math.IsInf(num[i], 0) { // toNumber refuses it
				return false
			}
			nums[i] = num[i]
		case str[i] != "":
			cats[i] = strings.TrimSpace(str[i]) // toText of a string
			if IsMissing(cats[i]) {
				cats[i] = ""
			}
		case !math.IsNaN(num[i]):
			cats[i] = formatNum(num[i]) // toText of a float64
		default:
			cats[i] = ""
		}
	}
	return true
}

// scoreScratch scores the record in s: the tail of predictRowFast.
func (m *Model) scoreScratch(rp *rowPath, s *rowScratch) (p float64, rs []Reason, ok bool) {
	enc, lr := rp.lr.Enc, rp.lr.LR
	if enc.TransformRow(s.cols, 0, s.x) != nil {
		return 0, nil, false
	}
	z, err := lr.PredictLogOdds(s.xm)
	if err != nil {
		return 0, nil, false
	}
	p = m.Payload.Calibrator.Apply(z[0])
	rs, ok = m.reasonsFast(s)
	if !ok {
		return 0, nil, false
	}
	return p, rs, true
}

// reasonsFast is logisticScorer.Reasons of the encoded row s.x (topReasons), with the
// scratch's buffers.
func (m *Model) reasonsFast(s *rowScratch) ([]Reason, bool) {
	k := m.Payload.Reasons
	if k <= 0 {
		return nil, false
	}
	lr := m.fast.lr
	var out []Reason
	var ok bool
	out, s.top, ok = topReasons(s.x, lr.Enc, lr.LR, lr.reasonUnits(), k, s.top)
	return out, ok
}
