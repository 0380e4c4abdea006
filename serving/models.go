package serving

import (
	"slices"
	"sync"
	"sync/atomic"
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
	online *features.Online // nil: features.ComputeProfile

	mu      sync.Mutex
	records []namedRecord // Record of the row, per input list
	vals    []values      // the same by position
	spare   []values      // buffers of an earlier score, for vals (see Scorer)
}

type namedRecord struct {
	names []string
	rec   map[string]any
}

// record returns Record(row, names), built once per input list for the blocks of one score
// (conversion and churn models usually share their inputs). Blocks must not modify it.
func (in *Input) record(row features.Row, names []string, plan *atomic.Pointer[recordPlan]) map[string]any {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.records {
		if slices.Equal(r.names, names) {
			return r.rec
		}
	}
	rec := planRecord(row, names, plan)
	in.records = append(in.records, namedRecord{names, rec})
	return rec
}

// values returns the record of row for names by position, built once per input list for
// the blocks of one score. Blocks must not modify it.
func (in *Input) values(row features.Row, names []string, plan *atomic.Pointer[recordPlan]) values {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, v := range in.vals {
		if sameNames(v.names, names) {
			return v
		}
	}
	v := values{names: names}
	for i, sp := range in.spare {
		if cap(sp.num) >= len(names) && cap(sp.str) >= len(names) {
			v.num, v.str = sp.num[:len(names)], sp.str[:len(names)]
			in.spare = slices.Delete(in.spare, i, i+1)
			break
		}
	}
	if v.num == nil {
		v.num, v.str = make([]float64, len(names)), make([]string, len(names))
	}
	fillValues(v, row, plan)
	in.vals = append(in.vals, v)
	return v
}

// reuse readies in for another score, keeping its buffers.
func (in *Input) reuse(p *features.Profile, opts features.Options, online *features.Online) {
	spare, vals := in.spare, in.vals[:0]
	for _, v := range in.vals {
		clear(v.str)
		spare = append(spare, values{num: v.num, str: v.str})
	}
	if len(spare) > 8 { // buffers for input lists no longer scored (a reload changed them)
		spare = slices.Delete(spare, 0, len(spare)-8)
	}
	*in = Input{Profile: p, FeatureOptions: opts, online: online, vals: vals, spare: spare}
}

// sameNames is slices.Equal, at once for the same slice (the blocks' own lists).
func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// NewInput returns the input of one score.
func NewInput(p *features.Profile, opts features.Options) *Input {
	return &Input{Profile: p, FeatureOptions: opts}
}

// Features returns the profile's feature row (the same code as the batch feature table).
func (in *Input) Features() (features.Row, error) {
	in.once.Do(func() {
		if in.online != nil && !in.Profile.AsOf.IsZero() {
			in.row, in.rowErr = in.online.Compute(*in.Profile)
			return
		}
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

// UpliftModel estimates the effect of a campaign on a contact's outcome.
type UpliftModel interface {
	Uplift(in *Input) (*Uplift, error)
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
	Kind string `json:"kind"`
	// Block is the score response block the artifact provides (BlockOf(Kind)): the
	// "personas" artifact, a set of personas, gives each contact its "persona" block.
	Block    string            `json:"block"`
	Dir      string            `json:"dir"`
	Manifest artifact.Manifest `json:"manifest"`
}

// BlockOf returns the score response block an artifact kind provides: the kind itself,
// except for personas, whose block names the one persona of the contact (docs/contract.md,
// "Score response").
func BlockOf(kind string) string {
	if kind == artifact.KindPersonas {
		return BlockPersona
	}
	return kind
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
	Uplift     UpliftModel
	// FeatureOptions are passed to features.ComputeProfile (AsOf is set per profile).
	FeatureOptions features.Options
	// Artifacts lists the artifacts loaded, for GET /v1/models and the info metric.
	Artifacts []Artifact
	// Contacts answers GET /v1/contacts/{id} from a batch score file; nil when none.
	Contacts *ContactStore
	// LoadedAt is when the set was loaded.
	LoadedAt time.Time

	// online computes feature rows with FeatureOptions' schema built once (set by Loader).
	online *features.Online
	// info is what the set reads of a profile's attributes (see inputInfo).
	infoOnce sync.Once
	info     *inputInfo
}

// Input returns the input of one score of p with the set: its feature row is computed with
// the set's feature options (and the schema built once for them).
func (s *ModelSet) Input(p *features.Profile) *Input {
	in := NewInput(p, s.FeatureOptions)
	in.online = s.onlineFeatures()
	return in
}

// onlineFeatures returns the set's online feature computer when it was made for the set's
// current FeatureOptions, else nil.
func (s *ModelSet) onlineFeatures() *features.Online {
	if s.online == nil || !sameOptions(s.online.Options(), s.FeatureOptions) {
		return nil
	}
	return s.online
}

// sameOptions reports whether a and b are the same options, their lists the same slices.
func sameOptions(a, b features.Options) bool {
	return a.AsOf.Equal(b.AsOf) && a.Horizon == b.Horizon && a.HalfLife == b.HalfLife &&
		a.StrictIdentity == b.StrictIdentity && a.Mapping == b.Mapping &&
		sameSlice(a.ProductCategories, b.ProductCategories) && sameSlice(a.Attributes, b.Attributes)
}

func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (a == nil) == (b == nil) && (len(a) == 0 || &a[0] == &b[0])
}

// Only returns a copy of the set that keeps only the named blocks (BlockRules,
// BlockConversion, ...); the others are not loaded in it. It shares the models and the
// online feature computer with s. A caller that reads a few blocks of many responses (the
// live triggers) scores with it and skips the cost of the rest.
func (s *ModelSet) Only(blocks ...string) *ModelSet {
	keep := func(b string) bool { return slices.Contains(blocks, b) }
	o := &ModelSet{FeatureOptions: s.FeatureOptions, Artifacts: s.Artifacts, Contacts: s.Contacts,
		LoadedAt: s.LoadedAt, online: s.online}
	if keep(BlockRules) {
		o.Rules = s.Rules
	}
	if keep(BlockConversion) {
		o.Conversion = s.Conversion
	}
	if keep(BlockChurn) {
		o.Churn = s.Churn
	}
	if keep(BlockLTV) {
		o.LTV = s.LTV
	}
	if keep(BlockPersona) {
		o.Personas = s.Personas
	}
	if keep(BlockUplift) {
		o.Uplift = s.Uplift
	}
	return o
}
