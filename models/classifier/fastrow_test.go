package classifier

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/calibrate"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/logistic"
)

// checkSamePaths compares PredictRow (the one-record path) with the general path.
func checkSamePaths(t *testing.T, m *Model, rec map[string]any) {
	t.Helper()
	p1, rs1, err1 := m.PredictRow(rec)
	p2, rs2, err2 := m.predictRow(rec)
	if fmt.Sprint(err1) != fmt.Sprint(err2) {
		t.Fatalf("%v: errors %v and %v", rec, err1, err2)
	}
	if math.Float64bits(p1) != math.Float64bits(p2) || !reflect.DeepEqual(rs1, rs2) {
		t.Fatalf("%v:\n one-record %v %+v\n general    %v %+v", rec, p1, rs1, p2, rs2)
	}
}

func TestPredictRowPathsAgree(t *testing.T) {
	res, err := train(synthetic(2000, 3), encode.Options{}, artifact.KindChurn)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if m.rowPath() == nil {
		t.Fatal("a logistic model has no one-record path")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for range 300 {
		rec := map[string]any{"x": rng.NormFloat64() * 3, "noise": rng.NormFloat64(),
			"plan": []any{"basic", "pro", "team", "other", nil, ""}[rng.IntN(6)]}
		if rng.IntN(5) == 0 {
			rec["x"] = nil
		}
		if rng.IntN(7) == 0 {
			rec["noise"] = "1.25"
		}
		checkSamePaths(t, m, rec)
	}
	for _, rec := range []map[string]any{
		{"x": 1.0, "noise": 0.5},
		{"x": 1.0, "noise": 0.5, "plan": "pro", "extra": 1},
		{"x": 1.0, "noise": "lots", "plan": "pro"},
		{"x": 1.0, "nois": 0.5, "plan": "pro"},
		{"x": math.Inf(1), "noise": 0.5, "plan": "pro"},
	} {
		checkSamePaths(t, m, rec)
	}
}

// TestPredictRowTies checks the order of equal effects: feature order, as a stable sort.
func TestPredictRowTies(t *testing.T) {
	const n = 12
	enc := &encode.Encoder{Version: encode.Version}
	lr := &logistic.Model{}
	var inputs []Input
	for j := range n {
		name := fmt.Sprintf("f%02d", j)
		inputs = append(inputs, Input{Name: name, Kind: "numeric"})
		enc.Columns = append(enc.Columns, encode.Column{Name: name, Kind: "numeric", Method: encode.MethodNumeric, Value: true, First: j, Width: 1})
		enc.Features = append(enc.Features, name)
		enc.Mean = append(enc.Mean, 0)
		enc.Scale = append(enc.Scale, 1)
		lr.Coef = append(lr.Coef, []float64{1, -1, 0.5}[j%3])
		lr.Mean = append(lr.Mean, 0)
	}
	for _, k := range []int{0, 1, 3, 5, n, n + 3} {
		m := &Model{Payload: Payload{Inputs: inputs, Reasons: k, Calibrator: &calibrate.Calibrator{Method: calibrate.Platt, A: 1}},
			scorer: &logisticScorer{Enc: enc, LR: lr}}
		rng := rand.New(rand.NewPCG(uint64(k), 1))
		for range 200 {
			rec := map[string]any{}
			for j := range n {
				rec[fmt.Sprintf("f%02d", j)] = []any{0.0, 1.0, 2.0, -1.0, nil}[rng.IntN(5)]
			}
			checkSamePaths(t, m, rec)
		}
	}
}

// BenchmarkPredictRow scores one record, as the online service does per model and request.
func BenchmarkPredictRow(b *testing.B) {
	res, err := train(synthetic(2000, 3), encode.Options{}, artifact.KindChurn)
	if err != nil {
		b.Fatal(err)
	}
	rec := map[string]any{"x": 1.5, "noise": nil, "plan": "pro"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := res.Model.PredictRow(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
