package effect

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
)

// experiment draws a randomised experiment where treatment raises P(y) from 0.1 to 0.4 when
// x ≥ 0.5 and lowers it from 0.3 to 0.1 when x < 0.2 (true τ: +0.3, 0 and −0.2).
func experiment(n int, share float64, seed uint64) (*frame.Frame, []float64, []bool, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x, noise := make([]float64, n), make([]float64, n)
	y, tau := make([]float64, n), make([]float64, n)
	tr := make([]bool, n)
	for i := range n {
		x[i], noise[i] = rng.Float64(), rng.Float64()
		tr[i] = rng.Float64() < share
		p0, p1 := 0.1, 0.1
		switch {
		case x[i] >= 0.5:
			p1 = 0.4
		case x[i] < 0.2:
			p0, p1 = 0.3, 0.1
		}
		tau[i] = p1 - p0
		p := p0
		if tr[i] {
			p = p1
		}
		if rng.Float64() < p {
			y[i] = 1
		}
	}
	f := &frame.Frame{}
	f.AddNumeric("x", x)
	f.AddNumeric("noise", noise)
	return f, y, tr, tau
}

func TestLearnersRecoverEffects(t *testing.T) {
	X, y, tr, _ := experiment(8000, 0.3, 1)
	grid := &frame.Frame{}
	grid.AddNumeric("x", []float64{0.1, 0.35, 0.8})
	grid.AddNumeric("noise", []float64{0.5, 0.5, 0.5})
	want := []float64{-0.2, 0, 0.3}
	ms, err := FitAll(Learners(), X, y, tr, gbt.Options{Trees: 100, MaxDepth: 2, LearningRate: 0.1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Learners() {
		// The class transformation fits one label whose noise (P(z) near ½) dwarfs the
		// effect, so it is the least precise of the three.
		tol := 0.08
		if l == LearnerClass {
			tol = 0.12
		}
		got, err := ms[l].Effect(grid)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > tol {
				t.Errorf("%s: τ(x=%g) = %.3f, want %.1f ± %g", l, grid.Columns[0].Num[i], got[i], want[i], tol)
			}
		}
	}
	if math.Abs(ms[LearnerT].Share-0.3) > 0.02 || ms[LearnerX].Mu0 != ms[LearnerT].Mu0 {
		t.Errorf("share %g; the X-learner should reuse the T-learner's response models", ms[LearnerT].Share)
	}
}

func TestFitErrors(t *testing.T) {
	X, y, tr, _ := experiment(500, 0.5, 2)
	if _, err := Fit("s_learner", X, y, tr, gbt.Options{}); !errors.Is(err, ErrLearner) {
		t.Errorf("unknown learner: %v", err)
	}
	for i := range tr {
		if !tr[i] {
			y[i] = 0
		}
	}
	if _, err := Fit(LearnerT, X, y, tr, gbt.Options{Trees: 5}); !errors.Is(err, ErrGroups) {
		t.Errorf("control rows without a positive: %v", err)
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	X, y, tr, _ := experiment(3000, 0.5, 3)
	m, err := Fit(LearnerX, X, y, tr, gbt.Options{Trees: 40, MaxDepth: 2, LearningRate: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	est, err := m.Effect(X)
	if err != nil {
		t.Fatal(err)
	}
	a := &Artifact{Payload: Payload{Version: PayloadVersion, Model: m, Inputs: []Input{{"x", "numeric"}, {"noise", "numeric"}},
		Label: "y", Positive: "1", Treatment: "t", DecileCuts: cuts(est)}}
	for d := 1; d <= 10; d++ {
		a.Payload.Deciles = append(a.Payload.Deciles, LabelDecile(Decile{Decile: d, Uplift: 0.3 - 0.05*float64(d), SE: 0.02}))
	}
	dir := filepath.Join(t.TempDir(), "uplift")
	if _, err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Kind != artifact.KindUplift || b.Manifest.Model != LearnerX {
		t.Errorf("manifest %+v", b.Manifest)
	}
	for i := range 50 {
		s, err := b.ScoreValues([]float64{X.Columns[0].Num[i], X.Columns[1].Num[i]}, []string{"", ""})
		if err != nil || math.Abs(s.Effect-est[i]) > 1e-12 || s.Decile != b.Decile(est[i]) || s.Group != b.Payload.Deciles[s.Decile-1].Group {
			t.Fatalf("row %d: %+v %v, want effect %g", i, s, err, est[i])
		}
	}
	// Uplift 0.25 … −0.2 by 0.05, SE 0.02: deciles 1–4 lie above 2.807·0.02 = 0.056, 8–10
	// below −0.056, and 5–7 (0.05, 0, −0.05) get no label.
	groups := map[string]int{}
	for _, d := range b.Payload.Deciles {
		groups[d.Group]++
	}
	if groups[GroupPersuadable] != 4 || groups[GroupSleepingDog] != 3 || groups[""] != 3 {
		t.Errorf("groups %v", groups)
	}
	// A payload whose inputs disagree with the trees is refused at load.
	var p Payload
	raw, _ := json.Marshal(a.Payload)
	json.Unmarshal(raw, &p)
	p.Inputs = p.Inputs[:1]
	c := &Artifact{Payload: p}
	bad := filepath.Join(t.TempDir(), "bad")
	if _, err := c.Save(bad); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrPayload) {
		t.Errorf("inputs differing from the trees: %v", err)
	}
}

func cuts(v []float64) []float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	out := make([]float64, 9)
	for k := range out {
		out[k] = s[int(float64(9-k)/10*float64(len(s)))]
	}
	return out
}
