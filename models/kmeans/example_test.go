package kmeans_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/propensity-dev/propensity/models/kmeans"
)

// Two tight groups on a line.
var line = []float64{1, 1.2, 0.8, 9, 9.5, 10}

func ExampleFit() {
	r, err := kmeans.Fit(line, 1, 2, kmeans.Settings{}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	first := r.Labels[0]
	fmt.Println("same cluster:", r.Labels[1] == first, r.Labels[2] == first, r.Labels[3] != first)
	fmt.Printf("centroid of the first: %.2f\n", r.Centroid(first)[0])
	fmt.Printf("inertia: %.3f\n", r.Inertia)
	// Output:
	// same cluster: true true true
	// centroid of the first: 1.00
	// inertia: 0.580
}

func ExampleFit_tooManyClusters() {
	_, err := kmeans.Fit(line, 1, 7, kmeans.Settings{}, nil)
	fmt.Println(err)
	// Output:
	// kmeans: k = 7 is larger than the number of rows (6)
}

func ExampleAssign() {
	centroids := []float64{0, 10}
	labels := make([]int, 3)
	inertia := kmeans.Assign([]float64{1, 8, 4}, 1, centroids, labels, nil)
	fmt.Println(labels, inertia)
	// Output:
	// [0 1 0] 21
}

func ExampleAdjustedRand() {
	fmt.Println(kmeans.AdjustedRand([]int{0, 0, 1, 1}, []int{1, 1, 0, 0}))
	fmt.Printf("%.4f\n", kmeans.AdjustedRand([]int{0, 0, 1, 1}, []int{0, 0, 1, 2}))
	// Output:
	// 1
	// 0.5714
}

func ExampleSilhouette() {
	fmt.Printf("%.4f\n", kmeans.Silhouette([]float64{0, 1, 10, 11}, 1, []int{0, 0, 1, 1}))
	// Output:
	// 0.8997
}

func ExampleBIC() {
	one, _ := kmeans.Fit(line, 1, 1, kmeans.Settings{}, rand.NewPCG(1, 1))
	two, _ := kmeans.Fit(line, 1, 2, kmeans.Settings{}, rand.NewPCG(1, 1))
	fmt.Println("two clusters preferred:", kmeans.BIC(two) > kmeans.BIC(one))
	// Output:
	// two clusters preferred: true
}

// grid returns rows around three centres in the plane.
func grid() []float64 {
	rng := rand.New(rand.NewPCG(4, 4))
	var x []float64
	for i := 0; i < 60; i++ {
		c := [][2]float64{{0, 0}, {8, 0}, {0, 8}}[i%3]
		x = append(x, c[0]+rng.NormFloat64(), c[1]+rng.NormFloat64())
	}
	return x
}

func ExampleChooseK() {
	c, err := kmeans.ChooseK(grid(), 2, kmeans.ChooseSettings{Min: 2, Max: 6}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("k =", c.K, "by", c.Criterion, "among", len(c.Candidates), "candidates")
	// Output:
	// k = 3 by silhouette among 5 candidates
}

func ExampleStability() {
	s, err := kmeans.Stability(grid(), 2, 3, kmeans.StabilitySettings{Resamples: 5}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.2f\n", s)
	// Output:
	// 1.00
}

func ExampleSampleRows() {
	fmt.Println(len(kmeans.SampleRows(1000, 10, rand.NewPCG(1, 1))))
	// Output:
	// 10
}
