package churn_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/metrics"
	"github.com/propensity-dev/propensity/notebooks/internal/figures"
	"github.com/propensity-dev/propensity/training/report"
	"github.com/propensity-dev/propensity/training/tabular"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// # 1. Churn on a generated history
//
// A customer (someone who bought before T) churns when they make no purchase in the 90
// days after T: label_churned of the feature table. `propensity train churn` trains on
// snapshots at T−90d and T−180d, whose labels end by T, and tests on the customers at T.
// The generator knows every customer's true churn probability, which bounds what a model
// can reach.
func Example_history() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "propensity-churn-")
	must(err)
	defer os.RemoveAll(dir)
	s, err := synth.Generate(ctx, filepath.Join(dir, "history"), synth.Options{Contacts: 2000, Seed: 1})
	must(err)
	fmt.Printf("customers at T %d, churned in 90 days %d (%.1f%%), true-p AUC %.3f\n\n",
		s.CustomersAtAsOf, s.Churned, 100*s.ChurnRate, s.ChurnAUC)

	fmt.Println("model     train rows  test rows    AUC  PR-AUC  top-decile lift  ECE")
	var curves []report.Series
	for _, model := range []string{classifier.ModelLogistic, classifier.ModelGBT} {
		res, sum, err := tabular.HistoryJob{
			Dir: filepath.Join(dir, "history"), Target: artifact.KindChurn, AsOf: s.AsOf, Horizon: 90 * 24 * time.Hour,
			Train: tabular.Options{Model: model, Seed: 1},
			Out:   filepath.Join(dir, "models-"+model),
		}.Run(ctx)
		must(err)
		fmt.Printf("%-8s  %10d  %9d  %.3f   %.3f  %15.2f  %.3f\n", model, sum.TrainRows, sum.TestRows, sum.AUC, sum.PRAUC, sum.Lift[0].Lift, sum.ECE)
		fpr, tpr, err := metrics.ROC(res.TestY, res.TestP, nil)
		must(err)
		curves = append(curves, report.Series{Name: fmt.Sprintf("%s (AUC %.3f)", model, sum.AUC), X: fpr, Y: tpr})
	}
	// Half of the customers churn, so the top decile can at most double the base rate: a
	// lift near 1.9 is close to that ceiling.
	svg, err := report.Line("Churn at T on the generated history: ROC", "false positive rate", "true positive rate", curves...)
	must(err)
	_, err = figures.Write("churn", "history_roc.svg", svg)
	must(err)

	// Output:
	// customers at T 1161, churned in 90 days 622 (53.6%), true-p AUC 0.949
	//
	// model     train rows  test rows    AUC  PR-AUC  top-decile lift  ECE
	// logistic        1804       1161  0.915   0.932             1.85  0.040
	// gbt             1804       1161  0.915   0.934             1.83  0.059
}
