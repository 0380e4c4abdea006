package serving

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/models/scorecard"
)

// TestJSONEncoderLayout fails when a response type changes: the encoder then steps aside
// (every response goes through json.Marshal) until it is taught the new layout.
func TestJSONEncoderLayout(t *testing.T) {
	if got := responseLayout(); got != knownResponseLayout {
		t.Errorf("the response types changed; update JSONEncoder and knownResponseLayout:\n got %s\nwant %s", got, knownResponseLayout)
	}
	if !NewJSONEncoder().known {
		t.Error("encoder disabled")
	}
}

// checkJSON compares the encoder with json.Marshal on r: the same bytes, or a fallback.
func checkJSON(t *testing.T, e *JSONEncoder, r *Response) (fellBack bool) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, ok := e.Append([]byte("prefix"), r)
	if !ok {
		return true
	}
	if werr != nil {
		t.Fatalf("encoder wrote %s where json.Marshal fails: %v", got, werr)
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("encoder:\n%s\njson.Marshal:\n%s", got[len("prefix"):], want)
	}
	return false
}

var jsonStrings = []string{"", "plain", "c-1", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r",
	"\x00\x01\x1f\x7f", "\b\f", "café ünïcødé 日本", "\u2028\u2029", "bad \xff utf8 \xc3", "emoji 😀", "\xed\xa0\x80"}

var jsonFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 123456789012345678901234.0,
	math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 0.1 + 0.2, 1.0 / 3, 5.896600413485767, 1e-300, 65.5}

func randomResponse(rng *rand.Rand) *Response {
	str := func() string { return jsonStrings[rng.IntN(len(jsonStrings))] }
	num := func() float64 {
		if rng.IntN(3) == 0 {
			return jsonFloats[rng.IntN(len(jsonFloats))]
		}
		return math.Float64frombits(rng.Uint64()) // any bits, NaN and infinities included
	}
	r := &Response{ContactID: str(), AsOf: time.Unix(rng.Int64N(1<<35)-1<<34, rng.Int64N(2e9)).UTC()}
	if rng.IntN(20) == 0 {
		r.AsOf = r.AsOf.In(time.FixedZone("X", 3600))
	}
	if rng.IntN(3) > 0 {
		r.Rules = &Rules{Scorecard: str(), Version: str(), Total: rng.IntN(200) - 100, Fit: rng.Int(), Engagement: -rng.Int(),
			Grade: str(), Stage: str(), MQL: rng.IntN(2) == 0, Disqualified: rng.IntN(2) == 0, DisqualifiedBy: str()}
		if rng.IntN(4) > 0 {
			r.Rules.Contributions = []scorecard.Contribution{}
			for range rng.IntN(4) {
				r.Rules.Contributions = append(r.Rules.Contributions, scorecard.Contribution{Rule: str(), Dimension: str(), Points: rng.IntN(50), Count: rng.IntN(3)})
			}
		}
	}
	pred := func() *Prediction {
		if rng.IntN(4) == 0 {
			return nil
		}
		p := &Prediction{Probability: num(), Decile: rng.IntN(11), ModelVersion: str()}
		if rng.IntN(5) > 0 {
			p.Reasons = []Reason{}
			for range rng.IntN(6) {
				var v any
				switch rng.IntN(7) {
				case 0:
					v = nil
				case 1, 2:
					v = num()
				case 3:
					v = str()
				case 4:
					v = rng.IntN(2) == 0
				case 5:
					v = rng.IntN(100)
				case 6:
					v = []int{1} // another type: left to json.Marshal
				}
				p.Reasons = append(p.Reasons, Reason{Feature: str(), Value: v, Effect: num()})
			}
		}
		return p
	}
	r.Conversion, r.Churn = pred(), pred()
	if rng.IntN(3) > 0 {
		r.LTV = &LTV{PAlive: num(), ExpectedPurchases: num(), ExpectedSpendPerPurchase: num(), CLV: num(), HorizonDays: 365, ModelVersion: str()}
	}
	if rng.IntN(3) > 0 {
		r.Persona = &Persona{ID: rng.IntN(10) - 1, Name: str(), Distance: num()}
	}
	if rng.IntN(5) > 0 {
		r.Unavailable = []string{}
		for range rng.IntN(3) {
			r.Unavailable = append(r.Unavailable, str())
		}
	}
	if rng.IntN(5) > 0 {
		r.UnavailableReasons, r.Warnings = []Unavailability{}, []Warning{}
		for range rng.IntN(3) {
			r.UnavailableReasons = append(r.UnavailableReasons, Unavailability{Block: str(), Reason: str(), Message: str()})
			r.Warnings = append(r.Warnings, Warning{Field: str(), Code: str(), Message: str()})
		}
	}
	return r
}

func TestJSONEncoder(t *testing.T) {
	e := NewJSONEncoder()
	rng := rand.New(rand.NewPCG(8, 8))
	written := 0
	for range 20000 {
		if !checkJSON(t, e, randomResponse(rng)) {
			written++
		}
	}
	if written < 1000 {
		t.Errorf("the encoder wrote only %d responses itself", written)
	}
	// The floats and strings one by one, in every block.
	for _, f := range jsonFloats {
		for _, s := range jsonStrings {
			r := &Response{ContactID: s, AsOf: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), Unavailable: []string{s},
				UnavailableReasons: []Unavailability{{Block: s, Reason: s, Message: s}}, Warnings: []Warning{{Field: s, Code: s, Message: s}},
				Rules:      &Rules{Scorecard: s, Contributions: []scorecard.Contribution{{Rule: s}}},
				Conversion: &Prediction{Probability: f, ModelVersion: s, Reasons: []Reason{{Feature: s, Value: f, Effect: f}, {Value: s}}},
				LTV:        &LTV{PAlive: f, CLV: -f}, Persona: &Persona{Name: s, Distance: f}}
			if checkJSON(t, e, r) {
				t.Errorf("fell back on %v %q", f, s)
			}
		}
	}
}

// FuzzJSONEncoder compares the encoder with json.Marshal on responses holding arbitrary
// strings and numbers.
func FuzzJSONEncoder(f *testing.F) {
	for i, s := range jsonStrings {
		f.Add(s, jsonFloats[i%len(jsonFloats)], int64(i))
	}
	e := NewJSONEncoder()
	f.Fuzz(func(t *testing.T, s string, x float64, n int64) {
		r := &Response{ContactID: s, AsOf: time.Unix(n%(1<<35), 0).UTC(), Unavailable: []string{s},
			UnavailableReasons: []Unavailability{{Block: s, Reason: s, Message: s}}, Warnings: []Warning{{Field: s, Code: s, Message: s}},
			Rules:      &Rules{Scorecard: s, Total: int(n), Contributions: []scorecard.Contribution{{Rule: s, Points: int(n)}}},
			Conversion: &Prediction{Probability: x, Decile: int(n % 11), ModelVersion: s, Reasons: []Reason{{Feature: s, Value: x, Effect: x}, {Value: s}}},
			LTV:        &LTV{PAlive: x, ModelVersion: s}, Persona: &Persona{ID: int(n), Name: s, Distance: x}}
		checkJSON(t, e, r)
	})
}

func BenchmarkJSONEncoder(b *testing.B) {
	r := randomResponse(rand.New(rand.NewPCG(1, 2)))
	for i := 0; r.Conversion == nil || r.Rules == nil || r.LTV == nil || checkJSONQuiet(r); i++ {
		r = randomResponse(rand.New(rand.NewPCG(uint64(i), 2)))
	}
	e := NewJSONEncoder()
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = e.Append(buf[:0], r)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
}

// checkJSONQuiet reports whether the encoder would fall back on r.
func checkJSONQuiet(r *Response) bool {
	_, ok := NewJSONEncoder().Append(nil, r)
	return !ok
}
