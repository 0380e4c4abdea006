package tabular_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/training/tabular"
)

// Example reads a semicolon-separated export with a Yes/No label, trains a calibrated
// logistic model with 3-fold cross-validation, saves it, loads it back and scores one record.
func Example() {
	dir, _ := os.MkdirTemp("", "tabular-example")
	defer os.RemoveAll(dir)
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("customer;visits;plan;bought\n")
	for i := range 3000 {
		visits := rng.NormFloat64()
		plan := []string{"basic", "pro"}[rng.IntN(2)]
		z := -1 + 2*visits
		if plan == "pro" {
			z += 1
		}
		bought := "No"
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			bought = "Yes"
		}
		fmt.Fprintf(&b, "c%d;%.3f;%s;%s\n", i, visits, plan, bought)
	}
	path := filepath.Join(dir, "export.csv")
	os.WriteFile(path, []byte(b.String()), 0o644)

	job := tabular.TableJob{
		Path:  path,
		Label: tabular.LabelOptions{Label: "bought", ID: "customer"}, // "Yes" is detected as positive
		Train: tabular.Options{Folds: 3},
		Out:   dir,
	}
	_, sum, err := job.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("CV AUC above 0.8: %v, test AUC above 0.8: %v, positive %q\n", *sum.CVAUC > 0.8, sum.AUC > 0.8, sum.Positive)

	m, err := classifier.LoadModel(filepath.Join(dir, "conversion"))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, reasons, err := m.PredictRow(map[string]any{"visits": 1.5, "plan": "pro"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("p %.1f, top reason %s\n", p, reasons[0].Feature)

	_, _, err = m.PredictRow(map[string]any{"visits": 1.5})
	fmt.Println(err)
	// Output:
	// CV AUC above 0.8: true, test AUC above 0.8: true, positive "Yes"
	// p 0.9, top reason visits
	// tabular: input does not match the model's features: missing columns: plan
}
