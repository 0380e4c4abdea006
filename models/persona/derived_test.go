package persona

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
)

// mixed is a small table with counts for shares, amounts for a ratio and a 4-level category.
func mixed() *frame.Frame {
	f := &frame.Frame{}
	var blog, views, amount, orders, age []float64
	var plan []string
	for i := range 60 {
		v := float64(i % 7)
		views = append(views, v)
		b := math.Floor(v * float64(i%3) / 2)
		if i%11 == 0 {
			b = 2 // more than the views: counted elsewhere too
		}
		blog = append(blog, b)
		o := float64(i % 4)
		orders = append(orders, o)
		amount = append(amount, o*(10+float64(i)))
		age = append(age, 20+float64(i%40))
		plan = append(plan, []string{"a", "b", "c", "d"}[i%4])
	}
	f.AddNumeric("page_blog_90d", blog)
	f.AddNumeric("n_page_view_90d", views)
	f.AddNumeric("purchase_amount_sum", amount)
	f.AddNumeric("purchase_count", orders)
	f.AddNumeric("age", age)
	f.AddCategorical("plan", plan)
	return f
}

func mixedSettings() TransformSettings {
	return TransformSettings{
		Columns:      []string{"age", "plan"},
		WeightLevels: true,
		Derived: []Derived{
			{Kind: Share, Num: "page_blog_90d", Den: "n_page_view_90d"},
			{Kind: Ratio, Num: "purchase_amount_sum", Den: "purchase_count"},
		},
	}
}

func TestDerivedInputs(t *testing.T) {
	f := mixed()
	tr, err := FitTransform(f, mixedSettings())
	if err != nil {
		t.Fatal(err)
	}
	wantDims := []string{"age", "plan=a", "plan=b", "plan=c", "plan=d", "page_blog_90d/n_page_view_90d", "purchase_amount_sum/purchase_count"}
	if !slices.Equal(tr.Dims, wantDims) {
		t.Fatalf("dims %v, want %v", tr.Dims, wantDims)
	}
	share, ratio := tr.Inputs[2], tr.Inputs[3]
	// p₀ = Σnum / Σmax(num, den), computed by hand from mixed().
	num, den := 0.0, 0.0
	for r, b := range f.Column("page_blog_90d").Num {
		num += b
		den += math.Max(b, f.Column("n_page_view_90d").Num[r])
	}
	if math.Abs(share.Prior-num/den) > 1e-15 || share.Smoothing != DefaultSmoothing || !slices.Equal(share.Of, []string{"page_blog_90d", "n_page_view_90d"}) {
		t.Errorf("share input %+v, want prior %v", share, num/den)
	}
	for _, tc := range []struct {
		num, den, want float64
	}{
		{0, 0, share.Prior},                       // no evidence: the population share
		{math.NaN(), 4, share.Prior},              // missing: the same
		{2, 4, (2 + 3*share.Prior) / (4 + 3)},     // smoothed
		{3, 1, (3 + 3*share.Prior) / (3 + 3)},     // numerator above denominator
		{0, 10, (3 * share.Prior) / (10 + 3)},     // none of many
		{10, 10, (10 + 3*share.Prior) / (10 + 3)}, // all of many
		{-1, 2, (0 + 3*share.Prior) / (2 + 3)},    // negative counts are 0
		{1e9, 1e9, (1e9 + 3*share.Prior) / (1e9 + 3)},
	} {
		if got := share.derive(tc.num, tc.den); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("share(%v, %v) = %v, want %v", tc.num, tc.den, got, tc.want)
		}
	}
	if got := ratio.derive(100, 4); got != 25 {
		t.Errorf("ratio(100, 4) = %v", got)
	}
	if got := ratio.derive(0, 0); got != 0 {
		t.Errorf("ratio(0, 0) = %v, want 0 (no purchase, no mean spend)", got)
	}
	if got := ratio.derive(math.NaN(), 2); !math.IsNaN(got) {
		t.Errorf("ratio(NaN, 2) = %v, want NaN", got)
	}

	// The one-hot block of a 4-level column carries the variance of one column.
	x, err := tr.Apply(f)
	if err != nil {
		t.Fatal(err)
	}
	dim := tr.Dim()
	block := 0.0
	for r := range f.Rows() {
		for d := 1; d <= 4; d++ {
			block += x[r*dim+d] * x[r*dim+d]
		}
	}
	if v := block / float64(f.Rows()); math.Abs(v-1) > 1e-12 {
		t.Errorf("variance of the weighted plan block %v, want 1", v)
	}
	if tr.DimWeight(2) != 0.5 || tr.DimWeight(0) != 1 || tr.DimWeight(5) != 1 {
		t.Errorf("dimension weights %v %v %v", tr.DimWeight(0), tr.DimWeight(2), tr.DimWeight(5))
	}

	// ApplyRecord reads the source columns and agrees with Apply row by row.
	rec := map[string]any{}
	got := make([]float64, dim)
	for r := range f.Rows() {
		for _, c := range f.Columns {
			if c.Kind == frame.Numeric {
				rec[c.Name] = c.Num[r]
			} else {
				rec[c.Name] = c.Cat[r]
			}
		}
		if err := tr.ApplyRecord(rec, got); err != nil {
			t.Fatal(err)
		}
		for d, v := range got {
			if math.Abs(v-x[r*dim+d]) > 1e-12 {
				t.Fatalf("row %d dim %s: ApplyRecord %v, Apply %v", r, tr.Dims[d], v, x[r*dim+d])
			}
		}
	}
	delete(rec, "n_page_view_90d")
	if err := tr.ApplyRecord(rec, got); !errors.Is(err, ErrField) || !strings.Contains(err.Error(), "n_page_view_90d") {
		t.Errorf("record without a share's denominator: %v", err)
	}
}

func TestDerivedModel(t *testing.T) {
	f := mixed()
	s := Settings{K: 2, Transform: mixedSettings(), Stability: kmeans.StabilitySettings{Resamples: -1}}
	res, err := Fit(f, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	want := []string{"age", "plan", "page_blog_90d", "n_page_view_90d", "purchase_amount_sum", "purchase_count"}
	if got := m.InputNames(); !slices.Equal(got, want) {
		t.Errorf("InputNames %v, want %v", got, want)
	}
	// Traits are in standard deviations: a level's z is its weighted coordinate over the
	// weight.
	for _, p := range m.Personas {
		for _, tr := range p.Traits {
			d := slices.Index(m.Transform.Dims, tr.Feature)
			if c := m.Centroids[p.ID*m.Transform.Dim()+d]; math.Abs(tr.Z-c/m.Transform.DimWeight(d)) > 1e-12 {
				t.Errorf("trait %s z %v, centroid %v, weight %v", tr.Feature, tr.Z, c, m.Transform.DimWeight(d))
			}
		}
		for _, v := range p.Centroid {
			if v.Column == "page_blog_90d/n_page_view_90d" && !(v.Value > 0 && v.Value < 1) {
				t.Errorf("share centroid %v is not a share", v)
			}
		}
	}
	dir := t.TempDir()
	if _, err := Save(dir, m, f.Rows()); err != nil {
		t.Fatal(err)
	}
	m2, man, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(man.FeatureNames, want) {
		t.Errorf("manifest feature names %v", man.FeatureNames)
	}
	for r := range f.Rows() {
		rec := map[string]any{"plan": f.Column("plan").Cat[r]}
		for _, c := range want {
			if c != "plan" {
				rec[c] = f.Column(c).Num[r]
			}
		}
		id, _, dist, err := m2.Assign(rec)
		if err != nil || id != res.Labels[r] || math.Abs(dist-res.Distances[r]) > 1e-12 {
			t.Fatalf("row %d: loaded model assigns %d at %v (%v), fit %d at %v", r, id, dist, err, res.Labels[r], res.Distances[r])
		}
	}
}

func TestDerivedErrors(t *testing.T) {
	f := mixed()
	for _, tc := range []struct {
		name string
		s    TransformSettings
		want string
	}{
		{"unknown kind", TransformSettings{Columns: []string{"age"}, Derived: []Derived{{Kind: "product", Num: "age", Den: "age"}}}, `unknown kind "product"`},
		{"no column", TransformSettings{Columns: []string{"age"}, Derived: []Derived{{Kind: Share, Num: "page_blog_90d", Den: "views"}}}, `column "views"`},
		{"categorical source", TransformSettings{Columns: []string{"age"}, Derived: []Derived{{Kind: Ratio, Num: "plan", Den: "age"}}}, `"plan"`},
		{"unknown plain column", TransformSettings{Columns: []string{"height"}}, `column "height"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FitTransform(f, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// A missing ratio is an error unless imputed.
	g := mixed()
	g.Column("purchase_amount_sum").Num[4] = math.NaN()
	s := TransformSettings{Columns: []string{}, Derived: []Derived{{Kind: Ratio, Num: "purchase_amount_sum", Den: "purchase_count"}}}
	if _, err := FitTransform(g, s); !errors.Is(err, ErrMissing) {
		t.Errorf("missing ratio: %v", err)
	}
	// A decoded model checks its derived inputs.
	res, err := Fit(mixed(), Settings{K: 2, Transform: mixedSettings(), Stability: kmeans.StabilitySettings{Resamples: -1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(m *Model){
		func(m *Model) { m.Transform.Inputs[2].Prior = 1.5 },
		func(m *Model) { m.Transform.Inputs[2].Of = []string{"page_blog_90d"} },
		func(m *Model) { m.Transform.Inputs[1].Weight = math.Inf(1) },
	} {
		m := *res.Model
		m.Transform.Inputs = slices.Clone(m.Transform.Inputs)
		bad(&m)
		if err := m.Validate(); !errors.Is(err, ErrModel) {
			t.Errorf("bad model validates: %v", err)
		}
	}
}

func TestDerivedPhrase(t *testing.T) {
	for _, tc := range []struct {
		dim  string
		z    float64
		want string
	}{
		{"page_blog_90d/n_page_view_90d", 1, "blog-page visitors"},
		{"decayed_webinar/decayed_events", 1, "frequent webinar"},
		{"decayed_webinar/decayed_events", -1, "rare webinar"},
		{"spend_software/purchase_amount_sum", 1, "software-buying"},
		{"purchase_amount_sum/purchase_count", -1, "low-spend"},
	} {
		if got := phrase(tc.dim, tc.z); got != tc.want {
			t.Errorf("phrase(%q, %v) = %q, want %q", tc.dim, tc.z, got, tc.want)
		}
	}
}
