package classifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/calibrate"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/logistic"
)

// PayloadVersion is the version of Payload; LoadModel refuses others.
const PayloadVersion = 1

// ErrPayload is wrapped when an artifact's payload is inconsistent.
var ErrPayload = errors.New("tabular: invalid model payload")

// Input is one input column of a model: the table's column, before encoding.
type Input struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // numeric or categorical
}

// Payload is the artifact payload of a tabular model: the encoder and model (one of
// Logistic, GBT), the calibrator, and what is needed to check inputs.
type Payload struct {
	Version    int                   `json:"version"`
	Model      string                `json:"model"`
	Label      string                `json:"label"`
	Positive   string                `json:"positive"`
	Inputs     []Input               `json:"inputs"`
	Features   []string              `json:"features"`
	Reasons    int                   `json:"reasons"`
	Encoder    *encode.Encoder       `json:"encoder,omitempty"`
	Logistic   *logistic.Model       `json:"logistic,omitempty"`
	GBT        *gbt.Model            `json:"gbt,omitempty"`
	Calibrator *calibrate.Calibrator `json:"calibrator"`
	// DecileCuts are the 90th, 80th, ..., 10th percentiles of the calibrated probabilities
	// on the test rows: Decile maps a probability to 1 (top 10%) .. 10.
	DecileCuts []float64 `json:"decile_cuts,omitempty"`
}

// New returns the model of a manifest, a payload and the scorer fitted for it; the scorer's
// state is stored into the payload (Payload.Encoder and Logistic, or GBT).
func New(man artifact.Manifest, p Payload, s Scorer) (*Model, error) {
	m := &Model{Manifest: man, Payload: p, scorer: s}
	if err := m.Payload.setScorer(s); err != nil {
		return nil, err
	}
	return m, nil
}

func (p *Payload) setScorer(s Scorer) error {
	switch s := s.(type) {
	case *logisticScorer:
		p.Encoder, p.Logistic = s.Enc, s.LR
	case *gbtScorer:
		p.GBT = s.M
	default:
		return fmt.Errorf("tabular: cannot store a %T", s)
	}
	return nil
}

func (p *Payload) scorer() (Scorer, error) {
	switch p.Model {
	case ModelLogistic:
		if p.Encoder == nil || p.Logistic == nil {
			return nil, fmt.Errorf("%w: logistic model without encoder or coefficients", ErrPayload)
		}
		return &logisticScorer{Enc: p.Encoder, LR: p.Logistic}, nil
	case ModelGBT:
		if p.GBT == nil {
			return nil, fmt.Errorf("%w: gbt model without trees", ErrPayload)
		}
		return &gbtScorer{M: p.GBT}, nil
	}
	return nil, fmt.Errorf("%w: unknown model %q", ErrPayload, p.Model)
}

// InputsOf returns the columns of f as a model's inputs.
func InputsOf(f *frame.Frame) []Input {
	out := make([]Input, len(f.Columns))
	for i, c := range f.Columns {
		out[i] = Input{Name: c.Name, Kind: c.Kind.String()}
	}
	return out
}

// Model is a trained, calibrated classifier: what training returns and LoadModel reads back.
// It is safe for concurrent use once built.
type Model struct {
	Manifest artifact.Manifest
	Payload  Payload
	scorer   Scorer

	// The one-record path of PredictRow (fastrow.go), built at its first use.
	fastOnce sync.Once
	fast     *rowPath
	scratch  sync.Pool // of *rowScratch

	gbtOnce    sync.Once
	gbtFast    *gbtPath
	gbtScratch sync.Pool // of *gbtScratch
}

// SchemaError reports a table or record whose columns differ from the model's inputs.
type SchemaError struct {
	Missing []string
	Extra   []string
}

func (e *SchemaError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing columns: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "unexpected columns: "+strings.Join(e.Extra, ", "))
	}
	return "tabular: input does not match the model's features: " + strings.Join(parts, "; ")
}

// Inputs returns the names of the columns the model scores.
func (m *Model) Inputs() []string {
	out := make([]string, len(m.Payload.Inputs))
	for i, in := range m.Payload.Inputs {
		out[i] = in.Name
	}
	return out
}

// Check returns a *SchemaError when f's columns are not exactly the model's inputs.
func (m *Model) Check(f *frame.Frame) error {
	return CheckNames(m.Inputs(), f.Names())
}

// CheckNames returns a *SchemaError when the names have differ from the names want (in any
// order).
func CheckNames(want, have []string) error {
	if slices.Equal(want, have) {
		return nil // the common case (a frame built in the model's order), without maps
	}
	w := make(map[string]bool, len(want))
	for _, n := range want {
		w[n] = true
	}
	h := make(map[string]bool, len(have))
	se := &SchemaError{}
	for _, n := range have {
		h[n] = true
		if !w[n] {
			se.Extra = append(se.Extra, n)
		}
	}
	for _, n := range want {
		if !h[n] {
			se.Missing = append(se.Missing, n)
		}
	}
	if len(se.Missing)+len(se.Extra) > 0 {
		sort.Strings(se.Missing)
		sort.Strings(se.Extra)
		return se
	}
	return nil
}

// Select returns the model's input columns of f (sharing its data), leaving out the others
// (ids, labels, columns the model does not use): for scoring a wider table such as a whole
// feature table. Missing inputs are a *SchemaError naming them.
func (m *Model) Select(f *frame.Frame) (*frame.Frame, error) {
	out := &frame.Frame{}
	se := &SchemaError{}
	for _, name := range m.Inputs() {
		c := f.Column(name)
		if c == nil {
			se.Missing = append(se.Missing, name)
			continue
		}
		out.Columns = append(out.Columns, *c)
	}
	if len(se.Missing) > 0 {
		sort.Strings(se.Missing)
		return nil, se
	}
	return out, nil
}

// PredictFrame returns the calibrated probability of every row of f, whose columns must be
// the model's inputs (any order).
func (m *Model) PredictFrame(f *frame.Frame) ([]float64, error) {
	if err := m.Check(f); err != nil {
		return nil, err
	}
	z, err := m.scorer.LogOdds(f)
	if err != nil {
		return nil, err
	}
	return m.Payload.Calibrator.ApplyAll(z), nil
}

// Decile returns the decile of probability p among the test rows' probabilities: 1 for
// the top 10%, 10 for the bottom; 0 when the model has no decile cuts.
func (m *Model) Decile(p float64) int {
	cuts := m.Payload.DecileCuts
	if len(cuts) == 0 {
		return 0
	}
	for k, c := range cuts {
		if p >= c {
			return k + 1
		}
	}
	return len(cuts) + 1
}

// DecileCuts returns the 90th..10th percentiles of p, for Payload.DecileCuts.
func DecileCuts(p []float64) []float64 {
	s := slices.Clone(p)
	slices.Sort(s)
	cuts := make([]float64, 9)
	for k := range cuts {
		q := float64(9-k) / 10
		cuts[k] = s[min(len(s)-1, int(q*float64(len(s))))]
	}
	return cuts
}

// ReasonsFor returns the reasons of row of f (columns as for PredictFrame).
func (m *Model) ReasonsFor(f *frame.Frame, row int) ([]Reason, error) {
	if err := m.Check(f); err != nil {
		return nil, err
	}
	return m.scorer.Reasons(f, row, m.Payload.Reasons)
}

// PredictRow scores one record: a map from every input column to its value (a number, a
// string, a bool, or nil for missing). Keys must be exactly the model's inputs; a
// mismatch is a *SchemaError naming the missing and unexpected keys. A numeric input given
// as a string must parse as a number.
func (m *Model) PredictRow(record map[string]any) (float64, []Reason, error) {
	if p, rs, ok := m.predictRowFast(record); ok {
		return p, rs, nil
	}
	return m.predictRow(record)
}

// predictRow is PredictRow through a frame, as any table is scored.
func (m *Model) predictRow(record map[string]any) (float64, []Reason, error) {
	if !hasExactly(record, m.Payload.Inputs) {
		keys := make([]string, 0, len(record))
		for k := range record {
			keys = append(keys, k)
		}
		if err := CheckNames(m.Inputs(), keys); err != nil {
			return 0, nil, err
		}
	}
	f := &frame.Frame{}
	for _, in := range m.Payload.Inputs {
		v := record[in.Name]
		if in.Kind == frame.Numeric.String() {
			x, err := toNumber(v)
			if err != nil {
				return 0, nil, fmt.Errorf("tabular: field %q: %w", in.Name, err)
			}
			f.AddNumeric(in.Name, []float64{x})
		} else {
			f.AddCategorical(in.Name, []string{toText(v)})
		}
	}
	p, err := m.PredictFrame(f)
	if err != nil {
		return 0, nil, err
	}
	rs, err := m.scorer.Reasons(f, 0, m.Payload.Reasons)
	if err != nil {
		return 0, nil, err
	}
	return p[0], rs, nil
}

// hasExactly reports whether record's keys are the inputs' names (without building the
// maps CheckNames needs to say what differs).
func hasExactly(record map[string]any, inputs []Input) bool {
	if len(record) != len(inputs) {
		return false
	}
	for _, in := range inputs {
		if _, ok := record[in.Name]; !ok {
			return false
		}
	}
	return true
}

func toNumber(v any) (float64, error) {
	var x float64
	switch v := v.(type) {
	case nil:
		return math.NaN(), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		x = f
	case string:
		s := strings.TrimSpace(v)
		if IsMissing(s) {
			return math.NaN(), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		x = f
	default:
		var ok bool
		if x, ok = frame.Number(v); !ok {
			return 0, fmt.Errorf("a %T is not a number", v)
		}
	}
	if math.IsInf(x, 0) {
		return 0, fmt.Errorf("%v is not a finite number", x)
	}
	return x, nil
}

func toText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		s := strings.TrimSpace(v)
		if IsMissing(s) {
			return ""
		}
		return s
	case float64:
		if math.IsNaN(v) {
			return ""
		}
		return formatNum(v)
	case bool:
		return strconv.FormatBool(v)
	default:
		return fmt.Sprint(v)
	}
}

// Save writes the model as an artifact directory (package artifact) and returns the
// manifest written.
func (m *Model) Save(dir string) (artifact.Manifest, error) {
	man, err := artifact.Save(dir, m.Manifest, m.Payload)
	if err == nil {
		m.Manifest = man
	}
	return man, err
}

// LoadModel reads a conversion or churn artifact written by Save, verifying its format
// version and checksum (package artifact), that the payload is consistent with the manifest,
// and that the model can score: a damaged artifact fails here, not at the first request.
func LoadModel(dir string) (*Model, error) {
	var p Payload
	man, err := artifact.Load(dir, "", &p)
	if err != nil {
		return nil, err
	}
	if man.Kind != artifact.KindConversion && man.Kind != artifact.KindChurn {
		return nil, &artifact.Error{Path: dir, Err: fmt.Errorf("%w: %q, want %s or %s", artifact.ErrKind, man.Kind, artifact.KindConversion, artifact.KindChurn)}
	}
	bad := func(format string, a ...any) error {
		return &artifact.Error{Path: dir, Err: fmt.Errorf("%w: %w", artifact.ErrCorrupt, fmt.Errorf("%w: "+format, append([]any{ErrPayload}, a...)...))}
	}
	if p.Version != PayloadVersion {
		return nil, &artifact.Error{Path: dir, Err: fmt.Errorf("%w: payload version %d (this build reads %d)", artifact.ErrVersion, p.Version, PayloadVersion)}
	}
	m := &Model{Manifest: man, Payload: p}
	names := m.Inputs()
	if !slices.Equal(names, man.FeatureNames) {
		return nil, bad("inputs %v differ from the manifest's feature names %v", names, man.FeatureNames)
	}
	if p.Calibrator == nil {
		return nil, bad("no calibrator")
	}
	if err := p.Calibrator.Validate(); err != nil {
		return nil, bad("%v", err)
	}
	for k := 1; k < len(p.DecileCuts); k++ {
		if !(p.DecileCuts[k] <= p.DecileCuts[k-1]) {
			return nil, bad("decile cuts out of order")
		}
	}
	if m.scorer, err = p.scorer(); err != nil {
		return nil, bad("%v", err)
	}
	// Score one all-missing row: exercises every encoder and model check.
	f := &frame.Frame{}
	for _, in := range p.Inputs {
		if in.Kind == frame.Numeric.String() {
			f.AddNumeric(in.Name, []float64{math.NaN()})
		} else {
			f.AddCategorical(in.Name, []string{""})
		}
	}
	if err := smoke(m.scorer, f); err != nil {
		return nil, bad("%v", err)
	}
	return m, nil
}

// smoke scores f, turning a panic of a model package on damaged state into an error.
func smoke(s Scorer, f *frame.Frame) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scoring a test row: %v", r)
		}
	}()
	_, err = s.LogOdds(f)
	return err
}
