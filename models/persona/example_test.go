package persona_test

import (
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
)

// contacts is a small table: big spenders who rarely visit, and frequent visitors who
// spend little.
func contacts() *frame.Frame {
	f := &frame.Frame{}
	var spend, visits []float64
	var plan []string
	for i := range 40 {
		if i%2 == 0 {
			spend = append(spend, 800+float64(i))
			visits = append(visits, 1+float64(i%3))
			plan = append(plan, "pro")
		} else {
			spend = append(spend, 15+float64(i%4))
			visits = append(visits, 25+float64(i%6))
			plan = append(plan, "free")
		}
	}
	f.AddNumeric("purchase_amount_sum", spend)
	f.AddNumeric("n_page_view_30d", visits)
	f.AddCategorical("plan", plan)
	return f
}

func ExampleFitTransform() {
	t, err := persona.FitTransform(contacts(), persona.TransformSettings{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range t.Inputs {
		fmt.Println(in.Name, in.Kind, "log1p:", in.Log)
	}
	fmt.Println(t.Dims)
	// Output:
	// purchase_amount_sum numeric log1p: false
	// n_page_view_30d numeric log1p: false
	// plan categorical log1p: false
	// [purchase_amount_sum n_page_view_30d plan=free plan=pro]
}

func ExampleFit() {
	res, err := persona.Fit(contacts(), persona.Settings{K: 2, Stability: kmeans.StabilitySettings{Resamples: 5}}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := res.Model
	for _, id := range []int{res.Labels[0], res.Labels[1]} {
		p := m.Personas[id]
		fmt.Printf("%s: %d people\n", p.Name, p.Size)
	}
	fmt.Printf("stability %.2f\n", m.Stability)
	// Output:
	// pro, high-spend, rare page-view customers: 20 people
	// free, low-spend, frequent page-view customers: 20 people
	// stability 1.00
}

func ExampleModel_Assign() {
	res, err := persona.Fit(contacts(), persona.Settings{K: 2, Stability: kmeans.StabilitySettings{Resamples: -1}}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, name, _, err := res.Model.Assign(map[string]any{"purchase_amount_sum": 12.5, "n_page_view_30d": 31, "plan": "free"})
	fmt.Println(name, err)
	_, _, _, err = res.Model.Assign(map[string]any{"plan": "free"})
	fmt.Println(err)
	// Output:
	// free, low-spend, frequent page-view customers <nil>
	// persona: record lacks a field the model needs: "purchase_amount_sum"
}

func ExampleSave() {
	res, err := persona.Fit(contacts(), persona.Settings{K: 2, Stability: kmeans.StabilitySettings{Resamples: -1}}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "personas")
	defer os.RemoveAll(dir)
	if _, err := persona.Save(dir, res.Model, 40); err != nil {
		fmt.Println(err)
		return
	}
	m, man, err := persona.Load(dir)
	fmt.Println(man.Kind, man.Model, m.K, err)
	// Output:
	// personas kmeans 2 <nil>
}

func ExampleValueColumn() {
	fmt.Println(persona.ValueColumn("clv"), persona.RiskColumn("p_churn"), persona.ValueColumn("age"))
	// Output:
	// true true false
}

func ExampleTransform_ApplyRecord() {
	t, err := persona.FitTransform(contacts(), persona.TransformSettings{})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := make([]float64, t.Dim())
	err = t.ApplyRecord(map[string]any{"purchase_amount_sum": nil, "n_page_view_30d": 14, "plan": "pro"}, v)
	fmt.Printf("%.2f %v\n", v, err)
	// A missing spend takes the median, close to the mean; 14 visits is about the mean.
	// Output:
	// [-0.02 -0.07 -1.00 1.00] <nil>
}

func ExampleModel_InputNames() {
	res, err := persona.Fit(contacts(), persona.Settings{K: 2, Stability: kmeans.StabilitySettings{Resamples: -1}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Model.InputNames(), res.Model.Validate())
	// Output:
	// [purchase_amount_sum n_page_view_30d plan] <nil>
}

// Shares of sparse counts are smoothed towards the population share (here 16 blog pages in
// 29 page views, 0.552) and arcsine-root encoded; a ratio is 0 when its denominator is.
func ExampleDerived() {
	f := &frame.Frame{}
	f.AddNumeric("page_blog_90d", []float64{0, 1, 4, 0, 9, 2})
	f.AddNumeric("n_page_view_90d", []float64{0, 2, 4, 5, 10, 8})
	f.AddNumeric("purchase_amount_sum", []float64{0, 30, 0, 250, 40, 90})
	f.AddNumeric("purchase_count", []float64{0, 1, 0, 5, 2, 3})
	t, err := persona.FitTransform(f, persona.TransformSettings{
		Columns: []string{},
		Derived: []persona.Derived{
			{Kind: persona.Share, Num: "page_blog_90d", Den: "n_page_view_90d"},
			{Kind: persona.Ratio, Num: "purchase_amount_sum", Den: "purchase_count"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range t.Inputs {
		fmt.Printf("%s %s of %v prior %.3f\n", in.Name, in.Kind, in.Of, in.Prior)
	}
	// Output:
	// page_blog_90d/n_page_view_90d share of [page_blog_90d n_page_view_90d] prior 0.552
	// purchase_amount_sum/purchase_count ratio of [purchase_amount_sum purchase_count] prior 0.000
}
