package classifier

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/encode"
)

// TestPredictValuesAgree checks PredictValues against PredictRow on the same records: numbers,
// missing values, categories, numbers given as text and text given as numbers, infinities.
func TestPredictValuesAgree(t *testing.T) {
	res, err := train(synthetic(2000, 3), encode.Options{}, artifact.KindChurn)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	checkValuesAgree(t, m, 6)
	if _, _, err := m.PredictValues([]float64{1}, []string{""}); err == nil {
		t.Error("no error for too few values")
	}
}

// checkValuesAgree scores 2,000 random records (seeded by seed) of m's inputs with
// PredictValues and PredictRow, and fails unless the answers and errors are the same, bit
// for bit.
func checkValuesAgree(t *testing.T, m *Model, seed uint64) {
	t.Helper()
	inputs := m.Inputs()
	rng := rand.New(rand.NewPCG(seed, seed))
	for range 2000 {
		num, str := make([]float64, len(inputs)), make([]string, len(inputs))
		rec := map[string]any{}
		for i, name := range inputs {
			num[i] = math.NaN()
			rec[name] = nil
			switch rng.IntN(8) {
			case 0: // missing
			case 1:
				str[i] = []string{"1.25", " 7 ", "lots", "NA", "pro", " basic "}[rng.IntN(6)]
				rec[name] = str[i]
			case 2:
				num[i] = []float64{math.Inf(1), -0.0, 3, 1e300}[rng.IntN(4)]
				rec[name] = num[i]
			default:
				if name == "plan" {
					str[i] = []string{"basic", "pro", "team", "other"}[rng.IntN(4)]
					rec[name] = str[i]
				} else {
					num[i] = rng.NormFloat64() * 3
					rec[name] = num[i]
				}
			}
		}
		p1, rs1, err1 := m.PredictValues(num, str)
		p2, rs2, err2 := m.PredictRow(rec)
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("%v %q: errors %v and %v", num, str, err1, err2)
		}
		if math.Float64bits(p1) != math.Float64bits(p2) || !reflect.DeepEqual(rs1, rs2) {
			t.Fatalf("%v %q:\n values %v %+v\n record %v %+v", num, str, p1, rs1, p2, rs2)
		}
	}
}

// BenchmarkPredictValues is BenchmarkPredictRow by position.
func BenchmarkPredictValues(b *testing.B) {
	res, err := train(synthetic(2000, 3), encode.Options{}, artifact.KindChurn)
	if err != nil {
		b.Fatal(err)
	}
	num, str := make([]float64, 3), make([]string, 3)
	for i, name := range res.Model.Inputs() {
		switch name {
		case "x":
			num[i] = 1.5
		case "noise":
			num[i] = math.NaN()
		case "plan":
			str[i] = "pro"
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := res.Model.PredictValues(num, str); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestPredictValuesGBTMatchesGeneral checks PredictValues of a gradient-boosted model (the
// gbt path) against PredictRow (the general path: a map, a one-row frame) on the same
// records, bit for bit, reasons and their values included; the path's buffers are reused
// from call to call.
func TestPredictValuesGBTMatchesGeneral(t *testing.T) {
	m := trainGBT(t, synthetic(2000, 5), 2)
	if m.gbtPath() == nil {
		t.Fatal("a gbt model over its own inputs does not take the gbt path")
	}
	checkValuesAgree(t, m, 7)
}
