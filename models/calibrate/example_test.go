package calibrate_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/propensity-dev/propensity/models/calibrate"
)

// overconfident returns log-odds twice as extreme as the truth, σ(z/2).
func overconfident(n int) (z, y []float64) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range n {
		s := rng.NormFloat64() * 3
		z = append(z, s)
		v := 0.0
		if rng.Float64() < 1/(1+math.Exp(-s/2)) {
			v = 1
		}
		y = append(y, v)
	}
	return z, y
}

func ExampleFitPlatt() {
	z, y := overconfident(20000)
	c, err := calibrate.FitPlatt(z, y, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("A %.1f, B %.1f, p(z=4) %.2f\n", c.A, c.B, c.Apply(4))
	// Output: A 0.5, B 0.0, p(z=4) 0.88
}

func ExampleFitIsotonic() {
	c, err := calibrate.FitIsotonic([]float64{-2, -1, 0, 1, 2}, []float64{0, 1, 0, 1, 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.X, c.Y)
	fmt.Printf("%.2f\n", c.Apply(0.5))
	// Output:
	// [-2 -1 0 1 2] [0 0.5 0.5 1 1]
	// 0.75
}

func ExampleSelect() {
	z, y := overconfident(8000)
	c, choice, err := calibrate.Select(z, y, nil, 5, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Method, choice.Loss[calibrate.Platt] < choice.Loss[calibrate.Isotonic])
	// Output: platt true
}

func ExampleCalibrator_Validate() {
	c := &calibrate.Calibrator{Method: calibrate.Isotonic, X: []float64{0, 1}, Y: []float64{0.6, 0.2}}
	fmt.Println(c.Validate())
	// Output: calibrate: corrupt calibrator: isotonic knot 1 is out of order or range
}
