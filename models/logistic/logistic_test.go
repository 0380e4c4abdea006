package logistic

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// refX, refY: 40 rows drawn with numpy (seed 7); reference coefficients from scikit-learn
// 1.2.1 LogisticRegression(tol=1e-10) on the same data.
var (
	refX = []float64{0.0, 0.3, -0.27, -0.89, -0.45, -0.99, 0.06, 1.34, -0.49, -0.62, 0.49, 0.36, 0.11, -0.93, -0.03, 0.7, -1.34, -0.46, -1.9, -1.29, -1.84, -0.24, -1.27, 0.27, 0.16, -0.19, -2.52, -0.54, -0.05, 0.11, -1.53, -0.48, -0.98, -0.81, 1.06, -0.81, -0.03, 0.88, -0.58, -0.11, 0.11, 0.06, -1.23, 0.08, 1.36, -1.55, 0.86, 0.12, -0.64, 2.0, 0.76, -1.2, 0.07, 0.58, -0.19, 0.68, -0.07, 0.67, 1.44, -0.68, 0.2, -0.46, 0.13, -1.19, -0.58, -0.2, 0.9, 1.15, -1.32, -0.79, 0.65, -1.99, -0.46, -0.1, 1.26, 0.69, -0.33, -0.37, -0.25, 1.52}
	refY = []float64{0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1}
)

func TestFitMatchesScikitLearn(t *testing.T) {
	X := mat.NewDense(40, 2, refX)
	w := make([]float64, 40)
	for i := range w {
		w[i] = float64(i%3) + 0.5
	}
	tests := []struct {
		name string
		w    []float64
		opts Options
		want []float64 // intercept, coef...
	}{
		{"C=1", nil, Options{Tol: 1e-10}, []float64{0.32344754, 0.73527328, -0.6821261}},
		{"C=0.5 weighted", w, Options{Lambda: 2, Tol: 1e-10}, []float64{-0.08440228, 0.7772544, -0.95356755}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Fit(X, refY, tt.w, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := append([]float64{m.Intercept}, m.Coef...)
			for k := range got {
				// lbfgs in both stops on a relative loss change too: agree to 1e-4.
				if math.Abs(got[k]-tt.want[k]) > 1e-4 {
					t.Errorf("param %d = %.8f, want %.8f", k, got[k], tt.want[k])
				}
			}
			if !m.Converged {
				t.Error("not converged")
			}
		})
	}
}

// TestThreadsAgree checks that the parallel gradient gives the same fit as one thread.
func TestThreadsAgree(t *testing.T) {
	X, y := synthetic(5000, 6, 3)
	m1, err := Fit(X, y, nil, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	m4, err := Fit(X, y, nil, Options{Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	for k := range m1.Coef {
		if math.Abs(m1.Coef[k]-m4.Coef[k]) > 1e-6 {
			t.Fatalf("coef %d: %v vs %v", k, m1.Coef[k], m4.Coef[k])
		}
	}
}

// TestWarmStartAgrees checks that the subsample warm start with Newton steps reaches the
// same optimum as plain L-BFGS.
func TestWarmStartAgrees(t *testing.T) {
	X, y := synthetic(8000, 5, 4)
	w := make([]float64, 8000)
	for i := range w {
		w[i] = 0.5 + float64(i%4)
	}
	for _, weights := range [][]float64{nil, w} {
		plain, err := Fit(X, y, weights, Options{warmRows: -1, Tol: 1e-8})
		if err != nil {
			t.Fatal(err)
		}
		warm, err := Fit(X, y, weights, Options{warmRows: 1000, Tol: 1e-8})
		if err != nil {
			t.Fatal(err)
		}
		if !warm.Converged {
			t.Error("warm start did not converge")
		}
		for k := range plain.Coef {
			if math.Abs(plain.Coef[k]-warm.Coef[k]) > 1e-5 {
				t.Fatalf("coef %d: plain %v, warm %v", k, plain.Coef[k], warm.Coef[k])
			}
		}
		if math.Abs(plain.Intercept-warm.Intercept) > 1e-5 {
			t.Fatalf("intercept: plain %v, warm %v", plain.Intercept, warm.Intercept)
		}
	}
}

func synthetic(n, p int, seed uint64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	X := mat.NewDense(n, p, nil)
	raw := X.RawMatrix().Data
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	y := make([]float64, n)
	for i := range y {
		z := -0.5
		for k := range p {
			z += raw[i*p+k] * float64(k%3-1)
		}
		if rng.Float64() < Sigmoid(z) {
			y[i] = 1
		}
	}
	return X, y
}

func TestFitErrors(t *testing.T) {
	X := mat.NewDense(3, 1, []float64{1, 2, 3})
	nan := mat.NewDense(3, 1, []float64{1, math.NaN(), 3})
	tests := []struct {
		name string
		X    *mat.Dense
		y, w []float64
		want error
	}{
		{"label 2", X, []float64{0, 1, 2}, nil, ErrLabel},
		{"negative weight", X, []float64{0, 1, 0}, []float64{1, -1, 1}, ErrWeight},
		{"zero weights", X, []float64{0, 1, 0}, []float64{0, 0, 0}, ErrWeight},
		{"NaN feature", nan, []float64{0, 1, 0}, nil, ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Fit(tt.X, tt.y, tt.w, Options{}); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPredictAndReasons(t *testing.T) {
	X, y := synthetic(2000, 3, 9)
	m, err := Fit(X, y, nil, Options{Names: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := m.PredictLogOdds(X)
	if err != nil {
		t.Fatal(err)
	}
	row := X.RawRowView(7)
	rs, err := m.Reasons(row, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The intercept at the mean plus all contributions rebuild the log-odds exactly.
	base := m.Intercept
	for k, c := range m.Coef {
		base += c * m.Mean[k]
	}
	sum := base
	for _, r := range rs {
		sum += r.Effect
	}
	if math.Abs(sum-z[7]) > 1e-9 {
		t.Errorf("contributions add to %v, log-odds %v", sum, z[7])
	}
	for i := 1; i < len(rs); i++ {
		if math.Abs(rs[i].Effect) > math.Abs(rs[i-1].Effect) {
			t.Errorf("reasons not sorted: %+v", rs)
		}
	}
	if top, _ := m.Reasons(row, 1); len(top) != 1 || top[0].Feature == "" {
		t.Errorf("top reason = %+v", top)
	}
	if _, err := m.Predict(mat.NewDense(1, 2, nil)); !errors.Is(err, ErrDimension) {
		t.Errorf("2-feature predict err = %v", err)
	}
	// JSON round trip.
	b, _ := json.Marshal(m)
	var m2 Model
	if err := json.Unmarshal(b, &m2); err != nil {
		t.Fatal(err)
	}
	z2, err := m2.PredictLogOdds(X)
	if err != nil || z2[7] != z[7] {
		t.Errorf("decoded model predicts %v (%v), want %v", z2[7], err, z[7])
	}
	m2.Mean = m2.Mean[:1]
	if _, err := m2.PredictLogOdds(X); !errors.Is(err, ErrCorruptJSON) {
		t.Errorf("corrupt model err = %v", err)
	}
}

func TestSigmoid(t *testing.T) {
	for _, z := range []float64{-800, -30, 0, 30, 800} {
		s := Sigmoid(z)
		if math.IsNaN(s) || s < 0 || s > 1 {
			t.Errorf("Sigmoid(%v) = %v", z, s)
		}
	}
}

// BenchmarkFit fits 100,000 × 40 rows; scripts/bench_logistic.* compares 1,000,000 × 40
// with scikit-learn.
func BenchmarkFit(b *testing.B) {
	X, y := synthetic(100_000, 40, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(X, y, nil, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
