package calibrate

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func simulate(n int, truth func(z float64) float64, seed uint64) (z, y []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	z, y = make([]float64, n), make([]float64, n)
	for i := range z {
		z[i] = rng.NormFloat64() * 2
		if rng.Float64() < truth(z[i]) {
			y[i] = 1
		}
	}
	return z, y
}

func TestPlattRecoversScaling(t *testing.T) {
	z, y := simulate(50000, func(z float64) float64 { return sigmoid(0.5*z - 1) }, 1)
	c, err := FitPlatt(z, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.A-0.5) > 0.03 || math.Abs(c.B+1) > 0.05 {
		t.Errorf("A, B = %v, %v; want 0.5, -1", c.A, c.B)
	}
}

func TestIsotonicPAV(t *testing.T) {
	// Hand-worked: the violating pair (1, 0) at z = 2, 3 pools to 0.5.
	c, err := FitIsotonic([]float64{1, 2, 3, 4}, []float64{0, 1, 0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantX, wantY := []float64{1, 2, 3, 4}, []float64{0, 0.5, 0.5, 1}
	for i := range wantX {
		if c.X[i] != wantX[i] || c.Y[i] != wantY[i] {
			t.Fatalf("knots %v %v, want %v %v", c.X, c.Y, wantX, wantY)
		}
	}
	tests := []struct{ z, want float64 }{{0, Clip}, {1.5, 0.25}, {2.5, 0.5}, {9, 1 - Clip}}
	for _, tt := range tests {
		if got := c.Apply(tt.z); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Apply(%v) = %v, want %v", tt.z, got, tt.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name  string
		truth func(float64) float64
		want  string
	}{
		{"sigmoidal miscalibration", func(z float64) float64 { return sigmoid(0.5*z - 1) }, Platt},
		{"step", func(z float64) float64 {
			if z < 1 {
				return 0.05
			}
			return 0.95
		}, Isotonic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, y := simulate(8000, tt.truth, 2)
			c, ch, err := Select(z, y, nil, 5, rand.NewPCG(3, 4))
			if err != nil {
				t.Fatal(err)
			}
			if c.Method != tt.want || ch.Method != tt.want {
				t.Errorf("chose %s (%v), want %s", c.Method, ch.Loss, tt.want)
			}
		})
	}
	if _, _, err := Select([]float64{1, 2}, []float64{1, 1}, nil, 5, rand.NewPCG(1, 1)); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{"platt", `{"method":"platt","a":1,"b":0}`, true},
		{"unknown", `{"method":"beta"}`, false},
		{"isotonic unsorted", `{"method":"isotonic","x":[2,1],"y":[0.1,0.2]}`, false},
		{"isotonic out of range", `{"method":"isotonic","x":[1,2],"y":[0.1,1.2]}`, false},
		{"isotonic lengths", `{"method":"isotonic","x":[1,2],"y":[0.1]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Calibrator
			if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate = %v", err)
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("err %v is not ErrCorrupt", err)
			}
		})
	}
}

func FuzzCalibratorJSON(f *testing.F) {
	f.Add([]byte(`{"method":"isotonic","x":[1,2],"y":[0.1,0.9]}`))
	f.Add([]byte(`{"method":"platt","a":2,"b":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Calibrator
		if json.Unmarshal(data, &c) != nil || c.Validate() != nil {
			return
		}
		for _, z := range []float64{-1e300, -3, 0, 1.5, 1e300, math.Inf(1)} {
			p := c.Apply(z)
			if !(p >= Clip && p <= 1-Clip) {
				t.Fatalf("Apply(%v) = %v", z, p)
			}
		}
	})
}

func BenchmarkSelect(b *testing.B) {
	z, y := simulate(20000, func(z float64) float64 { return sigmoid(z) }, 5)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Select(z, y, nil, 5, rand.NewPCG(1, 2)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(20000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
