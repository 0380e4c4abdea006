package metrics_test

import (
	"fmt"

	"github.com/propensity-dev/propensity/models/metrics"
)

var (
	y = []float64{1, 0, 1, 1, 0, 0, 1, 0, 0, 1}
	p = []float64{0.9, 0.8, 0.8, 0.6, 0.55, 0.4, 0.35, 0.2, 0.2, 0.1}
)

func ExampleAUC() {
	auc, err := metrics.AUC(y, p, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AUC %.3f\n", auc)
	// Output: AUC 0.620
}

func ExampleAveragePrecision() {
	ap, _ := metrics.AveragePrecision(y, p, nil)
	fmt.Printf("average precision %.4f\n", ap)
	// Output: average precision 0.6976
}

func ExampleLogLoss() {
	fmt.Printf("log loss %.4f, Brier %.4f\n", metrics.LogLoss(y, p, nil), metrics.Brier(y, p, nil))
	// Output: log loss 0.7557, Brier 0.2625
}

func ExampleECE() {
	fmt.Printf("ECE %.3f\n", metrics.ECE(y, p, nil))
	// Output: ECE 0.400
}

func ExampleLift() {
	rows, _ := metrics.Lift(y, p, nil, 5)
	for _, r := range rows {
		fmt.Printf("group %d: rate %.2f lift %.2f gain %.2f\n", r.Decile, r.Rate, r.Lift, r.Gain)
	}
	// Output:
	// group 1: rate 0.50 lift 1.00 gain 0.20
	// group 2: rate 1.00 lift 2.00 gain 0.60
	// group 3: rate 0.00 lift 0.00 gain 0.60
	// group 4: rate 0.50 lift 1.00 gain 0.80
	// group 5: rate 0.50 lift 1.00 gain 1.00
}

func ExampleSummarize() {
	s, err := metrics.Summarize(y, p, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AUC %.2f, PR-AUC %.2f, rows %d, positives %.0f\n", s.AUC, s.PRAUC, s.Rows, s.Positives)
	// Output: AUC 0.62, PR-AUC 0.70, rows 10, positives 5
}

func ExampleReliability() {
	for _, b := range metrics.Reliability(y, p, nil, 2) {
		fmt.Printf("[%.1f, %.1f): mean score %.2f, rate %.2f, n %d\n", b.Lo, b.Hi, b.MeanScore, b.Rate, b.Count)
	}
	// Output:
	// [0.0, 0.5): mean score 0.25, rate 0.40, n 5
	// [0.5, 1.0): mean score 0.73, rate 0.60, n 5
}

func ExampleROC() {
	fpr, tpr, _ := metrics.ROC([]float64{1, 0, 1, 0}, []float64{0.9, 0.7, 0.6, 0.1}, nil)
	fmt.Println(fpr, tpr)
	// Output: [0 0 0.5 0.5 1] [0 0.5 0.5 1 1]
}

func ExampleBrier() {
	fmt.Printf("Brier %.4f\n", metrics.Brier([]float64{1, 0}, []float64{0.8, 0.4}, nil))
	// Output: Brier 0.1000
}

func ExampleCutoffs() {
	y := []float64{1, 1, 0, 1, 0, 0, 1, 0, 0, 0}
	p := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05}
	cuts, _ := metrics.Cutoffs(y, p, nil, []float64{0.2, 0.5})
	for _, c := range cuts {
		fmt.Printf("top %.0f%%: %d rows, precision %.2f, recall %.2f, lift %.2f\n", 100*c.Share, c.Rows, c.Precision, c.Recall, c.Lift)
	}
	// Output:
	// top 20%: 2 rows, precision 1.00, recall 0.50, lift 2.50
	// top 50%: 5 rows, precision 0.60, recall 0.75, lift 1.50
}

func ExamplePRCurve() {
	y := []float64{1, 0, 1, 0}
	p := []float64{0.9, 0.8, 0.7, 0.1}
	curve, _ := metrics.PRCurve(y, p, nil)
	for _, c := range curve {
		fmt.Printf("recall %.2f precision %.2f\n", c.Recall, c.Precision)
	}
	// Output:
	// recall 0.00 precision 1.00
	// recall 0.50 precision 1.00
	// recall 0.50 precision 0.50
	// recall 1.00 precision 0.67
	// recall 1.00 precision 0.50
}

func ExampleWilson() {
	lo, hi := metrics.Wilson(0.6, 5, 1.96) // 3 of 5 converted
	fmt.Printf("observed 0.60, 95%% interval [%.2f, %.2f]\n", lo, hi)
	// Output:
	// observed 0.60, 95% interval [0.23, 0.88]
}
