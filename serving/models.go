package serving

import (
	"sync"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
)

// Input is what every block reads: one profile, and its online feature row, computed on first
// use and shared by the blocks of one score.
type Input struct {
	Profile *features.Profile
	// FeatureOptions are the options the row is computed with; AsOf is the profile's.
	FeatureOptions features.Options

	once   sync.Once
	row    features.Row
	rowErr error
}

// NewInput returns the input of one score.
func NewInput(p *features.Profile, opts features.Options) *Input {
	return &Input{Profile: p, FeatureOptions: opts}
}

// Features returns the profile's feature row (the same code as the batch feature table).
func (in *Input) Features() (features.Row, error) {
	in.once.Do(func() {
		opts := in.FeatureOptions
		opts.AsOf = in.Profile.AsOf
		in.row, in.rowErr = features.ComputeProfile(*in.Profile, opts)
	})
	return in.row, in.rowErr
}

// RulesModel is a set of scorecards: rule-based points for one profile.
type RulesModel interface {
	// Scorecards describes the scorecards for GET /v1/scorecards.
	Scorecards() []ScorecardInfo
	// Rules scores in with the named scorecard, or with the set's choice for "" (the first
	// whose audience matches). It returns ErrUnknownScorecard for a name not in the set, and
	// (nil, nil) when no scorecard applies to the profile.
	Rules(in *Input, scorecard string) (*Rules, error)
}

// ScorecardInfo describes a loaded scorecard.
type ScorecardInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Source is the file it came from, or "embedded".
	Source string `json:"source"`
	// Detail is the scorecard's own description (rules, thresholds), as it marshals.
	Detail any `json:"detail,omitempty"`
}

// Classifier predicts a calibrated probability with reasons (conversion, churn).
type Classifier interface {
	Predict(in *Input) (*Prediction, error)
}

// LTVModel forecasts a customer's lifetime value from its transactions before the profile's
// as-of time.
type LTVModel interface {
	LTV(in *Input) (*LTV, error)
}

// PersonaModel assigns a profile to a persona.
type PersonaModel interface {
	Persona(in *Input) (*Persona, error)
	// Personas lists every persona, for GET /v1/personas.
	Personas() []PersonaInfo
}

// PersonaInfo describes one persona.
type PersonaInfo struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Size is the number of training people in the persona; 0 when unknown.
	Size int `json:"size,omitempty"`
	// Detail is the model's own description of the persona (centroid, traits), as it marshals.
	Detail any `json:"detail,omitempty"`
}

// Artifact is one model artifact a ModelSet was loaded from.
type Artifact struct {
	Kind     string            `json:"kind"`
	Dir      string            `json:"dir"`
	Manifest artifact.Manifest `json:"manifest"`
}

// ModelSet is one consistent snapshot of everything a score uses. Any model may be nil: its
// block is then left out of responses and named in Unavailable. A ModelSet is never modified
// once published by a Registry.
type ModelSet struct {
	// Rules holds the scorecards.
	Rules      RulesModel
	Conversion Classifier
	Churn      Classifier
	LTV        LTVModel
	Personas   PersonaModel
	// FeatureOptions are passed to features.ComputeProfile (AsOf is set per profile).
	FeatureOptions features.Options
	// Artifacts lists the artifacts loaded, for GET /v1/models and the info metric.
	Artifacts []Artifact
	// Contacts answers GET /v1/contacts/{id} from a batch score file; nil when none.
	Contacts *ContactStore
	// LoadedAt is when the set was loaded.
	LoadedAt time.Time
}
