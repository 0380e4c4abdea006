package uplift_test

import (
	"fmt"

	"github.com/propensity-dev/propensity/models/uplift"
)

func ExampleQini() {
	y := []float64{1, 0, 1, 0, 0, 1}
	treated := []bool{true, true, false, false, true, false}
	score := []float64{0.9, 0.8, 0.2, 0.1, 0.5, 0.4}
	fmt.Printf("qini %.4f, auuc %.4f\n", uplift.Qini(y, treated, score), uplift.AUUC(y, treated, score))
	// By hand: Q(k)·6 = 1, 1, 1, −2, −2, −1 for k = 1..6, so the trapezoids sum to −1/24 and
	// the random line's area is −1/12: Qini = 1/24. The uplift curve gives −1/9 − (−1/6) = 1/18.
	// Output: qini 0.0417, auuc 0.0556
}
