package serving

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/effect"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// Adapters from the model packages to the block interfaces, and their ArtifactLoaders (the
// ones NewLoader uses).

// scorecardRules adapts a scorecard set to RulesModel.
type scorecardRules struct {
	set    *scorecard.Set
	source string
	events sync.Pool // *[]scorecard.Event, the events of ScorecardInput, reused
}

// NewRules returns the rules block of set; source ("embedded" or a file) is shown by
// GET /v1/scorecards.
func NewRules(set *scorecard.Set, source string) RulesModel {
	return &scorecardRules{set: set, source: source}
}

func (s *scorecardRules) Scorecards() []ScorecardInfo {
	var out []ScorecardInfo
	for _, sc := range s.set.Scorecards() {
		out = append(out, ScorecardInfo{Name: sc.Name(), Version: sc.Version(), Source: s.source, Detail: sc.Config()})
	}
	return out
}

// Fields implements FieldNamer: the attributes any of the scorecards reads.
func (s *scorecardRules) Fields() []string {
	var out []string
	for _, sc := range s.set.Scorecards() {
		out = append(out, sc.Fields()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Needs implements EventNeeder with scorecard.Set.Needs.
func (s *scorecardRules) Needs(typ, page string) bool { return s.set.Needs(typ, page) }

func (s *scorecardRules) Rules(in *Input, name string) (*Rules, error) {
	buf, _ := s.events.Get().(*[]scorecard.Event)
	if buf == nil {
		buf = new([]scorecard.Event)
	}
	sin := scorecardInput(in.Profile, (*buf)[:0])
	defer func() {
		clear(sin.Events) // keep no strings of the profile alive
		*buf = sin.Events[:0]
		s.events.Put(buf)
	}()
	var res scorecard.Result
	var err error
	if name == "" {
		res, err = s.set.Score(sin)
		if errors.Is(err, scorecard.ErrNoScorecard) {
			return nil, nil // no audience matches: the rules block is unavailable
		}
	} else {
		sc := s.set.Lookup(name)
		if sc == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownScorecard, name)
		}
		res, err = sc.Score(sin)
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// ScorecardInput is a profile as a scorecard sees it.
func ScorecardInput(p *features.Profile) scorecard.Input {
	return scorecardInput(p, nil)
}

// scorecardInput is ScorecardInput with its events appended to events.
func scorecardInput(p *features.Profile, events []scorecard.Event) scorecard.Input {
	in := scorecard.Input{ContactID: p.ContactID, AsOf: p.AsOf, Attributes: p.Attributes,
		Events: slices.Grow(events, len(p.Events))}
	for _, e := range p.Events {
		in.Events = append(in.Events, scorecard.Event{TS: e.TS, Type: e.Type, Page: e.Page, Channel: e.Channel,
			Campaign: e.Campaign, Value: e.Value})
	}
	return in
}

// ltvBlock adapts a BG/NBD + Gamma-Gamma model to LTVModel.
type ltvBlock struct{ m *btyd.LTVModel }

// NewLTV returns the LTV block of m.
func NewLTV(m *btyd.LTVModel) LTVModel { return ltvBlock{m} }

// LoadLTV is an ArtifactLoader for the "ltv" kind.
func LoadLTV(dir string) (LTVModel, artifact.Manifest, error) {
	m, man, err := btyd.LoadLTVModel(dir)
	if err != nil {
		return nil, man, err
	}
	return NewLTV(m), man, nil
}

func (b ltvBlock) LTV(in *Input) (*LTV, error) {
	ps := make([]btyd.Purchase, 0, len(in.Profile.Transactions))
	for _, t := range in.Profile.Transactions {
		if math.IsNaN(t.Amount) || math.IsInf(t.Amount, 0) {
			continue
		}
		ps = append(ps, btyd.Purchase{Time: t.TS, Amount: t.Amount})
	}
	s, err := b.m.ScoreHistory(ps, in.Profile.AsOf)
	if errors.Is(err, btyd.ErrNoPurchases) {
		return nil, nil // not a customer yet: no lifetime value to forecast
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// NewClassifier returns the conversion or churn block of m.
func NewClassifier(m *classifier.Model) Classifier {
	return &RecordClassifier{
		Inputs:  m.Inputs(),
		Version: m.Manifest.Version,
		Decile:  m.Decile,
		PredictRecord: func(rec map[string]any) (float64, []Reason, error) {
			return classifierReasons(m.PredictRow(rec))
		},
		PredictValues: func(num []float64, str []string) (float64, []Reason, error) {
			return classifierReasons(m.PredictValues(num, str))
		},
	}
}

// LoadClassifier is an ArtifactLoader for the "conversion" and "churn" kinds.
func LoadClassifier(dir string) (Classifier, artifact.Manifest, error) {
	m, err := classifier.LoadModel(dir)
	if err != nil {
		return nil, artifact.Manifest{}, err
	}
	return NewClassifier(m), m.Manifest, nil
}

// classifierReasons converts the answer of a classifier's prediction to serving's types.
func classifierReasons(p float64, rs []classifier.Reason, err error) (float64, []Reason, error) {
	if err != nil {
		return 0, nil, err
	}
	out := make([]Reason, len(rs))
	for i, r := range rs {
		out[i] = Reason{Feature: r.Feature, Value: r.Value, Effect: r.Effect}
	}
	return p, out, nil
}

// RecordClassifier adapts a model that scores one record of named inputs (a
// models/classifier model: see NewClassifier) to Classifier. The record holds, for every input, the profile's feature value: a float64, a
// string for categorical columns, or nil when missing or not computed online.
type RecordClassifier struct {
	// Inputs are the model's input names.
	Inputs []string
	// Version is the model version reported in the block.
	Version string
	// PredictRecord returns the calibrated probability and the reasons for one record. It
	// must not modify the record, which the blocks of one score share.
	PredictRecord func(record map[string]any) (float64, []Reason, error)
	// PredictValues, when set, is used instead of PredictRecord: the same record given by
	// position, which spares a map per score. The value of Inputs[i] is str[i] when that is
	// not empty, else num[i], NaN standing for nil. It must give PredictRecord's answer for
	// the same record, and must neither modify nor keep num and str.
	PredictValues func(num []float64, str []string) (float64, []Reason, error)
	// Decile, when set, places a probability among the model's test scores: 1 for the top
	// 10%, 10 for the bottom, 0 when unknown.
	Decile func(p float64) int

	plan atomic.Pointer[recordPlan] // column positions of Inputs in the last schema seen
}

// InputNames implements InputNamer.
func (c *RecordClassifier) InputNames() []string { return c.Inputs }

// Predict implements Classifier.
func (c *RecordClassifier) Predict(in *Input) (*Prediction, error) {
	row, err := in.Features()
	if err != nil {
		return nil, err
	}
	var (
		p  float64
		rs []Reason
	)
	if c.PredictValues != nil {
		v := in.values(row, c.Inputs, &c.plan)
		p, rs, err = c.PredictValues(v.num, v.str)
	} else {
		p, rs, err = c.PredictRecord(in.record(row, c.Inputs, &c.plan))
	}
	if err != nil {
		return nil, err
	}
	if rs == nil {
		rs = []Reason{}
	}
	pred := &Prediction{Probability: p, ModelVersion: c.Version, Reasons: rs}
	if c.Decile != nil {
		pred.Decile = c.Decile(p)
	}
	return pred, nil
}

// Record picks the named columns of a feature row: float64 for numeric columns, string for
// categorical ones, nil for nulls and for names the row does not have.
func Record(row features.Row, names []string) map[string]any {
	rec := make(map[string]any, len(names))
	for _, name := range names {
		rec[name] = recordValue(row, name)
	}
	return rec
}

// recordPlan holds the positions of names in schema (-1 when absent), so that online scores,
// whose rows share one schema, look each column up once.
type recordPlan struct {
	schema *features.Schema
	names  []string
	idx    []int
}

// planFor returns the positions of names in row's schema: plan's when they are for that
// schema and names, else new ones, stored in plan. nil for a row without schema.
func planFor(row features.Row, names []string, plan *atomic.Pointer[recordPlan]) *recordPlan {
	if row.Schema == nil {
		return nil
	}
	pl := plan.Load()
	if pl == nil || pl.schema != row.Schema || !slices.Equal(pl.names, names) {
		pl = &recordPlan{schema: row.Schema, names: slices.Clone(names), idx: make([]int, len(names))}
		for k, name := range names {
			pl.idx[k] = row.Schema.Index(name)
		}
		plan.Store(pl)
	}
	return pl
}

// planRecord is Record(row, names), through the positions of plan when they are for row's
// schema and names (else it makes and stores them).
func planRecord(row features.Row, names []string, plan *atomic.Pointer[recordPlan]) map[string]any {
	pl := planFor(row, names, plan)
	if pl == nil {
		return Record(row, names)
	}
	rec := make(map[string]any, len(names))
	for k, name := range names {
		rec[name] = columnValue(row, pl.idx[k])
	}
	return rec
}

// values is Record(row, names) by position: the value of names[i] is str[i] when that is not
// empty, else num[i], NaN standing for nil.
type values struct {
	names []string
	num   []float64
	str   []string
}

// fillValues sets v.num and v.str (of v.names' length) to the record of row for v.names,
// through the positions of plan as planRecord.
func fillValues(v values, row features.Row, plan *atomic.Pointer[recordPlan]) {
	pl := planFor(row, v.names, plan) // nil: a row without schema, every value nil
	for k := range v.names {
		i := -1
		if pl != nil {
			i = pl.idx[k]
		}
		v.num[k], v.str[k] = math.NaN(), ""
		if i < 0 {
			continue
		}
		switch row.Schema.Columns[i].Kind {
		case features.KindID, features.KindCategorical:
			v.str[k] = row.Strs[i]
		case features.KindIDList:
		default:
			v.num[k] = row.Nums[i]
		}
	}
}

// record returns the record of v (Record's form).
func (v values) record() map[string]any {
	rec := make(map[string]any, len(v.names))
	for k, name := range v.names {
		switch {
		case v.str[k] != "":
			rec[name] = v.str[k]
		case !math.IsNaN(v.num[k]):
			rec[name] = v.num[k]
		default:
			rec[name] = nil
		}
	}
	return rec
}

// recordValue is the value of the named column in Record.
func recordValue(row features.Row, name string) any {
	if row.Schema == nil {
		return nil
	}
	return columnValue(row, row.Schema.Index(name))
}

// columnValue is the value of column i (-1: none) in Record.
func columnValue(row features.Row, i int) any {
	if i < 0 {
		return nil
	}
	switch row.Schema.Columns[i].Kind {
	case features.KindID, features.KindCategorical:
		if s := row.Strs[i]; s != "" {
			return s
		}
	case features.KindIDList:
	default:
		if v := row.Nums[i]; !math.IsNaN(v) {
			return v
		}
	}
	return nil
}

// personaBlock adapts a personas model (k-means over transformed features) to PersonaModel.
type personaBlock struct {
	m      *persona.Model
	inputs []string
	plan   atomic.Pointer[recordPlan]
}

// NewPersonas returns the persona block of m.
func NewPersonas(m *persona.Model) PersonaModel {
	return &personaBlock{m: m, inputs: m.InputNames()}
}

// LoadPersonas is an ArtifactLoader for the "personas" kind.
func LoadPersonas(dir string) (PersonaModel, artifact.Manifest, error) {
	m, man, err := persona.Load(dir)
	if err != nil {
		return nil, man, err
	}
	return NewPersonas(m), man, nil
}

// InputNames implements InputNamer.
func (b *personaBlock) InputNames() []string { return b.inputs }

func (b *personaBlock) Persona(in *Input) (*Persona, error) {
	row, err := in.Features()
	if err != nil {
		return nil, err
	}
	// By position (no map per score); the rare record AssignValues leaves to Assign goes
	// through the map.
	v := in.values(row, b.inputs, &b.plan)
	if id, name, dist, ok := b.m.AssignValues(v.num, v.str); ok {
		return &Persona{ID: id, Name: name, Distance: dist}, nil
	}
	id, name, dist, err := b.m.Assign(v.record())
	if err != nil {
		return nil, err
	}
	return &Persona{ID: id, Name: name, Distance: dist}, nil
}

func (b *personaBlock) Personas() []PersonaInfo {
	out := make([]PersonaInfo, len(b.m.Personas))
	for i, p := range b.m.Personas {
		out[i] = PersonaInfo{ID: p.ID, Name: p.Name, Description: p.Description, Size: p.Size, Detail: p}
	}
	return out
}

// upliftBlock adapts an uplift artifact (models/effect) to UpliftModel.
type upliftBlock struct {
	a      *effect.Artifact
	inputs []string
	plan   atomic.Pointer[recordPlan]
}

// NewUplift returns the uplift block of a.
func NewUplift(a *effect.Artifact) UpliftModel {
	return &upliftBlock{a: a, inputs: a.InputNames()}
}

// LoadUplift is an ArtifactLoader for the "uplift" kind.
func LoadUplift(dir string) (UpliftModel, artifact.Manifest, error) {
	a, err := effect.Load(dir)
	if err != nil {
		return nil, artifact.Manifest{}, err
	}
	return NewUplift(a), a.Manifest, nil
}

// InputNames implements InputNamer.
func (b *upliftBlock) InputNames() []string { return b.inputs }

func (b *upliftBlock) Uplift(in *Input) (*Uplift, error) {
	row, err := in.Features()
	if err != nil {
		return nil, err
	}
	v := in.values(row, b.inputs, &b.plan)
	s, err := b.a.ScoreValues(v.num, v.str)
	if err != nil {
		return nil, err
	}
	return &Uplift{Effect: s.Effect, Decile: s.Decile, Group: s.Group, ModelVersion: b.a.Manifest.Version}, nil
}
