package classifier

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/calibrate"
	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/logistic"
)

// dataset is a frame of inputs with its 0/1 labels.
type dataset struct {
	X *frame.Frame
	Y []float64
}

// synthetic returns n rows whose true log-odds are −1 + 1.5·x − 0.8·[plan = pro] + noise
// columns, with some missing values.
func synthetic(n int, seed uint64) *dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	x, noise := make([]float64, n), make([]float64, n)
	plan := make([]string, n)
	y := make([]float64, n)
	for i := range n {
		x[i] = rng.NormFloat64()
		noise[i] = rng.NormFloat64()
		plan[i] = []string{"basic", "pro", "team"}[rng.IntN(3)]
		z := -1 + 1.5*x[i]
		if plan[i] == "pro" {
			z -= 0.8
		}
		if rng.Float64() < logistic.Sigmoid(z) {
			y[i] = 1
		}
		if i%17 == 0 {
			noise[i] = math.NaN()
		}
	}
	f := &frame.Frame{}
	f.AddNumeric("x", x)
	f.AddNumeric("noise", noise)
	f.AddCategorical("plan", plan)
	return &dataset{X: f, Y: y}
}

// trained holds a model fitted by train.
type trained struct{ Model *Model }

// train fits a Platt-calibrated logistic model of kind on all of d, with 5 reasons: the
// state training/tabular produces, without its splits and cross-validation, which the
// scoring paths do not depend on.
func train(d *dataset, eo encode.Options, kind string) (*trained, error) {
	enc, M, err := encode.Fit(d.X, d.Y, nil, eo, rand.NewPCG(1, 2))
	if err != nil {
		return nil, err
	}
	lr, err := logistic.Fit(M, d.Y, nil, logistic.Options{Names: enc.Features})
	if err != nil {
		return nil, err
	}
	s := NewLogistic(enc, lr)
	z, err := s.LogOdds(d.X)
	if err != nil {
		return nil, err
	}
	cal, err := calibrate.FitPlatt(z, d.Y, nil)
	if err != nil {
		return nil, err
	}
	m, err := New(artifact.Manifest{Kind: kind, Model: ModelLogistic, FeatureNames: d.X.Names()}, Payload{
		Version: PayloadVersion, Model: ModelLogistic, Label: "y", Positive: "1",
		Inputs: InputsOf(d.X), Features: s.Features(), Calibrator: cal, Reasons: 5,
		DecileCuts: DecileCuts(cal.ApplyAll(z)),
	}, s)
	if err != nil {
		return nil, err
	}
	return &trained{Model: m}, nil
}

// trainGBT fits a Platt-calibrated gbt conversion model of 40 trees on all of d, with k reasons.
func trainGBT(t *testing.T, d *dataset, k int) *Model {
	t.Helper()
	gm, err := gbt.Fit(d.X, d.Y, nil, gbt.Options{Trees: 40, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	z, err := gm.PredictLogOdds(d.X)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calibrate.FitPlatt(z, d.Y, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(artifact.Manifest{Kind: artifact.KindConversion, Model: ModelGBT, FeatureNames: d.X.Names()}, Payload{
		Version: PayloadVersion, Model: ModelGBT, Inputs: InputsOf(d.X), Features: gm.FeatureNames(),
		Calibrator: cal, Reasons: k,
	}, NewGBT(gm))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
