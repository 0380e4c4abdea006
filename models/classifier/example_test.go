package classifier

import (
	"fmt"
	"os"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/encode"
)

// Example saves a fitted model as an artifact, loads it back as the service does, and scores
// two records: one with a high x, one with a low x on the "pro" plan (the synthetic data's
// log-odds are −1 + 1.5·x − 0.8·[plan = pro]).
func Example() {
	fitted, err := train(synthetic(3000, 1), encode.Options{}, artifact.KindConversion)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "classifier-example")
	defer os.RemoveAll(dir)
	if _, err := fitted.Model.Save(dir); err != nil {
		fmt.Println(err)
		return
	}
	m, err := LoadModel(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rec := range []map[string]any{
		{"x": 2.0, "noise": 0.1, "plan": "basic"},
		{"x": -1.0, "noise": nil, "plan": "pro"},
	} {
		p, reasons, err := m.PredictRow(rec)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("p=%.2f decile %d, strongest reason %s\n", p, m.Decile(p), reasons[0].Feature)
	}
	_, _, err = m.PredictRow(map[string]any{"x": 1.0})
	fmt.Println(err)
	// Output:
	// p=0.87 decile 1, strongest reason x
	// p=0.04 decile 9, strongest reason x
	// tabular: input does not match the model's features: missing columns: noise, plan
}
