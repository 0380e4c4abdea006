package effect

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/frame"
)

// PayloadVersion is the layout of Payload; Load refuses any other.
const PayloadVersion = 1

// Group labels of a score: given only when the contact's decile showed an effect whose
// interval (ConfidenceZ) excludes zero on held-out rows.
const (
	GroupPersuadable = "persuadable"
	GroupSleepingDog = "sleeping_dog"
)

// ConfidenceZ is the normal quantile of the intervals behind group labels: two-sided 95%
// with Bonferroni's correction for the ten deciles tested (1 − 0.05/20 = 0.9975), so that
// a model without any effect labels no decile in 95% of trainings.
const ConfidenceZ = 2.807

// ErrPayload is wrapped by Load for a payload inconsistent with itself or its manifest.
var ErrPayload = errors.New("effect: inconsistent payload")

// Input is one column the model reads: its name and frame kind ("numeric" or "categorical").
type Input struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Decile is what cross-validation measured in one decile of estimated effects.
type Decile struct {
	Decile int `json:"decile"` // 1: highest estimated effects
	// Uplift and SE are the observed treated-minus-control outcome rate of the held-out rows
	// whose estimate fell in the decile, and its standard error.
	Uplift float64 `json:"uplift"`
	SE     float64 `json:"se"`
	// Group is GroupPersuadable when Uplift − ConfidenceZ·SE > 0, GroupSleepingDog when
	// Uplift + ConfidenceZ·SE < 0, else "".
	Group string `json:"group,omitempty"`
}

// LabelDecile sets d.Group from its interval.
func LabelDecile(d Decile) Decile {
	d.Group = ""
	switch {
	case d.Uplift-ConfidenceZ*d.SE > 0:
		d.Group = GroupPersuadable
	case d.Uplift+ConfidenceZ*d.SE < 0:
		d.Group = GroupSleepingDog
	}
	return d
}

// Payload is the content of an uplift artifact's model.json.
type Payload struct {
	Version int     `json:"version"`
	Model   *Model  `json:"model"`
	Inputs  []Input `json:"inputs"`
	Label   string  `json:"label"`
	// Positive is the label value counted as a positive outcome.
	Positive string `json:"positive"`
	// Treatment names the treatment (a column, or an event type).
	Treatment string `json:"treatment"`
	// DecileCuts are the 90th, 80th, ..., 10th percentiles of the held-out estimates.
	DecileCuts []float64 `json:"decile_cuts"`
	Deciles    []Decile  `json:"deciles"`
}

// Artifact is a loaded uplift artifact.
type Artifact struct {
	Manifest artifact.Manifest
	Payload  Payload
}

// Save writes a as an artifact directory and returns the manifest written.
func (a *Artifact) Save(dir string) (artifact.Manifest, error) {
	a.Manifest.Kind = artifact.KindUplift
	a.Manifest.Model = a.Payload.Model.Learner
	a.Manifest.FeatureNames = a.InputNames()
	man, err := artifact.Save(dir, a.Manifest, a.Payload)
	if err == nil {
		a.Manifest = man
	}
	return man, err
}

// InputNames returns the names of the inputs.
func (a *Artifact) InputNames() []string {
	out := make([]string, len(a.Payload.Inputs))
	for i, in := range a.Payload.Inputs {
		out[i] = in.Name
	}
	return out
}

// Load reads an uplift artifact, checks it (package artifact verifies the checksum) and
// scores one all-missing row, so that a damaged artifact fails here.
func Load(dir string) (*Artifact, error) {
	var p Payload
	man, err := artifact.Load(dir, artifact.KindUplift, &p)
	if err != nil {
		return nil, err
	}
	a := &Artifact{Manifest: man, Payload: p}
	bad := func(format string, args ...any) error {
		return &artifact.Error{Path: dir, Err: fmt.Errorf("%w: %w: "+format, append([]any{artifact.ErrCorrupt, ErrPayload}, args...)...)}
	}
	switch {
	case p.Version != PayloadVersion:
		return nil, &artifact.Error{Path: dir, Err: fmt.Errorf("%w: payload version %d (this build reads %d)", artifact.ErrVersion, p.Version, PayloadVersion)}
	case p.Model == nil:
		return nil, bad("no model")
	case !slices.Equal(a.InputNames(), man.FeatureNames):
		return nil, bad("inputs differ from the manifest's feature names")
	case !slices.Equal(a.InputNames(), p.Model.FeatureNames()):
		return nil, bad("inputs differ from the trees' features")
	case len(p.DecileCuts) != 9 || len(p.Deciles) != 10:
		return nil, bad("%d decile cuts and %d deciles, want 9 and 10", len(p.DecileCuts), len(p.Deciles))
	}
	for k := 1; k < len(p.DecileCuts); k++ {
		if !(p.DecileCuts[k] <= p.DecileCuts[k-1]) {
			return nil, bad("decile cuts out of order")
		}
	}
	num := make([]float64, len(p.Inputs))
	for i := range num {
		num[i] = math.NaN()
	}
	if _, err := a.scoreSafe(num, make([]string, len(p.Inputs))); err != nil {
		return nil, bad("scoring a test row: %v", err)
	}
	return a, nil
}

func (a *Artifact) scoreSafe(num []float64, str []string) (s Score, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return a.ScoreValues(num, str)
}

// Score is the uplift of one contact.
type Score struct {
	Effect float64 // estimated τ(x)
	Decile int     // 1 (highest effects) to 10
	Group  string  // GroupPersuadable, GroupSleepingDog or ""
}

// Decile places an estimate among the held-out estimates: 1 for the top 10%, 10 for the
// bottom.
func (a *Artifact) Decile(tau float64) int {
	for k, c := range a.Payload.DecileCuts {
		if tau >= c {
			return k + 1
		}
	}
	return len(a.Payload.DecileCuts) + 1
}

// ScoreValues scores one row given by position: the value of Inputs[i] is num[i] for a
// numeric input (NaN when missing) and str[i] for a categorical one ("" when missing).
func (a *Artifact) ScoreValues(num []float64, str []string) (Score, error) {
	if len(num) != len(a.Payload.Inputs) || len(str) != len(num) {
		return Score{}, fmt.Errorf("effect: %d and %d values for %d inputs", len(num), len(str), len(a.Payload.Inputs))
	}
	f := &frame.Frame{}
	for i, in := range a.Payload.Inputs {
		if in.Kind == frame.Categorical.String() {
			f.AddCategorical(in.Name, []string{str[i]})
		} else {
			f.AddNumeric(in.Name, []float64{num[i]})
		}
	}
	tau, err := a.Payload.Model.Effect(f)
	if err != nil {
		return Score{}, err
	}
	s := Score{Effect: tau[0], Decile: a.Decile(tau[0])}
	s.Group = a.Payload.Deciles[s.Decile-1].Group
	return s, nil
}
