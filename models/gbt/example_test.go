package gbt_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
)

// visits makes a small churn-like table: customers on the "monthly" plan with few visits
// churn, and a visit count may be missing.
func visits(n int) (*frame.Frame, []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	v, plan, y := make([]float64, n), make([]string, n), make([]float64, n)
	for i := range n {
		v[i] = float64(rng.IntN(20))
		plan[i] = []string{"monthly", "yearly"}[rng.IntN(2)]
		z := -2.0
		if plan[i] == "monthly" && v[i] < 5 {
			z = 2
		}
		if rng.IntN(10) == 0 {
			v[i] = math.NaN()
		}
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	X := &frame.Frame{}
	X.AddNumeric("visits", v)
	X.AddCategorical("plan", plan)
	return X, y
}

func Example() {
	X, y := visits(2000)
	m, err := gbt.Fit(X, y, nil, gbt.Options{Trees: 100, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	q := &frame.Frame{}
	q.AddNumeric("visits", []float64{2, 15, math.NaN()})
	q.AddCategorical("plan", []string{"monthly", "monthly", "lifetime"}) // "lifetime" is unseen
	p, _ := m.Predict(q)
	level := func(p float64) string {
		switch {
		case p > 0.7:
			return "high"
		case p < 0.3:
			return "low"
		}
		return "medium"
	}
	fmt.Println("churn risk, few visits, monthly:", level(p[0]))
	fmt.Println("churn risk, many visits, monthly:", level(p[1]))
	fmt.Printf("P(churn) unknown visits, unseen plan: valid %v\n", p[2] > 0 && p[2] < 1)

	// Reasons for the first row: contributions in FeatureNames order add up to the log-odds.
	bias, contrib, _ := m.Contributions(q, 0)
	logOdds, _ := m.PredictLogOdds(q)
	fmt.Println(m.FeatureNames(), "add up:", math.Abs(bias+contrib[0]+contrib[1]-logOdds[0]) < 1e-9)

	// The model is stored as JSON (for example through models/artifact) and predicts the same.
	b, _ := json.Marshal(m)
	var back gbt.Model
	if err := json.Unmarshal(b, &back); err != nil {
		fmt.Println(err)
		return
	}
	p2, _ := back.Predict(q)
	fmt.Println("same after reload:", p2[0] == p[0] && p2[1] == p[1] && p2[2] == p[2])
	// Output:
	// churn risk, few visits, monthly: high
	// churn risk, many visits, monthly: low
	// P(churn) unknown visits, unseen plan: valid true
	// [visits plan] add up: true
	// same after reload: true
}

func ExampleFit_earlyStopping() {
	X, y := visits(3000)
	train, valid := make([]int, 0, 2000), make([]int, 0, 1000)
	for i := range 3000 {
		if i%3 == 0 {
			valid = append(valid, i)
		} else {
			train = append(train, i)
		}
	}
	pick := func(rows []int) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = y[r]
		}
		return out
	}
	m, err := gbt.Fit(X.Take(train), pick(train), nil, gbt.Options{
		Trees:      2000,
		Validation: &gbt.Dataset{X: X.Take(valid), Y: pick(valid)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stopped early:", m.NumTrees() < 2000)
	// Output:
	// stopped early: true
}

func ExampleTune() {
	X, y := visits(1000)
	res, err := gbt.Tune(X, y, nil, gbt.Grid{
		Base:         gbt.Options{Trees: 50},
		MaxDepth:     []int{1, 2},
		LearningRate: []float64{0.1},
	}, 3, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The churn rule needs plan AND visits: a depth of 2 captures it, stumps cannot.
	fmt.Println("points tried:", len(res.Scores), "best depth:", res.Best.MaxDepth)
	// Output:
	// points tried: 2 best depth: 2
}

func ExampleModel_Contributions() {
	X, y := visits(2000)
	m, err := gbt.Fit(X, y, nil, gbt.Options{Trees: 100, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	q := &frame.Frame{}
	q.AddNumeric("visits", []float64{2})
	q.AddCategorical("plan", []string{"monthly"})
	bias, contrib, err := m.Contributions(q, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Both the low visit count and the monthly plan push this customer towards churn.
	for j, name := range m.FeatureNames() {
		fmt.Printf("%s raises the log-odds: %v\n", name, contrib[j] > 0)
	}
	fmt.Printf("bias below zero (most customers stay): %v\n", bias < 0)
	// Output:
	// visits raises the log-odds: true
	// plan raises the log-odds: true
	// bias below zero (most customers stay): true
}

func ExampleModel_MeanAbsContributions() {
	X, y := visits(2000)
	m, err := gbt.Fit(X, y, nil, gbt.Options{Trees: 50, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	shap, _ := m.MeanAbsContributions(X, nil)
	gain := m.Gain()
	for j, name := range m.FeatureNames() {
		fmt.Printf("%s: mean |SHAP| above 0.5: %v, gain above 100: %v\n", name, shap[j] > 0.5, gain[j] > 100)
	}
	// Output:
	// visits: mean |SHAP| above 0.5: true, gain above 100: true
	// plan: mean |SHAP| above 0.5: true, gain above 100: true
}
