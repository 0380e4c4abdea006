// Package servingtest provides small fake models, stored as real artifacts, for testing the
// scoring service without training anything.
package servingtest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
)

// Payload is the fitted state of every fake model.
type Payload struct {
	// Bias and Weight give probability = sigmoid(Bias + Weight × n_events_30d) for
	// classifiers, and the persona (events ≥ Weight → 1, else 0) for personas.
	Bias   float64 `json:"bias"`
	Weight float64 `json:"weight"`
}

// Write stores a fake artifact of kind in modelsDir/kind.
func Write(modelsDir, kind string, p Payload) (artifact.Manifest, error) {
	m := artifact.Manifest{Kind: kind, Model: "fake", FeatureSchemaVersion: features.SchemaVersion,
		FeatureNames: []string{"n_events_30d"}, Metrics: map[string]float64{"auc": 0.75}}
	return artifact.Save(filepath.Join(modelsDir, kind), m, p)
}

// WriteAll stores fake conversion, churn, personas and uplift artifacts and a real LTV
// artifact in modelsDir.
func WriteAll(modelsDir string) error {
	for _, k := range []string{artifact.KindConversion, artifact.KindChurn, artifact.KindPersonas, artifact.KindUplift} {
		if _, err := Write(modelsDir, k, Payload{Bias: -1, Weight: 0.1}); err != nil {
			return err
		}
	}
	_, err := WriteLTV(modelsDir)
	return err
}

// WriteLTV stores a BG/NBD + Gamma-Gamma artifact in modelsDir/ltv with the CDNOW parameters
// of Fader, Hardie & Lee (2005), weekly periods, a one-year horizon.
func WriteLTV(modelsDir string) (artifact.Manifest, error) {
	m := &btyd.LTVModel{
		PeriodDays: 7, HorizonDays: 365, AnnualDiscount: 0.1,
		BGNBD:      btyd.BGNBD{R: 0.2426, Alpha: 4.4136, A: 0.7929, B: 2.4259},
		GammaGamma: btyd.GammaGamma{P: 6.2496, Q: 3.7442, V: 15.4435},
	}
	return btyd.SaveLTVModel(filepath.Join(modelsDir, artifact.KindLTV), m, artifact.Manifest{})
}

// Corrupt flips a byte of the payload of modelsDir/kind, so that its checksum fails.
func Corrupt(modelsDir, kind string) error {
	p := filepath.Join(modelsDir, kind, artifact.PayloadFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0x01
	return os.WriteFile(p, b, 0o644)
}

// Classifier is a fake conversion or churn model.
type Classifier struct {
	P       Payload
	Version string
}

// LoadClassifier is a serving.ArtifactLoader for fake classifiers of any kind.
func LoadClassifier(dir string) (serving.Classifier, artifact.Manifest, error) {
	var p Payload
	m, err := artifact.Load(dir, "", &p)
	if err != nil {
		return nil, m, err
	}
	return &Classifier{P: p, Version: m.Version}, m, nil
}

// Predict implements serving.Classifier.
func (c *Classifier) Predict(in *serving.Input) (*serving.Prediction, error) {
	row, err := in.Features()
	if err != nil {
		return nil, err
	}
	n, ok := row.Float("n_events_30d")
	if !ok {
		return nil, fmt.Errorf("fake: no n_events_30d column")
	}
	z := c.P.Bias + c.P.Weight*n
	return &serving.Prediction{
		Probability: 1 / (1 + math.Exp(-z)), ModelVersion: c.Version,
		Reasons: []serving.Reason{{Feature: "n_events_30d", Value: n, Effect: c.P.Weight * n}},
	}, nil
}

// Personas is a fake personas model: persona 1 ("engaged") for profiles with at least
// Weight events in 30 days, else 0 ("quiet").
type Personas struct{ P Payload }

// LoadPersonas is a serving.ArtifactLoader for fake personas.
func LoadPersonas(dir string) (serving.PersonaModel, artifact.Manifest, error) {
	var p Payload
	m, err := artifact.Load(dir, artifact.KindPersonas, &p)
	if err != nil {
		return nil, m, err
	}
	return &Personas{P: p}, m, nil
}

// Persona implements serving.PersonaModel.
func (p *Personas) Persona(in *serving.Input) (*serving.Persona, error) {
	row, err := in.Features()
	if err != nil {
		return nil, err
	}
	n, _ := row.Float("n_events_30d")
	if n >= p.P.Weight {
		return &serving.Persona{ID: 1, Name: "engaged", Distance: n - p.P.Weight}, nil
	}
	return &serving.Persona{ID: 0, Name: "quiet", Distance: p.P.Weight - n}, nil
}

// Personas implements serving.PersonaModel.
func (p *Personas) Personas() []serving.PersonaInfo {
	return []serving.PersonaInfo{{ID: 0, Name: "quiet"}, {ID: 1, Name: "engaged"}}
}

// Rules is a fake scorecard: 10 points of engagement per event.
type Rules struct{ Name string }

// Scorecards implements serving.RulesModel.
func (r Rules) Scorecards() []serving.ScorecardInfo {
	return []serving.ScorecardInfo{{Name: r.Name, Version: "1", Source: "test"}}
}

// Rules implements serving.RulesModel.
func (r Rules) Rules(in *serving.Input, name string) (*serving.Rules, error) {
	if name != "" && name != r.Name {
		return nil, fmt.Errorf("%w %q", serving.ErrUnknownScorecard, name)
	}
	n := 0
	for _, e := range in.Profile.Events {
		if e.TS.Before(in.Profile.AsOf) {
			n++
		}
	}
	res := &serving.Rules{Scorecard: r.Name, Version: "1", Total: 10 * n, Engagement: 10 * n,
		Grade: "D1", Stage: "lead"}
	res.Contributions = append(res.Contributions,
		scorecard.Contribution{Rule: "any-event", Dimension: scorecard.Engagement, Points: 10 * n, Count: n})
	return res, nil
}

// Loader returns a loader of fake models from modelsDir (and the real LTV loader).
func Loader(modelsDir string) *serving.Loader {
	return &serving.Loader{
		Dir:        modelsDir,
		Rules:      func() (serving.RulesModel, error) { return Rules{Name: "test"}, nil },
		Conversion: LoadClassifier,
		Churn:      LoadClassifier,
		LTV:        serving.LoadLTV,
		Personas:   LoadPersonas,
		Uplift:     LoadUplift,
	}
}

// Uplift is the fake uplift model: effect = Bias/10 + Weight/10 × n_events_30d, decile 1
// when positive, else 10.
type Uplift struct {
	P       Payload
	Version string
}

// LoadUplift loads a fake uplift artifact.
func LoadUplift(dir string) (serving.UpliftModel, artifact.Manifest, error) {
	var p Payload
	m, err := artifact.Load(dir, artifact.KindUplift, &p)
	if err != nil {
		return nil, m, err
	}
	return &Uplift{P: p, Version: m.Version}, m, nil
}

// Uplift implements serving.UpliftModel.
func (u *Uplift) Uplift(in *serving.Input) (*serving.Uplift, error) {
	row, err := in.Features()
	if err != nil {
		return nil, err
	}
	n := row.Nums[row.Schema.Index("n_events_30d")]
	e := (u.P.Bias + u.P.Weight*n) / 10
	d := 10
	if e > 0 {
		d = 1
	}
	return &serving.Uplift{Effect: e, Decile: d, ModelVersion: u.Version}, nil
}
