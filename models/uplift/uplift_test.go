package uplift

import (
	"errors"
	"math"
	"testing"
)

// Four rows ranked treated-positive, treated-negative, control-positive, control-negative.
// By hand: after k = 1..4 rows, (n_t, y_t, n_c, y_c) = (1,1,0,0), (2,1,0,0), (2,1,1,1),
// (2,1,2,1), so Q = 1, 1, 1−1·2/1 = −1, 1−1·2/2 = 0 and U = 1·1, ½·2, (½−1)·3, 0, each over N = 4.
var (
	handY = []float64{1, 0, 1, 0}
	handT = []bool{true, true, false, false}
	handS = []float64{4, 3, 2, 1}
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestCurvesByHand(t *testing.T) {
	q := QiniCurve(handY, handT, handS)
	wantX := []float64{0, 0.25, 0.5, 0.75, 1}
	wantQ := []float64{0, 0.25, 0.25, -0.25, 0}
	wantU := []float64{0, 0.25, 0.25, -0.375, 0}
	u := UpliftCurve(handY, handT, handS)
	for i := range wantX {
		if !near(q.X[i], wantX[i]) || !near(q.Y[i], wantQ[i]) || !near(u.Y[i], wantU[i]) {
			t.Fatalf("point %d: qini (%g, %g) uplift %g, want (%g, %g) %g", i, q.X[i], q.Y[i], u.Y[i], wantX[i], wantQ[i], wantU[i])
		}
	}
	// Trapezoids: ¼·(0+¼)/2 + ¼·(¼+¼)/2 + ¼·(¼−¼)/2 + ¼·(−¼+0)/2 = 1/16; the random line ends at 0.
	if got := Qini(handY, handT, handS); !near(got, 1.0/16) {
		t.Errorf("Qini = %g, want 1/16", got)
	}
	// ¼·¼/2 + ¼·½/2 + ¼·(¼−⅜)/2 + ¼·(−⅜)/2 = 1/32.
	if got := AUUC(handY, handT, handS); !near(got, 1.0/32) {
		t.Errorf("AUUC = %g, want 1/32", got)
	}
	// Reversing the ranking mirrors the curve: the control positive comes first.
	rev := []float64{1, 2, 3, 4}
	if got := Qini(handY, handT, rev); got >= 0 {
		t.Errorf("reversed Qini = %g, want negative", got)
	}
}

func TestTiesAndConstantScore(t *testing.T) {
	y := []float64{1, 0, 0, 1, 1, 0}
	tr := []bool{true, true, true, false, false, false}
	same := []float64{5, 5, 5, 5, 5, 5}
	q := QiniCurve(y, tr, same)
	if len(q.X) != 2 {
		t.Fatalf("constant score gives %d points, want 2 (one tie group)", len(q.X))
	}
	// Q(N) = 1 − 2·3/3 = −1, over N = 6.
	if !near(q.Y[1], -1.0/6) {
		t.Errorf("Q(N)/N = %g, want −1/6", q.Y[1])
	}
	for name, c := range map[string]float64{"qini": Qini(y, tr, same), "auuc": AUUC(y, tr, same)} {
		if !near(c, 0) {
			t.Errorf("%s of a constant score = %g, want 0 (it is the random ranking)", name, c)
		}
	}
}

func TestAt(t *testing.T) {
	// Top 3 of the hand case: treated 1 of 2, control 1 of 1.
	got, err := At(handY, handT, handS, 0.75)
	if err != nil || !near(got, -0.5) {
		t.Errorf("At(75%%) = %g, %v; want −0.5", got, err)
	}
	if _, err := At(handY, handT, handS, 0.5); !errors.Is(err, ErrGroup) {
		t.Errorf("At(50%%) with only treated rows: err %v, want ErrGroup", err)
	}
	// ⌈0.3·10⌉ = 3 rows.
	y := []float64{1, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	tr := []bool{true, false, true, false, true, false, true, false, true, false}
	s := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	if got, _ := At(y, tr, s, 0.3); !near(got, 0.5-1) {
		t.Errorf("At(30%%) = %g, want ½ − 1", got)
	}
}

func TestByGroup(t *testing.T) {
	// Eight rows, two groups of four: the top has treated 1/2 positive and control 0/2; the
	// bottom treated 0/2 and control 2/2.
	y := []float64{1, 0, 0, 0, 1, 0, 0, 1}
	tr := []bool{true, false, true, false, false, true, true, false}
	s := []float64{8, 7, 6, 5, 4, 3, 2, 1}
	g := ByGroup(y, tr, s, 2)
	if len(g) != 2 {
		t.Fatalf("%d groups", len(g))
	}
	if g[0].Treated != 2 || g[0].Control != 2 || !near(g[0].Uplift, 0.5) || !near(g[0].SE, math.Sqrt(0.25/2)) {
		t.Errorf("top group %+v, want uplift ½, se √(¼/2)", g[0])
	}
	if !near(g[1].Uplift, -1) || !near(g[1].SE, 0) || !near(g[1].MeanScore, 2.5) {
		t.Errorf("bottom group %+v, want uplift −1, se 0, mean score 2.5", g[1])
	}
	if one := ByGroup([]float64{1, 0}, []bool{true, true}, []float64{2, 1}, 1); !math.IsInf(one[0].SE, 1) {
		t.Errorf("group without control rows: se %g, want +Inf", one[0].SE)
	}
}

func TestSMD(t *testing.T) {
	x := []float64{1, 2, 3, 4, math.NaN()}
	tr := []bool{false, false, true, true, true}
	// Means 1.5 and 3.5, variances ¼ and ¼: 2 / √¼ = 4.
	if got := SMD(x, tr); !near(got, 4) {
		t.Errorf("SMD = %g, want 4", got)
	}
	if got := SMD([]float64{1, 1, 1, 1}, []bool{true, false, true, false}); got != 0 {
		t.Errorf("SMD of a constant = %g, want 0", got)
	}
	if got := SMD([]float64{1, 2}, []bool{true, true}); !math.IsNaN(got) {
		t.Errorf("SMD without control rows = %g, want NaN", got)
	}
}

func TestThin(t *testing.T) {
	c := QiniCurve(make([]float64, 1000), make([]bool, 1000), func() []float64 {
		s := make([]float64, 1000)
		for i := range s {
			s[i] = float64(i)
		}
		return s
	}())
	th := c.Thin(20)
	if len(th.X) > 22 || th.X[0] != 0 || th.X[len(th.X)-1] != 1 {
		t.Errorf("thinned to %d points from %g to %g", len(th.X), th.X[0], th.X[len(th.X)-1])
	}
}
