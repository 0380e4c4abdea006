package btyd

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/models/artifact"
)

func cdnowModel() *LTVModel {
	return &LTVModel{
		PeriodDays: 7, HorizonDays: 364, AnnualDiscount: 0.1,
		BGNBD:      paper,
		GammaGamma: GammaGamma{P: 6.25, Q: 3.74, V: 15.44, MeanSpend: 35},
	}
}

func finite(s LTVScore) bool {
	for _, v := range []float64{s.PAlive, s.ExpectedPurchases, s.ExpectedSpendPerPurchase, s.CLV} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return false
		}
	}
	return s.PAlive <= 1
}

func TestScoreOddSummaries(t *testing.T) {
	m := cdnowModel()
	for _, s := range []Summary{
		{}, {X: 1e7, TX: 10, T: 10, Monetary: 1e6}, {X: -3, TX: 5, T: 2}, {X: 2, TX: 9, T: 3, Monetary: -4},
		{X: math.NaN(), TX: math.Inf(1), T: math.NaN(), Monetary: math.NaN()}, {X: 2.7, TX: 1, T: 1e9, Monetary: 10},
	} {
		if got := m.Score(s); !finite(got) {
			t.Errorf("Score(%+v) = %+v", s, got)
		}
	}
}

// TestCLVDiscount: without discounting CLV = spend × E[purchases over the horizon]; with it,
// CLV is smaller, and a longer horizon never lowers it.
func TestCLVDiscount(t *testing.T) {
	m := cdnowModel()
	s := Summary{X: 4, TX: 30, T: 38, Monetary: 40}
	m.AnnualDiscount = 0
	plain := m.Score(s)
	if math.Abs(plain.CLV-plain.ExpectedPurchases*plain.ExpectedSpendPerPurchase) > 1e-9 {
		t.Errorf("undiscounted CLV %g != %g × %g", plain.CLV, plain.ExpectedPurchases, plain.ExpectedSpendPerPurchase)
	}
	m.AnnualDiscount = 0.2
	disc := m.Score(s)
	if !(disc.CLV < plain.CLV && disc.CLV > 0.8*plain.CLV) {
		t.Errorf("discounted CLV %g, undiscounted %g", disc.CLV, plain.CLV)
	}
	m.HorizonDays *= 2
	if longer := m.Score(s); !(longer.CLV > disc.CLV) {
		t.Errorf("CLV over 2 years %g <= over 1 year %g", longer.CLV, disc.CLV)
	}
}

func TestSummarize(t *testing.T) {
	d := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	asOf := d("2025-03-01T00:00:00Z")
	for _, c := range []struct {
		name string
		p    []Purchase
		want Summary
		err  error
	}{
		{"none", nil, Summary{}, ErrNoPurchases},
		{"only after as-of", []Purchase{{d("2025-03-01T00:00:00Z"), 5}, {d("2025-04-01T00:00:00Z"), 5}}, Summary{}, ErrNoPurchases},
		// As of 2025-03-01 the last included day is 2025-02-28 (calibration end inclusive).
		{"one purchase", []Purchase{{d("2025-02-22T10:00:00Z"), 5}}, Summary{T: 6.0 / 7}, nil},
		{"same day twice", []Purchase{{d("2025-02-22T10:00:00Z"), 5}, {d("2025-02-22T23:59:59Z"), 7}}, Summary{T: 6.0 / 7}, nil},
		{"repeat with refund day", []Purchase{{d("2025-02-01T00:00:00Z"), 5}, {d("2025-02-15T00:00:00Z"), 10}, {d("2025-02-22T00:00:00Z"), -4}},
			Summary{X: 2, TX: 3, T: 27.0 / 7, Monetary: 3}, nil},
		{"NaN amount", []Purchase{{d("2025-02-01T00:00:00Z"), math.NaN()}}, Summary{}, ErrInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Summarize(c.p, asOf, Week)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if math.Abs(got.X-c.want.X)+math.Abs(got.TX-c.want.TX)+math.Abs(got.T-c.want.T)+math.Abs(got.Monetary-c.want.Monetary) > 1e-12 {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
	if _, err := Summarize(nil, asOf, 0); !errors.Is(err, ErrPeriod) {
		t.Errorf("period 0: err = %v", err)
	}
}

func TestLTVArtifact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ltv")
	m := cdnowModel()
	man, err := SaveLTVModel(dir, m, artifact.Manifest{})
	if err != nil {
		t.Fatal(err)
	}
	got, man2, err := LoadLTVModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.ModelVersion != man.Version || man2.Kind != artifact.KindLTV || man2.Model != ModelName {
		t.Errorf("version %q kind %q model %q", got.ModelVersion, man2.Kind, man2.Model)
	}
	s := Summary{X: 3, TX: 20, T: 30, Monetary: 25}
	a, b := m.Score(s), got.Score(s)
	b.ModelVersion = ""
	if a != b {
		t.Errorf("loaded model scores %+v, original %+v", b, a)
	}
	// A payload edited to an invalid parameter (checksum updated) is refused.
	bad := *m
	bad.BGNBD.R = -1
	if _, err := SaveLTVModel(dir, &bad, artifact.Manifest{}); !errors.Is(err, ErrInput) {
		t.Errorf("saving an invalid model: err = %v", err)
	}
	body, _ := json.Marshal(bad)
	p := filepath.Join(dir, artifact.PayloadFile)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadLTVModel(dir); !errors.Is(err, artifact.ErrChecksum) {
		t.Errorf("tampered payload: err = %v, want ErrChecksum", err)
	}
}

// FuzzLTVModel decodes arbitrary payloads as the service would; a model that validates must
// score any summary without NaN, Inf or panic.
func FuzzLTVModel(f *testing.F) {
	good, _ := json.Marshal(cdnowModel())
	f.Add(good, 2.0, 30.0, 38.0, 22.0)
	f.Add([]byte(`{"period_days":1e-300,"horizon_days":1e300,"bgnbd":{"r":1e300,"alpha":1e-300,"a":1,"b":1e-300},"gamma_gamma":{"p":1,"q":1,"v":1}}`), 1e9, 1.0, 2.0, 3.0)
	f.Add([]byte(`{"period_days":7,"horizon_days":365,"bgnbd":{"r":0.2,"alpha":4,"a":0.8,"b":2.4},"gamma_gamma":{"p":6,"q":0.5,"v":15}}`), 0.0, 0.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, payload []byte, x, tx, T, mon float64) {
		var m LTVModel
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if dec.Decode(&m) != nil || m.Validate() != nil {
			return
		}
		if got := m.Score(Summary{X: x, TX: tx, T: T, Monetary: mon}); !finite(got) {
			t.Fatalf("model %+v, summary (%g, %g, %g, %g): %+v", m, x, tx, T, mon, got)
		}
	})
}

// TestSummarizeDeterministic checks that monetary is summed in day order: amounts whose
// floating-point sum depends on the order must give the same, day-ordered, result on every
// call (map order, which Go randomises, once made its last bits vary between runs).
func TestSummarizeDeterministic(t *testing.T) {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var ps []Purchase
	want := 0.0
	for i := range 40 {
		a := 0.1 * float64(i+1)
		if i%3 == 0 {
			a = 1e8 + 0.3*float64(i)
		}
		ps = append(ps, Purchase{Time: start.AddDate(0, 0, 2*i), Amount: a})
		if i > 0 {
			want += a
		}
	}
	want /= 39
	for range 30 {
		s, err := Summarize(ps, start.AddDate(0, 0, 100), Week)
		if err != nil {
			t.Fatal(err)
		}
		if s.Monetary != want {
			t.Fatalf("monetary %v, want the day-ordered sum %v (differs by %g)", s.Monetary, want, s.Monetary-want)
		}
	}
}
