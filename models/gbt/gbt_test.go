package gbt

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/metrics"
)

// synth makes n rows with a numeric XOR-like interaction, a categorical effect, a noise column
// and missing values, labelled from a known logistic model.
func synth(n int, seed uint64) (*frame.Frame, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	a, b, noise := make([]float64, n), make([]float64, n), make([]float64, n)
	cat := make([]string, n)
	y := make([]float64, n)
	levels := []string{"red", "green", "blue", "amber"}
	effect := map[string]float64{"red": 1, "green": -1, "blue": 0.5, "amber": 0, "": -0.5}
	for i := range n {
		a[i], b[i], noise[i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		cat[i] = levels[rng.IntN(len(levels))]
		if rng.IntN(10) == 0 {
			cat[i] = ""
		}
		z := 2*math.Copysign(1, a[i]*b[i]) + effect[cat[i]]
		if rng.IntN(20) == 0 {
			a[i] = math.NaN()
			z = 0
		}
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	X := &frame.Frame{}
	X.AddNumeric("a", a)
	X.AddNumeric("b", b)
	X.AddCategorical("colour", cat)
	X.AddNumeric("noise", noise)
	return X, y
}

// auc is metrics.AUC (ties count half) of unweighted scores.
func auc(y, score []float64) float64 {
	v, err := metrics.AUC(y, score, nil)
	if err != nil {
		panic(err) // one class only: the callers' data always has both
	}
	return v
}

func TestLearnsInteraction(t *testing.T) {
	X, y := synth(4000, 1)
	Xt, yt := synth(4000, 2)
	// Any linear score of a and b ranks the a·b sign no better than chance.
	a, b := Xt.Column("a").Num, Xt.Column("b").Num
	bestLinear := 0.0
	for _, dir := range [][2]float64{{1, 0}, {0, 1}, {1, 1}, {1, -1}} {
		lin := make([]float64, len(yt))
		for i := range lin {
			lin[i] = dir[0]*a[i] + dir[1]*b[i]
			if math.IsNaN(lin[i]) {
				lin[i] = 0
			}
		}
		bestLinear = max(bestLinear, auc(yt, lin), 1-auc(yt, lin))
	}
	if bestLinear > 0.6 {
		t.Fatalf("test data broken: a linear score reaches AUC %.3f", bestLinear)
	}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"defaults", Options{Trees: 100, Seed: 1}},
		{"subsampled", Options{Trees: 100, Subsample: 0.7, ColSample: 0.75, Seed: 1}},
		{"leaf-wise", Options{Trees: 100, MaxDepth: 8, MaxLeaves: 8, Seed: 1}},
		{"two threads", Options{Trees: 100, Threads: 2, Seed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Fit(X, y, nil, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Predict(Xt)
			if err != nil {
				t.Fatal(err)
			}
			// The Bayes rate of synth is about 0.89 (the true probabilities' AUC).
			if got := auc(yt, p); got < 0.85 {
				t.Errorf("held-out AUC %.3f, want ≥ 0.85 (best linear score %.3f)", got, bestLinear)
			}
		})
	}
}

func TestTrueAUC(t *testing.T) {
	// Guards the bound used above: the AUC of synth's true probabilities.
	_, y := synth(4000, 2)
	X, _ := synth(4000, 2)
	a, b, c := X.Column("a").Num, X.Column("b").Num, X.Column("colour").Cat
	effect := map[string]float64{"red": 1, "green": -1, "blue": 0.5, "amber": 0, "": -0.5}
	z := make([]float64, len(y))
	for i := range z {
		if math.IsNaN(a[i]) {
			continue
		}
		z[i] = 2*math.Copysign(1, a[i]*b[i]) + effect[c[i]]
	}
	if got := auc(y, z); got < 0.86 || got > 0.92 {
		t.Errorf("true AUC %.3f, want about 0.89", got)
	}
}

func TestContributionsAddUp(t *testing.T) {
	X, y := synth(2000, 3)
	for _, o := range []Options{
		{Trees: 30, Seed: 2},
		{Trees: 20, MaxDepth: 6, Subsample: 0.7, ColSample: 0.5, Seed: 3},
		{Trees: 20, MaxDepth: 8, MaxLeaves: 12, Seed: 4},
	} {
		m, err := Fit(X, y, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		F, err := m.PredictLogOdds(X)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []int{0, 1, 2, 17, 500, 1999} {
			bias, c, err := m.Contributions(X, r)
			if err != nil {
				t.Fatal(err)
			}
			sum := bias
			for _, v := range c {
				sum += v
			}
			if math.Abs(sum-F[r]) > 1e-9 {
				t.Errorf("%+v row %d: bias + Σ contributions = %.12f, log-odds %.12f", o, r, sum, F[r])
			}
		}
	}
}

// shapleyBrute computes exact Shapley values of one tree under the path-dependent value
// function v(S) = E[f(x) | x_S] (the definition TreeSHAP computes, Lundberg et al. 2018 eq. 1
// and the EXPVALUE algorithm), by enumerating subsets.
func shapleyBrute(t *tree, x []float64, nf int) []float64 {
	var v func(i int, S uint) float64
	v = func(i int, S uint) float64 {
		n := &t.nodes[i]
		if n.Feature < 0 {
			return n.Value
		}
		if S&(1<<n.Feature) != 0 {
			return v(int(t.next(int32(i), x)), S)
		}
		l, r := &t.nodes[n.Left], &t.nodes[n.Right]
		return (l.Cover*v(n.Left, S) + r.Cover*v(n.Right, S)) / n.Cover
	}
	fact := func(k int) float64 {
		f := 1.0
		for i := 2; i <= k; i++ {
			f *= float64(i)
		}
		return f
	}
	phi := make([]float64, nf)
	for i := range nf {
		for S := uint(0); S < 1<<nf; S++ {
			if S&(1<<i) != 0 {
				continue
			}
			k := 0
			for j := range nf {
				if S&(1<<j) != 0 {
					k++
				}
			}
			wt := fact(k) * fact(nf-k-1) / fact(nf)
			phi[i] += wt * (v(0, S|1<<i) - v(0, S))
		}
	}
	return phi
}

func TestContributionsMatchBruteForceShapley(t *testing.T) {
	X, y := synth(1500, 5)
	m, err := Fit(X, y, nil, Options{Trees: 5, MaxDepth: 6, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := m.columns(X)
	for _, r := range []int{0, 3, 99, 1000} {
		x := make([]float64, len(m.features))
		m.fillRows(cols, r, r+1, x)
		want := make([]float64, len(x))
		for _, tr := range m.trees {
			for j, v := range shapleyBrute(&tr.tree, x, len(x)) {
				want[j] += v
			}
		}
		_, got, err := m.Contributions(X, r)
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			if math.Abs(got[j]-want[j]) > 1e-9 {
				t.Errorf("row %d feature %d: TreeSHAP %.12f, brute force %.12f", r, j, got[j], want[j])
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	X, y := synth(2000, 7)
	m, err := Fit(X, y, nil, Options{Trees: 40, MaxDepth: 5, Subsample: 0.8, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	p1, _ := m.PredictLogOdds(X)
	p2, err := back.PredictLogOdds(X)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p1, p2) {
		t.Error("predictions differ after a JSON round trip")
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Error("re-encoding the decoded model gives different JSON")
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	// fit with shrink 1000 takes the parallel paths (blocks of rows, groups of features) on
	// small inputs too.
	X, y := synth(5000, 9)
	var outs [][]byte
	for _, th := range []int{1, 2, 3} {
		m, err := fit(X, y, nil, Options{Trees: 20, Subsample: 0.8, ColSample: 0.75, Seed: 10, Threads: th}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		m.opts.Threads = 0
		b, _ := json.Marshal(m)
		outs = append(outs, b)
	}
	for i := 1; i < len(outs); i++ {
		if string(outs[i]) != string(outs[0]) {
			t.Errorf("model with %d threads differs from the one with 1", i+1)
		}
	}
}

func TestMissingAndUnseen(t *testing.T) {
	X, y := synth(3000, 11)
	m, err := Fit(X, y, nil, Options{Trees: 50, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	// An unseen category is scored exactly like a missing one.
	n := 200
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	base := X.Take(rows)
	unseen, missing := base.Take(rows), base.Take(rows)
	for i := range n {
		unseen.Column("colour").Cat[i] = "ultraviolet"
		missing.Column("colour").Cat[i] = ""
	}
	pu, err := m.PredictLogOdds(unseen)
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := m.PredictLogOdds(missing)
	if !slices.Equal(pu, pm) {
		t.Error("an unseen category is not scored like a missing one")
	}
	// NaN anywhere gives finite scores.
	nan := base.Take(rows)
	for i := range n {
		nan.Column("b").Num[i] = math.NaN()
		nan.Column("noise").Num[i] = math.NaN()
	}
	pn, _ := m.PredictLogOdds(nan)
	for i, v := range pn {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("row %d: log-odds %v", i, v)
		}
	}
}

func TestDefaultDirection(t *testing.T) {
	// One feature, no missing values in training, 1 stump: x < 0 (70% of the weight) has rate
	// 0.1, x > 0 has rate 0.9. Missing values must go with the heavier child, x < 0.
	n := 1000
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i] = float64(i)/float64(n) - 0.7
		if (x[i] < 0) == (i%10 == 0) {
			y[i] = 1
		}
	}
	X := &frame.Frame{}
	X.AddNumeric("x", x)
	m, err := Fit(X, y, nil, Options{Trees: 1, MaxDepth: 1, LearningRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	q := &frame.Frame{}
	q.AddNumeric("x", []float64{-0.5, 0.5, math.NaN()})
	p, err := m.Predict(q)
	if err != nil {
		t.Fatal(err)
	}
	if p[2] != p[0] || p[0] >= p[1] {
		t.Errorf("P(x=-0.5, 0.5, NaN) = %v, want NaN scored like -0.5", p)
	}
	// With missing values in training, where they go is learned: here they behave like x > 0.
	x2 := append(slices.Clone(x), make([]float64, 300)...)
	y2 := append(slices.Clone(y), make([]float64, 300)...)
	for i := n; i < len(x2); i++ {
		x2[i] = math.NaN()
		if i%10 != 0 {
			y2[i] = 1
		}
	}
	X2 := &frame.Frame{}
	X2.AddNumeric("x", x2)
	m2, err := Fit(X2, y2, nil, Options{Trees: 1, MaxDepth: 1, LearningRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := m2.Predict(q)
	if p2[2] != p2[1] {
		t.Errorf("P(x=-0.5, 0.5, NaN) = %v, want NaN scored like 0.5", p2)
	}
}

func TestErrors(t *testing.T) {
	X, y := synth(100, 13)
	one := make([]float64, 100)
	for _, tc := range []struct {
		name string
		X    *frame.Frame
		y, w []float64
		o    Options
		want error
	}{
		{"nil frame", nil, y, nil, Options{}, ErrEmpty},
		{"no columns", &frame.Frame{}, y, nil, Options{}, ErrEmpty},
		{"short labels", X, y[:50], nil, Options{}, ErrLength},
		{"short weights", X, y, y[:3], Options{}, ErrLength},
		{"bad label", X, append(slices.Clone(y[:99]), 2), nil, Options{}, ErrLabel},
		{"NaN label", X, append(slices.Clone(y[:99]), math.NaN()), nil, Options{}, ErrLabel},
		{"negative weight", X, y, append(slices.Clone(one[:99]), -1), Options{}, ErrWeight},
		{"zero weights", X, y, one, Options{}, ErrWeight},
		{"one class", X, one, nil, Options{}, ErrOneClass},
		{"bad options", X, y, nil, Options{MaxBins: 300, Subsample: 2}, ErrOptions},
		{"validation without a column", X, y, nil, Options{Validation: &Dataset{X: X.Drop("a"), Y: y}}, ErrMissingColumn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.X, tc.y, tc.w, tc.o)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	m, err := Fit(X, y, nil, Options{Trees: 5})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.PredictLogOdds(X.Drop("colour"))
	var ce *ColumnError
	if !errors.As(err, &ce) || ce.Name != "colour" || !errors.Is(err, ErrMissingColumn) {
		t.Errorf("missing column: got %v", err)
	}
	bad := X.Drop("a")
	bad.AddCategorical("a", make([]string, 100))
	if _, err := m.Predict(bad); !errors.Is(err, ErrColumnKind) {
		t.Errorf("wrong kind: got %v", err)
	}
	if _, _, err := m.Contributions(X, 100); !errors.Is(err, ErrRow) {
		t.Errorf("row out of range: got %v", err)
	}
	if _, err := m.Predict(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("nil frame: got %v", err)
	}
}

func TestEarlyStopping(t *testing.T) {
	X, y := synth(2000, 14)
	Xv, yv := synth(2000, 15)
	m, err := Fit(X, y, nil, Options{Trees: 1000, LearningRate: 0.3, MaxDepth: 6, EarlyStoppingRounds: 10,
		Validation: &Dataset{X: Xv, Y: yv}, Seed: 16})
	if err != nil {
		t.Fatal(err)
	}
	if m.NumTrees() >= 1000 || m.NumTrees() < 2 {
		t.Fatalf("kept %d trees, want early stopping well before 1000", m.NumTrees())
	}
	// The kept trees are the best prefix: one more or one fewer round is no better.
	ll := func(k int) float64 {
		c := &Model{features: m.features, base: m.base, trees: m.trees[:k], opts: m.opts}
		c.batch = compileEnsemble(c.features, c.trees)
		p, _ := c.Predict(Xv)
		var s float64
		for i := range p {
			s -= yv[i]*math.Log(p[i]) + (1-yv[i])*math.Log(1-p[i])
		}
		return s
	}
	if best := ll(m.NumTrees()); best > ll(m.NumTrees()-1) {
		t.Errorf("validation log-loss with the kept trees %.4f is worse than with one fewer %.4f", best, ll(m.NumTrees()-1))
	}
}

func TestQuantileCuts(t *testing.T) {
	spike := make([]float64, 1000)
	for i := range spike {
		if i >= 800 {
			spike[i] = float64(i)
		}
	}
	for _, tc := range []struct {
		name    string
		vals    []float64
		maxBins int
		want    int // number of cuts, -1 to only check the invariants
	}{
		{"empty", nil, 255, 0},
		{"constant", []float64{3, 3, 3}, 255, 0},
		{"few distinct", []float64{1, 2, 2, 3, 3, 3}, 255, 2},
		{"exactly max", []float64{1, 2, 3, 4}, 4, 3},
		{"many distinct", spike[800:], 10, 9},
		{"spike", spike, 10, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := slices.Clone(tc.vals)
			cuts := quantileCuts(vals, tc.maxBins)
			if tc.want >= 0 && len(cuts) != tc.want {
				t.Errorf("%d cuts, want %d: %v", len(cuts), tc.want, cuts)
			}
			if len(cuts) > tc.maxBins-1 || !slices.IsSorted(cuts) {
				t.Errorf("cuts %v: more than %d or not sorted", cuts, tc.maxBins-1)
			}
			for _, c := range cuts {
				if slices.Contains(tc.vals, c) && c != tc.vals[0] {
					// A cut equal to a value is only allowed for adjacent floats.
					t.Errorf("cut %v equals an observed value", c)
				}
			}
		})
	}
	// The spike at 0 (80% of the values) gets a bin of its own and the rest share the others.
	cuts := quantileCuts(slices.Clone(spike), 10)
	if len(cuts) < 5 || cuts[0] <= 0 || cuts[0] >= 800 {
		t.Errorf("spike: cuts %v, want the first between 0 and 800 and several above", cuts)
	}
}

func FuzzUnmarshal(f *testing.F) {
	X, y := synth(300, 17)
	m, err := Fit(X, y, nil, Options{Trees: 3, MaxDepth: 3})
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Add([]byte(`{"format_version":1,"features":[{"name":"a","kind":"numeric"}],"trees":[[{"feature":0,"left":0,"right":0,"cover":1}]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Model
		if err := json.Unmarshal(b, &m); err != nil {
			return
		}
		// Whatever decodes must predict and explain without panicking.
		if _, err := m.PredictLogOdds(X); err == nil {
			m.Contributions(X, 0)
		}
	})
}

func TestTreeShape(t *testing.T) {
	X, y := synth(3000, 18)
	for _, tc := range []struct {
		name              string
		o                 Options
		maxDepth, maxLeaf int
	}{
		{"depth 2", Options{Trees: 10, MaxDepth: 2}, 2, 4},
		{"depth 4", Options{Trees: 10}, 4, 16},
		{"leaf-wise", Options{Trees: 10, MaxDepth: 10, MaxLeaves: 6}, 10, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Fit(X, y, nil, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			for i, tr := range m.trees {
				leaves := 0
				for _, n := range tr.nodes {
					if n.Feature < 0 {
						leaves++
					}
				}
				if tr.depth > tc.maxDepth || leaves > tc.maxLeaf {
					t.Errorf("tree %d: depth %d, %d leaves; want at most %d and %d", i, tr.depth, leaves, tc.maxDepth, tc.maxLeaf)
				}
			}
		})
	}
}

func TestTuneErrors(t *testing.T) {
	X, y := synth(100, 19)
	for _, k := range []int{0, 1, 101} {
		if _, err := Tune(X, y, nil, Grid{}, k, 1); !errors.Is(err, ErrOptions) {
			t.Errorf("%d folds: got %v, want ErrOptions", k, err)
		}
	}
	if _, err := Tune(X, y[:5], nil, Grid{}, 3, 1); !errors.Is(err, ErrLength) {
		t.Errorf("short labels: got %v", err)
	}
}

func TestTinyInput(t *testing.T) {
	X := &frame.Frame{}
	X.AddNumeric("x", []float64{1, 2, math.NaN()})
	X.AddCategorical("c", []string{"a", "", "b"})
	y := []float64{0, 1, 1}
	for _, o := range []Options{{}, {Subsample: 0.01, Seed: 3}, {MinChildWeight: 1e-9, L2: 1e-9}} {
		m, err := Fit(X, y, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Model
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		p, err := back.Predict(X)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p {
			if !(v > 0 && v < 1) {
				t.Errorf("%+v: probability %v", o, v)
			}
		}
	}
}

// TestImportance checks both global importances: mean |SHAP| is the mean of the absolute
// per-row contributions (which add up to the margin minus the expected value), and the pure
// noise column ranks last on both gain and mean |SHAP|.
func TestImportance(t *testing.T) {
	X, y := synth(2000, 3)
	m, err := Fit(X, y, nil, Options{Trees: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	rows := []int{0, 5, 17, 400, 1999}
	got, err := m.MeanAbsContributions(X, rows)
	if err != nil {
		t.Fatal(err)
	}
	F, err := m.PredictLogOdds(X)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(got))
	for _, r := range rows {
		bias, c, err := m.Contributions(X, r)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for j, v := range c {
			want[j] += math.Abs(v) / float64(len(rows))
			sum += v
		}
		if math.Abs(sum-(F[r]-bias)) > 1e-9 {
			t.Errorf("row %d: Σ SHAP = %.12f, margin − expected value = %.12f", r, sum, F[r]-bias)
		}
	}
	for j := range got {
		if math.Abs(got[j]-want[j]) > 1e-12 {
			t.Errorf("feature %d: mean |SHAP| %v, want %v", j, got[j], want[j])
		}
	}
	all, err := m.MeanAbsContributions(X, nil)
	if err != nil {
		t.Fatal(err)
	}
	gain := m.Gain()
	names := m.FeatureNames()
	noise := slices.Index(names, "noise")
	if noise < 0 {
		t.Fatalf("no noise column in %v", names)
	}
	for j := range names {
		if j != noise && (all[j] <= all[noise] || gain[j] <= gain[noise]) {
			t.Errorf("%s: mean |SHAP| %.4f, gain %.1f; noise: %.4f, %.1f", names[j], all[j], gain[j], all[noise], gain[noise])
		}
	}
	if _, err := m.MeanAbsContributions(X, []int{2000}); err == nil {
		t.Error("row out of range accepted")
	}
}

// TestContributionsTableEqualsAlgorithm2 compares the TreeSHAP values of the tables with
// Algorithm 2 run tree by tree (shapper.tree) on models whose paths repeat features, split
// categories and send missing values by default, for ordinary and hostile rows: the
// per-leaf increments walked leaf by leaf give its values bit for bit, and the grouped
// tables (contribRow) give them up to the order of the additions. It also checks the groups'
// shape and that trees past the tables' budget are left to Algorithm 2.
func TestContributionsTableEqualsAlgorithm2(t *testing.T) {
	X, y := synth(2000, 9)
	W, yw := wide(3000, 40, 5)
	for _, c := range []struct {
		X    *frame.Frame
		y    []float64
		opts Options
	}{
		{X, y, Options{Trees: 30, MaxDepth: 4, Seed: 2}},
		{X, y, Options{Trees: 20, MaxDepth: 6, Subsample: 0.7, ColSample: 0.5, Seed: 3}},
		{X, y, Options{Trees: 10, MaxDepth: 8, MaxLeaves: 12, Seed: 4}},
		{W, yw, Options{Trees: 40, MaxDepth: 5, ColSample: 0.5, Seed: 5}},
	} {
		m, err := Fit(c.X, c.y, nil, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		tabs := m.shapTables()
		leafTabs := make([]*shapTable, len(m.trees))
		built, grouped := 0, 0
		for i, st := range tabs {
			tr := &m.trees[i].tree
			leafTabs[i] = buildShapTable(tr)
			if n, max := len(leafTabs[i].delta), shapTableSize(tr); n > max {
				t.Errorf("tree %d: %d increments, more than the %d shapTableSize allowed for", i, n, max)
			}
			if st == nil {
				continue
			}
			built++
			for _, g := range st.groups {
				if len(g.nodes) > shapGroupBits {
					// Only a leaf under more ancestors than that is a group of more splits:
					// its splits are the path from the root.
					for j, nd := range g.nodes {
						if j == 0 && nd != 0 || j > 0 && nd != int32(tr.nodes[g.nodes[j-1]].Left) && nd != int32(tr.nodes[g.nodes[j-1]].Right) {
							t.Errorf("%+v tree %d: a group of %d splits that are not one path", c.opts, i, len(g.nodes))
							break
						}
					}
				}
				if len(g.vals) != (1<<len(g.nodes))*len(g.feats) {
					t.Errorf("%+v tree %d: %d values for %d splits and %d features", c.opts, i, len(g.vals), len(g.nodes), len(g.feats))
				}
			}
			if len(st.groups) < len(leafTabs[i].n)/2 {
				grouped++
			}
			if c.opts.MaxDepth == 4 && len(st.groups) > 2 {
				t.Errorf("depth-4 tree %d: %d groups, want the whole tree or its root's two subtrees", i, len(st.groups))
			}
		}
		if built != len(tabs) {
			t.Errorf("%+v: %d of %d trees have tables, want all within the budget", c.opts, built, len(tabs))
		}
		if grouped == 0 {
			t.Errorf("%+v: no tree has fewer groups than leaves", c.opts)
		}
		H := hostile(c.X, 300, thresholdsOf(m), 11)
		for _, F := range []*frame.Frame{c.X, H} {
			cols, err := m.columns(F)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float64, len(m.features))
			for r := range min(F.Rows(), 300) {
				m.fillRows(cols, r, r+1, x)
				want := make([]float64, len(x))
				var s shapper
				for _, tr := range m.trees {
					s.tree(&tr.tree, x, want)
				}
				leaves := make([]float64, len(x))
				for i, tr := range m.trees {
					walkLeaves(leafTabs[i], &tr.tree, x, leaves)
				}
				got := make([]float64, len(x))
				m.contribRow(x, got, &s)
				for j := range want {
					if math.Float64bits(leaves[j]) != math.Float64bits(want[j]) {
						t.Fatalf("%+v row %d feature %d: per-leaf table %v, Algorithm 2 %v", c.opts, r, j, leaves[j], want[j])
					}
					if math.Abs(got[j]-want[j]) > 1e-12*(1+math.Abs(want[j])) {
						t.Fatalf("%+v row %d feature %d: grouped tables %v, Algorithm 2 %v", c.opts, r, j, got[j], want[j])
					}
				}
			}
		}
	}
	// A model whose tables would pass the budget keeps Algorithm 2 for the trees past it.
	m, err := Fit(X, y, nil, Options{Trees: 200, MaxDepth: 12, MaxLeaves: 40, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	total, skipped := 0, 0
	for _, st := range m.shapTables() {
		if st == nil {
			skipped++
			continue
		}
		total += st.size()
	}
	if skipped == 0 || total > shapTableBudget {
		t.Errorf("deep model: %d trees without a table, %d increments (budget %d): want some trees left to Algorithm 2 and the budget kept", skipped, total, shapTableBudget)
	}
	bias, c, err := m.Contributions(X, 5)
	if err != nil {
		t.Fatal(err)
	}
	F, _ := m.PredictLogOdds(X)
	sum := bias
	for _, v := range c {
		sum += v
	}
	if math.Abs(sum-F[5]) > 1e-9 {
		t.Errorf("deep model: bias + Σ contributions = %v, log-odds %v", sum, F[5])
	}
}

// walkLeaves visits the tree as Algorithm 2's recurse does (the row's child first) and adds
// each leaf's increments from the per-leaf table st for the pattern of edges the walk took
// to reach it: Algorithm 2's values bit for bit.
func walkLeaves(st *shapTable, t *tree, x, phi []float64) {
	type item struct {
		node  int32
		depth uint32
		pat   uint32
	}
	stack := []item{{}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn := &t.flat[it.node]
		if fn.left == it.node { // a leaf points to itself (flatten)
			n := int(st.n[it.node])
			d := st.delta[int(st.doff[it.node])+int(it.pat)*n:][:n]
			for i, f := range st.feats[st.foff[it.node]:][:n] {
				phi[f] += d[i]
			}
			continue
		}
		hot := t.next(it.node, x)
		cold := 2*fn.left + 1 - hot
		stack = append(stack, item{cold, it.depth + 1, it.pat}, item{hot, it.depth + 1, it.pat | 1<<it.depth})
	}
}
