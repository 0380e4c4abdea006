package encode

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/propensity-dev/propensity/models/frame"
)

func testFrame() (*frame.Frame, []float64) {
	f := &frame.Frame{}
	f.AddNumeric("age", []float64{20, 30, math.NaN(), 40, 50, 60})
	f.AddNumeric("const", []float64{1, 1, 1, 1, 1, 1})
	f.AddCategorical("plan", []string{"a", "a", "b", "b", "rare", ""})
	return f, []float64{0, 1, 0, 1, 1, 0}
}

func TestFitFeatures(t *testing.T) {
	f, y := testFrame()
	e, X, err := Fit(f, y, nil, Options{MinCount: 2}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"age", "age__missing", "plan=a", "plan=b", "plan=__other__", "plan=__missing__"}
	if !slices.Equal(e.Features, want) {
		t.Fatalf("features = %v, want %v", e.Features, want)
	}
	n, p := X.Dims()
	if n != 6 || p != len(want) {
		t.Fatalf("dims %d×%d", n, p)
	}
	// Every training feature is standardised: mean 0, variance 1.
	for k := range p {
		col := mat.Col(nil, k, X)
		var s, ss float64
		for _, v := range col {
			s += v
			ss += v * v
		}
		if math.Abs(s/6) > 1e-12 || math.Abs(ss/6-1) > 1e-12 {
			t.Errorf("feature %s: mean %v, var %v", want[k], s/6, ss/6)
		}
	}
	// The missing age is imputed with the median of 20..60 without it: 40.
	if e.Columns[0].Impute != 40 {
		t.Errorf("impute = %v, want 40", e.Columns[0].Impute)
	}
}

func TestTransform(t *testing.T) {
	f, y := testFrame()
	e, X, err := Fit(f, y, nil, Options{MinCount: 2}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Without target encoding, Transform of the training frame reproduces Fit's matrix.
	X2, err := e.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(X, X2, 1e-12) {
		t.Fatal("Transform(train) differs from Fit's matrix")
	}
	// An unseen level goes to __other__; a numeric column may arrive as text.
	g := &frame.Frame{}
	g.AddCategorical("plan", []string{"zzz"})
	g.AddCategorical("age", []string{"35"})
	g.AddNumeric("const", []float64{1})
	Xg, err := e.Transform(g)
	if err != nil {
		t.Fatal(err)
	}
	other := slices.Index(e.Features, "plan=__other__")
	raw := Xg.At(0, other)*e.Scale[other] + e.Mean[other]
	if math.Abs(raw-1) > 1e-12 {
		t.Errorf("unseen level: __other__ = %v, want 1", raw)
	}
	// JSON round trip transforms identically.
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var e2 Encoder
	if err := json.Unmarshal(b, &e2); err != nil {
		t.Fatal(err)
	}
	X3, err := e2.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(X2, X3) {
		t.Error("decoded encoder transforms differently")
	}
}

func TestTransformErrors(t *testing.T) {
	f, y := testFrame()
	e, _, err := Fit(f, y, nil, Options{}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		frame func() *frame.Frame
		want  []string
	}{
		{"missing and extra", func() *frame.Frame {
			g := &frame.Frame{}
			g.AddNumeric("age", []float64{1})
			g.AddNumeric("bogus", []float64{1})
			return g
		}, []string{"missing columns: const, plan", "unexpected columns: bogus"}},
		{"text in a numeric column", func() *frame.Frame {
			g := &frame.Frame{}
			g.AddCategorical("age", []string{"old"})
			g.AddNumeric("const", []float64{1})
			g.AddCategorical("plan", []string{"a"})
			return g
		}, []string{`"age"`, `"old" is not a number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Transform(tt.frame())
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SchemaError", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not mention %q", err, s)
				}
			}
		})
	}
	t.Run("corrupt state", func(t *testing.T) {
		bad := *e
		bad.Scale = slices.Clone(e.Scale)
		bad.Scale[0] = 0
		if _, err := bad.Transform(f); !errors.Is(err, ErrCorrupt) {
			t.Errorf("err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("nothing usable", func(t *testing.T) {
		g := &frame.Frame{}
		g.AddNumeric("c", []float64{2, 2})
		if _, _, err := Fit(g, []float64{0, 1}, nil, Options{}, rand.NewPCG(1, 1)); !errors.Is(err, ErrNoFeatures) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestTargetEncodingOutOfFold checks that a pure-noise high-cardinality column (one level per
// row) cannot leak labels: out of fold, every row sees only the prior of the other folds.
func TestTargetEncodingOutOfFold(t *testing.T) {
	n := 400
	ids := make([]string, n)
	zip := make([]string, n)
	y := make([]float64, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range ids {
		ids[i] = "id" + strconv.Itoa(i)
		z := rng.IntN(80)
		zip[i] = "z" + strconv.Itoa(z)
		if rng.Float64() < float64(z)/80 { // rate grows with the zip code
			y[i] = 1
		}
	}
	f := &frame.Frame{}
	f.AddCategorical("id", ids)
	f.AddCategorical("zip", zip)
	e, X, err := Fit(f, y, nil, Options{}, rand.NewPCG(5, 6))
	if err != nil {
		t.Fatal(err)
	}
	// A unique id carries no out-of-fold information: every row gets the prior, the feature
	// is constant and is left out, while zip's rate is kept and tracks the label.
	if e.Columns[0].Method != MethodUnused || e.Columns[1].Method != MethodTarget {
		t.Fatalf("methods = %v", e.Describe())
	}
	col := mat.Col(nil, 0, X)
	var sy, sxy, vy float64
	for i := range col {
		sy += y[i]
		sxy += col[i] * y[i]
	}
	my := sy / float64(n)
	for i := range y {
		vy += (y[i] - my) * (y[i] - my)
	}
	if c := sxy / math.Sqrt(vy*float64(n)); c < 0.3 {
		t.Errorf("zip feature correlates only %v with the label", c)
	}
}

func FuzzDecodeEncoder(f *testing.F) {
	fr, y := testFrame()
	e, _, err := Fit(fr, y, nil, Options{MinCount: 2}, rand.NewPCG(1, 1))
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(e)
	f.Add(b)
	if el, _, err := Fit(fr, y, nil, Options{MinCount: 2, Log1p: true}, rand.NewPCG(1, 1)); err == nil {
		bl, _ := json.Marshal(el)
		f.Add(bl)
	}
	f.Add([]byte(`{"version":1,"features":["a"],"mean":[0],"scale":[1],"columns":[{"name":"age","method":"onehot","first":0,"width":5}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Encoder
		if json.Unmarshal(data, &d) != nil {
			return
		}
		X, err := d.Transform(fr)
		if err != nil {
			return
		}
		for _, v := range X.RawMatrix().Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite output from decoded state")
			}
		}
	})
}

func BenchmarkTransform(b *testing.B) {
	n := 100_000
	rng := rand.New(rand.NewPCG(1, 2))
	f := &frame.Frame{}
	for j := range 10 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		f.AddNumeric("x"+strconv.Itoa(j), v)
	}
	c := make([]string, n)
	for i := range c {
		c[i] = "l" + strconv.Itoa(rng.IntN(12))
	}
	f.AddCategorical("c", c)
	y := make([]float64, n)
	e, _, err := Fit(f, y, nil, Options{}, rand.NewPCG(1, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Transform(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestConstantValueWithMissing: a column whose present values are all equal keeps only its
// missing-value indicator.
func TestConstantValueWithMissing(t *testing.T) {
	f := &frame.Frame{}
	f.AddNumeric("v", []float64{5, 5, math.NaN(), 5})
	e, X, err := Fit(f, []float64{0, 1, 1, 0}, nil, Options{}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Features, []string{"v__missing"}) {
		t.Fatalf("features = %v", e.Features)
	}
	X2, err := e.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(X, X2, 1e-12) {
		t.Error("Transform differs from Fit")
	}
}

// TestLog1p: with Options.Log1p, numeric columns whose training values are all ≥ 0 and not
// all 0/1 get a log(1 + x) feature (after the value, before the missing indicator); the
// encoder is written in format Version, survives JSON, and Transform and TransformRow give
// the training matrix back.
func TestLog1p(t *testing.T) {
	f := &frame.Frame{}
	f.AddNumeric("clicks", []float64{0, 3, math.NaN(), 0, 12, 1})
	f.AddNumeric("flag", []float64{0, 1, 1, 0, 1, 0})     // 0/1: no log
	f.AddNumeric("delta", []float64{-2, 3, 4, 0, 12, 1})  // negative: no log
	f.AddNumeric("days", []float64{5, 30, 400, 2, 1, 90}) // no zero, still counts
	y := []float64{0, 1, 0, 1, 1, 0}
	plain, _, err := Fit(f, y, nil, Options{}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Version != versionPlain || slices.ContainsFunc(plain.Features, func(s string) bool { return strings.HasSuffix(s, "__log1p") }) {
		t.Fatalf("without Log1p: version %d, features %v", plain.Version, plain.Features)
	}
	e, X, err := Fit(f, y, nil, Options{Log1p: true}, rand.NewPCG(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"clicks", "clicks__log1p", "clicks__missing", "flag", "delta", "days", "days__log1p"}
	if !slices.Equal(e.Features, want) || e.Version != Version {
		t.Fatalf("features %v (version %d), want %v (version %d)", e.Features, e.Version, want, Version)
	}
	// The feature is log1p of the (imputed) value, standardised.
	for i, x := range f.Columns[0].Num {
		if math.IsNaN(x) {
			x = e.Columns[0].Impute
		}
		if got := X.At(i, 1)*e.Scale[1] + e.Mean[1]; math.Abs(got-math.Log1p(x)) > 1e-12 {
			t.Errorf("row %d: clicks__log1p %v, want log1p(%v) = %v", i, got, x, math.Log1p(x))
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var d Encoder
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	X2, err := d.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(X, X2, 1e-12) {
		t.Error("Transform of the decoded encoder differs from the training matrix")
	}
	if err := d.Prepare([]string{"clicks", "flag", "delta", "days"}); err != nil {
		t.Fatal(err)
	}
	x := make([]float64, len(d.Features))
	for i := range f.Rows() {
		if err := d.TransformRow(f.Columns, i, x); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, X2.RawRowView(i)) {
			t.Errorf("row %d: TransformRow %v, Transform %v", i, x, X2.RawRowView(i))
		}
	}
	// log1p features in a version-1 encoder are corrupt state, not silently misread.
	d.Version = versionPlain
	if _, err := d.Transform(f); !errors.Is(err, ErrCorrupt) {
		t.Errorf("log1p features in a version %d encoder: err = %v, want ErrCorrupt", versionPlain, err)
	}
	d.Version = Version + 1
	if _, err := d.Transform(f); !errors.Is(err, ErrVersion) {
		t.Errorf("version %d: err = %v, want ErrVersion", Version+1, err)
	}
}
