package logistic_test

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/propensity-dev/propensity/models/logistic"
)

// Example fits a model on simulated data whose true log-odds are −1 + 2·x₀ − x₁, then
// predicts two new rows and explains a third.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	X := mat.NewDense(n, 2, nil)
	y := make([]float64, n)
	for i := range n {
		x0, x1 := rng.NormFloat64(), rng.NormFloat64()
		X.Set(i, 0, x0)
		X.Set(i, 1, x1)
		if rng.Float64() < logistic.Sigmoid(-1+2*x0-x1) {
			y[i] = 1
		}
	}
	m, err := logistic.Fit(X, y, nil, logistic.Options{Names: []string{"visits", "days_idle"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("intercept %.1f, coef %.1f\n", m.Intercept, m.Coef)

	p, err := m.Predict(mat.NewDense(2, 2, []float64{1, 0, -1, 1}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("p = %.2f\n", p)

	reasons, _ := m.Reasons([]float64{1, 1}, 2)
	for _, r := range reasons {
		fmt.Printf("%s %+.1f\n", r.Feature, r.Effect)
	}
	// Output:
	// intercept -1.0, coef [2.0 -1.0]
	// p = [0.73 0.02]
	// visits +2.0
	// days_idle -1.0
}

func ExampleSigmoid() {
	fmt.Printf("%.4f %.4f %.4f\n", logistic.Sigmoid(-800), logistic.Sigmoid(0), logistic.Sigmoid(2))
	// Output: 0.0000 0.5000 0.8808
}

func ExampleModel_PredictLogOdds() {
	m := &logistic.Model{Intercept: -1, Coef: []float64{2}, Mean: []float64{0}}
	z, err := m.PredictLogOdds(mat.NewDense(2, 1, []float64{0, 1}))
	fmt.Println(z, err)
	_, err = m.PredictLogOdds(mat.NewDense(1, 2, nil))
	fmt.Println(err)
	// Output:
	// [-1 1] <nil>
	// logistic: feature count differs from the model's: the table has 2 features, the model 1
}
