package btyd

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mathext"
)

// TestFitBGNBDRecovery fits simulated data and checks that the truth lies within 2.5
// standard errors of every estimate (the truth is the simulation's input).
func TestFitBGNBDRecovery(t *testing.T) {
	for _, c := range []struct {
		name        string
		seed        uint64
		r, al, a, b float64
		tMin, tMax  float64
	}{
		{"cdnow-like", 1, 0.25, 4.4, 0.8, 2.4, 0, 39},
		{"frequent buyers", 2, 2, 10, 0.5, 5, 10, 52},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, tx, T, _ := simulateBGNBD(rand.NewPCG(c.seed, 7), 6000, c.r, c.al, c.a, c.b, c.tMin, c.tMax)
			m, err := FitBGNBD(x, tx, T, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.StdErrors == nil {
				t.Fatal("no standard errors")
			}
			se := m.StdErrors
			for _, p := range []struct {
				name           string
				got, truth, se float64
			}{{"r", m.R, c.r, se.R}, {"alpha", m.Alpha, c.al, se.Alpha}, {"a", m.A, c.a, se.A}, {"b", m.B, c.b, se.B}} {
				z := (p.got - p.truth) / p.se
				t.Logf("%s: %.4f (truth %.4f, se %.4f, z %.2f)", p.name, p.got, p.truth, p.se, z)
				if !(math.Abs(z) < 2.5) {
					t.Errorf("%s = %.4f, truth %.4f: %.2f standard errors away", p.name, p.got, p.truth, z)
				}
			}
		})
	}
}

// TestGradient compares the analytic gradients with central finite differences.
func TestGradient(t *testing.T) {
	x, tx, T, mbar := simulateBGNBD(rand.NewPCG(3, 3), 500, 0.5, 5, 0.8, 2.5, 5, 40)
	d, err := collapseBG(x, tx, T, nil)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := ggData4(x, mbar)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		obj   objective
		theta []float64
	}{
		{"bgnbd", bgObjective(d), []float64{math.Log(0.4), math.Log(3), math.Log(1.3), math.Log(2)}},
		{"bgnbd-far", bgObjective(d), []float64{2, -1, -2, 3}},
		{"gamma-gamma", ggObjective(gd), []float64{math.Log(3), math.Log(2), math.Log(20)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := make([]float64, len(c.theta))
			c.obj(c.theta, g)
			num := fd.Gradient(nil, func(th []float64) float64 { return c.obj(th, nil) }, c.theta, &fd.Settings{Formula: fd.Central})
			for i := range g {
				if math.Abs(g[i]-num[i]) > 1e-6*math.Max(1, math.Abs(num[i])) {
					t.Errorf("d/dθ%d: analytic %.9g, numerical %.9g", i, g[i], num[i])
				}
			}
		})
	}
}

// ggData4 builds Gamma-Gamma data the way FitGammaGamma does, for the gradient test.
func ggData4(x, mbar []float64) (*ggData, error) {
	d := &ggData{}
	byX := map[float64][]int{}
	for i := range x {
		if x[i] > 0 {
			byX[x[i]] = append(byX[x[i]], i)
		}
	}
	for k := 1.0; len(d.wx) < len(byX); k++ {
		rows, ok := byX[k]
		if !ok {
			continue
		}
		d.xs = append(d.xs, k)
		d.start = append(d.start, len(d.w))
		for _, i := range rows {
			d.w = append(d.w, 1)
			d.m = append(d.m, mbar[i])
			d.lm = append(d.lm, math.Log(mbar[i]))
		}
		d.wx = append(d.wx, float64(len(rows)))
		d.lx = append(d.lx, math.Log(k))
		d.n += float64(len(rows))
	}
	d.start = append(d.start, len(d.w))
	if d.n == 0 {
		return nil, ErrNoRepeat
	}
	return d, nil
}

// TestProbPurchasesConsistent checks eq. (8) against eq. (9): the probabilities sum to one
// and their mean is E[X(t)], an independent check of the hypergeometric evaluation.
func TestProbPurchasesConsistent(t *testing.T) {
	for _, m := range []BGNBD{
		paper,
		{R: 2, Alpha: 3, A: 1.7, B: 4},
		{R: 0.5, Alpha: 10, A: 0.3, B: 0.9},
	} {
		for _, tt := range []float64{0.5, 39, 200} {
			var sum, mean float64
			for n := 0; n < 20000; n++ {
				p := m.ProbPurchases(n, tt)
				sum += p
				mean += float64(n) * p
				if n > 50 && p < 1e-17 {
					break
				}
			}
			e := m.ExpectedPurchases(tt)
			if math.Abs(sum-1) > 1e-8 || math.Abs(mean-e) > 1e-6*math.Max(1, e) {
				t.Errorf("%+v t=%g: Σp = %.10f, Σnp = %.8f, E[X(t)] = %.8f", m, tt, sum, mean, e)
			}
		}
	}
}

// TestPeriodInvariance fits the same customers in weeks and in days: α scales by 7, the
// other parameters and every prediction in days are unchanged.
func TestPeriodInvariance(t *testing.T) {
	x, tx, T, mbar := simulateBGNBD(rand.NewPCG(5, 5), 3000, 0.4, 5, 0.7, 3, 0, 52)
	days := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[i] = v[i] * 7
		}
		return out
	}
	w, err := FitBGNBD(x, tx, T, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := FitBGNBD(x, days(tx), days(T), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", d.R, w.R}, {"alpha/7", d.Alpha / 7, w.Alpha}, {"a", d.A, w.A}, {"b", d.B, w.B}} {
		if math.Abs(c.got-c.want) > 1e-4*c.want {
			t.Errorf("%s: daily %.6f, weekly %.6f", c.name, c.got, c.want)
		}
	}
	gg, err := FitGammaGamma(x, mbar, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mw := LTVModel{PeriodDays: 7, HorizonDays: 365, AnnualDiscount: 0.1, BGNBD: *w, GammaGamma: *gg}
	md := LTVModel{PeriodDays: 1, HorizonDays: 365, AnnualDiscount: 0.1, BGNBD: *d, GammaGamma: *gg}
	for i := range 50 {
		sw := mw.Score(Summary{X: x[i], TX: tx[i], T: T[i], Monetary: mbar[i]})
		sd := md.Score(Summary{X: x[i], TX: tx[i] * 7, T: T[i] * 7, Monetary: mbar[i]})
		if math.Abs(sw.CLV-sd.CLV) > 1e-3*math.Max(1, sw.CLV) || math.Abs(sw.PAlive-sd.PAlive) > 1e-4 {
			t.Fatalf("customer %d: weekly %+v, daily %+v", i, sw, sd)
		}
	}
}

func TestFitBGNBDErrors(t *testing.T) {
	for _, c := range []struct {
		name     string
		x, tx, T []float64
		w        []float64
		want     error
	}{
		{"empty", nil, nil, nil, nil, ErrNoData},
		{"no repeat", []float64{0, 0, 0}, []float64{0, 0, 0}, []float64{5, 6, 7}, nil, ErrNoRepeat},
		{"all zero weight", []float64{1}, []float64{1}, []float64{2}, []float64{0}, ErrNoData},
		{"negative x", []float64{-1}, []float64{0}, []float64{2}, nil, ErrInput},
		{"fractional x", []float64{1.5}, []float64{1}, []float64{2}, nil, ErrInput},
		{"tx > T", []float64{1}, []float64{3}, []float64{2}, nil, ErrInput},
		{"NaN T", []float64{1}, []float64{1}, []float64{math.NaN()}, nil, ErrInput},
		{"x=0 with tx", []float64{0}, []float64{1}, []float64{2}, nil, ErrInput},
		{"negative weight", []float64{1}, []float64{1}, []float64{2}, []float64{-1}, ErrInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FitBGNBD(c.x, c.tx, c.T, c.w, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// TestFitBGNBDDegenerate: tiny or extreme data either fits with finite parameters or
// returns an error; never NaN.
func TestFitBGNBDDegenerate(t *testing.T) {
	for _, c := range []struct {
		name     string
		x, tx, T []float64
	}{
		{"single customer", []float64{3}, []float64{10}, []float64{20}},
		{"two customers", []float64{0, 2}, []float64{0, 5}, []float64{10, 10}},
		{"nobody drops out", []float64{5, 5, 5, 5}, []float64{20, 20, 20, 20}, []float64{20, 20, 20, 20}},
		{"huge frequency", []float64{1e5, 0, 1}, []float64{99, 0, 3}, []float64{100, 50, 80}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := FitBGNBD(c.x, c.tx, c.T, nil, nil)
			if err != nil {
				if !errors.Is(err, ErrNotConverged) && !errors.Is(err, ErrBoundary) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			for _, v := range []float64{m.R, m.Alpha, m.A, m.B, m.LogLikelihood} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite fit %+v", m)
				}
			}
		})
	}
}

// TestPredictionsExtreme: large frequencies and long horizons neither overflow nor NaN.
func TestPredictionsExtreme(t *testing.T) {
	ms := []BGNBD{paper, {R: 0.2, Alpha: 4, A: 1, B: 2}, {R: 5, Alpha: 0.01, A: 50, B: 0.05}}
	for _, m := range ms {
		for _, x := range []float64{0, 1, 10, 1000, 1e6} {
			for _, tt := range []float64{0, 0.01, 39, 1e4} {
				tx, T := 30.0, 40.0
				if x == 0 {
					tx = 0
				}
				pa := m.PAlive(x, tx, T)
				e := m.ConditionalExpectedPurchases(tt, x, tx, T)
				p := m.ProbPurchases(int(math.Min(x, 1e4)), tt)
				for _, v := range []float64{pa, e, p} {
					if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
						t.Errorf("%+v x=%g t=%g: P(alive) %g, E %g, P(X=x) %g", m, x, tt, pa, e, p)
					}
				}
			}
		}
	}
	// a = 1 exactly is a removable singularity of eq. (10).
	m := BGNBD{R: 0.3, Alpha: 5, A: 1, B: 2}
	lo, hi := m, m
	lo.A, hi.A = 0.999, 1.001
	e, el, eh := m.ExpectedPurchases(20), lo.ExpectedPurchases(20), hi.ExpectedPurchases(20)
	if !(math.Min(el, eh)-1e-3 <= e && e <= math.Max(el, eh)+1e-3) {
		t.Errorf("E[X(20)] at a=1: %g, neighbours %g %g", e, el, eh)
	}
}

func BenchmarkFitBGNBD(b *testing.B) {
	x, tx, T, _ := simulateBGNBD(rand.NewPCG(1, 1), 100000, 0.25, 30, 0.8, 2.4, 0, 365)
	for i := range tx { // whole days, as from transactions
		tx[i], T[i] = math.Floor(tx[i]), math.Floor(T[i])
		if tx[i] > T[i] {
			tx[i] = T[i]
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitBGNBD(x, tx, T, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}

func BenchmarkConditionalExpectedPurchases(b *testing.B) {
	m := paper
	b.ReportAllocs()
	for b.Loop() {
		m.ConditionalExpectedPurchases(39, 2, 30.43, 38.86)
	}
}

// TestLogHyp2f1 checks the series against closed forms (Abramowitz & Stegun 15.1.3 and
// 15.1.8): ₂F₁(1,1;2;z) = −ln(1−z)/z and ₂F₁(a,b;b;z) = (1−z)^(−a).
func TestLogHyp2f1(t *testing.T) {
	for _, z := range []float64{1e-3, 0.3, 0.9, 0.999} {
		if got, want := logHyp2f1(1, 1, 2, z), math.Log(-math.Log1p(-z)/z); math.Abs(got-want) > 1e-12 {
			t.Errorf("2F1(1,1;2;%g): log %g, want %g", z, got, want)
		}
		for _, a := range []float64{-0.7, 0.3, 5, 250} {
			if got, want := logHyp2f1(a, 3.5, 3.5, z), -a*math.Log1p(-z); math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Errorf("2F1(%g,3.5;3.5;%g): log %g, want %g", a, z, got, want)
			}
		}
	}
}

// TestConditionalExpectedPurchasesSmallAB checks E[Y(t) | x, t_x, T] when a + b < 1, where for
// customers without a repeat purchase (x = 0) the ₂F₁ of eq. (10) has a negative c = a+b−1
// and a negative value. Reference: eq. (10) in its original, untransformed form with gonum's
// Cephes ₂F₁ (fine at these small parameters). Before signed ₂F₁ these came out as 0.
func TestConditionalExpectedPurchasesSmallAB(t *testing.T) {
	for _, m := range []BGNBD{
		{R: 0.25, Alpha: 4.4, A: 0.14, B: 0.72},
		{R: 1.3, Alpha: 9, A: 0.4, B: 0.3},
		{R: 0.5, Alpha: 2, A: 0.3, B: 0.7 - 2e-6}, // next to the pole at a + b = 1
	} {
		for _, c := range []struct{ x, tx, T, t float64 }{
			{0, 0, 0, 52}, {0, 0, 30, 39}, {0, 0, 5, 200}, {1, 3, 10, 52}, {4, 20, 40, 26},
		} {
			got := m.ConditionalExpectedPurchases(c.t, c.x, c.tx, c.T)
			a, b, r, al := m.A, m.B, m.R, m.Alpha
			z := c.t / (al + c.T + c.t)
			f := mathext.Hypergeo(r+c.x, b+c.x, a+b+c.x-1, z)
			want := (a + b + c.x - 1) / (a - 1) * (1 - math.Pow((al+c.T)/(al+c.T+c.t), r+c.x)*f) * m.PAlive(c.x, c.tx, c.T)
			tol := 1e-8 * math.Max(1, math.Abs(want))
			if math.Abs(a+b+c.x-1) < 1e-5 {
				tol = 1e-4 * math.Max(1, math.Abs(want)) // evaluated beside the pole
			}
			if !(got > 0) || math.Abs(got-want) > tol {
				t.Errorf("%+v, %+v: E = %.12g, want %.12g", m, c, got, want)
			}
		}
		// More time, more expected purchases.
		prev := 0.0
		for _, tt := range []float64{1, 5, 26, 52, 104, 520} {
			e := m.ExpectedPurchases(tt)
			if !(e > prev) {
				t.Errorf("%+v: E[X(%g)] = %g, not above E at the previous t %g", m, tt, e, prev)
			}
			prev = e
		}
	}
}
