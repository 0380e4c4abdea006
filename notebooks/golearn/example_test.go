package golearn_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/trees"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/metrics"
	"github.com/propensity-dev/propensity/training/tabular"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// # 1. The feature table and one split
//
// A generated history of 2,000 people, its feature table at T with 90-day labels, and the
// customers' churn label (label_churned: no purchase in the 90 days after T). The lifecycle
// stage is left out, as `propensity train` does: contacts.parquet holds today's stage, which
// would leak the label. Every fourth customer is a test row; the rest train. Both libraries
// see exactly these rows.
func churnSplit(ctx context.Context, dir string) (train, test *tabular.Dataset) {
	s, err := synth.Generate(ctx, filepath.Join(dir, "history"), synth.Options{Contacts: 2000, Seed: 1})
	must(err)
	t, _, err := history.Build(ctx, filepath.Join(dir, "history"), features.Options{AsOf: s.AsOf, Horizon: 90 * 24 * time.Hour})
	must(err)
	defer t.Release()
	f, err := tabular.FeatureFrame(t, func(c features.Column) bool {
		return c.IsFeature() && c.Name != tabular.StageColumn && c.Name != tabular.DaysInStageColumn
	})
	must(err)
	y, err := t.Float64s("label_churned")
	must(err)
	var trainRows, testRows []int
	for i, v := range y {
		if v != 0 && v != 1 {
			continue // not a customer at T: no churn label
		}
		if len(trainRows)+len(testRows) == 0 || (len(trainRows)+len(testRows))%4 != 0 {
			trainRows = append(trainRows, i)
		} else {
			testRows = append(testRows, i)
		}
	}
	take := func(rows []int) *tabular.Dataset {
		d := &tabular.Dataset{X: f.Take(rows), Label: "label_churned", Positive: "1"}
		for _, r := range rows {
			d.Y = append(d.Y, y[r])
		}
		return d
	}
	return take(trainRows), take(testRows)
}

// instances converts a frame and its label into golearn's DenseInstances: each numeric
// column a FloatAttribute, the label a FloatAttribute class (golearn's CART wants a numeric
// class). golearn has no missing values, so a NaN (days since the last purchase of someone
// who never bought, ...) takes the training median, given in fill. Categorical columns are
// left out: CART reads float attributes only.
func instances(f *frame.Frame, y []float64, fill map[string]float64) *base.DenseInstances {
	inst := base.NewDenseInstances()
	var cols []*frame.Column
	var specs []base.AttributeSpec
	for i := range f.Columns {
		c := &f.Columns[i]
		if c.Kind != frame.Numeric {
			continue
		}
		cols = append(cols, c)
		specs = append(specs, inst.AddAttribute(base.NewFloatAttribute(c.Name)))
	}
	class := base.NewFloatAttribute("churned")
	classSpec := inst.AddAttribute(class)
	must(inst.AddClassAttribute(class))
	must(inst.Extend(len(y)))
	for r := range y {
		for k, c := range cols {
			v := c.Num[r]
			if math.IsNaN(v) {
				v = fill[c.Name]
			}
			inst.Set(specs[k], r, base.PackFloatToBytes(v))
		}
		inst.Set(classSpec, r, base.PackFloatToBytes(y[r]))
	}
	return inst
}

// medians returns each numeric column's median over its present values.
func medians(f *frame.Frame) map[string]float64 {
	out := map[string]float64{}
	for _, c := range f.Columns {
		if c.Kind != frame.Numeric {
			continue
		}
		v := slices.DeleteFunc(slices.Clone(c.Num), math.IsNaN)
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		out[c.Name] = (v[(len(v)-1)/2] + v[len(v)/2]) / 2
	}
	return out
}

// labelMetrics returns accuracy, precision and recall of 0/1 predictions.
func labelMetrics(y, pred []float64) (acc, prec, rec float64) {
	var tp, fp, fn, ok float64
	for i := range y {
		switch {
		case pred[i] == 1 && y[i] == 1:
			tp++
		case pred[i] == 1:
			fp++
		case y[i] == 1:
			fn++
		}
		if pred[i] == y[i] {
			ok++
		}
	}
	return ok / float64(len(y)), tp / (tp + fp), tp / (tp + fn)
}

// # 2. golearn's CART against propensity's models
//
// golearn's CART classifier (trees.NewDecisionTreeClassifier, Gini impurity, depth 5) is
// pure Go. Its Predict returns class labels only, so the comparison is on labels: accuracy,
// precision and recall, with propensity's calibrated probabilities cut at 0.5. Only
// propensity's models have an AUC: a ranking needs scores, which golearn's tree does not
// give (its ID3 tree's PredictProba refuses more than one row at a time).
func Example_compare() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "propensity-golearn-")
	must(err)
	defer os.RemoveAll(dir)
	train, test := churnSplit(ctx, dir)
	fmt.Printf("customers: %d train, %d test; churn rate in test %.1f%%\n\n", len(train.Y), len(test.Y), 100*mean(test.Y))

	fmt.Println("model                  AUC   accuracy  precision  recall")
	for _, model := range []string{classifier.ModelLogistic, classifier.ModelGBT} {
		res, err := tabular.Train(ctx, train, test, tabular.Options{Model: model, Kind: artifact.KindChurn, Seed: 1})
		must(err)
		auc, err := metrics.AUC(res.TestY, res.TestP, nil)
		must(err)
		pred := make([]float64, len(res.TestP))
		for i, p := range res.TestP {
			if p >= 0.5 {
				pred[i] = 1
			}
		}
		acc, prec, rec := labelMetrics(res.TestY, pred)
		fmt.Printf("propensity %-9s  %.3f     %.3f      %.3f   %.3f\n", model, auc, acc, prec, rec)
	}

	fill := medians(train.X)
	trainInst, testInst := instances(train.X, train.Y, fill), instances(test.X, test.Y, fill)
	tree := trees.NewDecisionTreeClassifier("gini", 5, []int64{0, 1})
	must(tree.Fit(trainInst))
	var pred []float64
	for _, p := range tree.Predict(testInst) {
		pred = append(pred, float64(p))
	}
	acc, prec, rec := labelMetrics(test.Y, pred)
	fmt.Printf("golearn CART depth 5       -     %.3f      %.3f   %.3f\n", acc, prec, rec)

	// Output:
	// customers: 871 train, 290 test; churn rate in test 56.6%
	//
	// model                  AUC   accuracy  precision  recall
	// propensity logistic   0.879     0.800      0.873   0.756
	// propensity gbt        0.893     0.821      0.854   0.823
	// golearn CART depth 5       -     0.807      0.838   0.817
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
