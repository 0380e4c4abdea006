package encode_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
)

func ExampleFit() {
	f := &frame.Frame{}
	f.AddNumeric("tenure", []float64{1, 12, math.NaN(), 40})
	f.AddCategorical("contract", []string{"monthly", "yearly", "monthly", ""})
	y := []float64{1, 0, 1, 0}
	enc, X, err := encode.Fit(f, y, nil, encode.Options{MinCount: 1}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(enc.Features)
	r, c := X.Dims()
	fmt.Println(r, "rows,", c, "features")
	// Output:
	// [tenure tenure__missing contract=monthly contract=yearly contract=__missing__]
	// 4 rows, 5 features
}

func ExampleEncoder_Transform() {
	f := &frame.Frame{}
	f.AddCategorical("plan", []string{"basic", "basic", "pro", "pro"})
	enc, _, err := encode.Fit(f, []float64{0, 0, 1, 1}, nil, encode.Options{MinCount: 1}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	g := &frame.Frame{}
	g.AddCategorical("plan", []string{"pro", "enterprise"}) // "enterprise" was never seen
	X, err := enc.Transform(g)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(enc.Features)
	fmt.Printf("%.0f\n%.0f\n", X.RawRowView(0), X.RawRowView(1))

	h := &frame.Frame{}
	h.AddCategorical("tier", []string{"pro"})
	_, err = enc.Transform(h)
	fmt.Println(err)
	// Output:
	// [plan=basic plan=pro]
	// [-1 1]
	// [-1 -1]
	// encode: table does not match the model's schema: missing columns: plan; unexpected columns: tier
}

func ExampleEncoder_Describe() {
	f := &frame.Frame{}
	f.AddNumeric("age", []float64{30, 40, 50, 60})
	f.AddNumeric("flat", []float64{1, 1, 1, 1})
	f.AddCategorical("region", []string{"n", "s", "n", "s"})
	enc, _, err := encode.Fit(f, []float64{0, 1, 0, 1}, nil, encode.Options{MinCount: 1}, rand.NewPCG(1, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range enc.Describe() {
		fmt.Println(line)
	}
	fmt.Println(enc.Inputs())
	// Output:
	// age: numeric (1 features)
	// flat: unused (0 features)
	// region: onehot (2 features)
	// [age flat region]
}
