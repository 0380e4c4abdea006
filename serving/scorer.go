package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// Errors of Score.
var (
	// ErrNotReady: no model set has been loaded yet.
	ErrNotReady = errors.New("serving: models not loaded")
	// ErrUnknownScorecard: the request named a scorecard that is not loaded.
	ErrUnknownScorecard = errors.New("serving: unknown scorecard")
)

// BlockError reports a block whose model failed on a profile.
type BlockError struct {
	Block string
	Err   error
}

func (e *BlockError) Error() string { return fmt.Sprintf("%s block: %v", e.Block, e.Err) }
func (e *BlockError) Unwrap() error { return e.Err }

// Source hands out the current model set; a *Registry is one.
type Source interface {
	// Current returns the model set in use, or nil before the first load.
	Current() *ModelSet
}

// Static is a Source that always returns the same set (the CLI, batch scoring, tests).
type Static struct{ Set *ModelSet }

// Current returns s.Set.
func (s Static) Current() *ModelSet { return s.Set }

// Scorer assembles score responses: the one place a profile becomes a docs/contract.md §3 response,
// shared by the HTTP API, the score command and batch scoring.
type Scorer struct {
	src    Source
	now    func() time.Time
	inputs sync.Pool // *Input, reused with their buffers
}

// NewScorer returns a scorer reading models from src. now gives the default as-of time of
// profiles without one; nil means time.Now.
func NewScorer(src Source, now func() time.Time) *Scorer {
	if now == nil {
		now = time.Now
	}
	return &Scorer{src: src, now: now}
}

// Options select how one profile is scored.
type Options struct {
	// Scorecard names the scorecard of the rules block; "" means the default one.
	Scorecard string
	// Row, when not nil, is the profile's feature row computed beforehand with the set's
	// feature options (batch scoring takes it from the feature table, streamed from the
	// history files), so that the models do not need the profile's events: the profile may
	// then hold only the events its scorecards read. Nil: the row is computed from the
	// profile.
	Row *features.Row
	// NoWarnings leaves Response.Warnings nil, for callers that report none: batch scoring
	// (its output has no warnings column) and the live service's trigger state. Working them
	// out was a tenth of a batch score's CPU.
	NoWarnings bool
}

// Score scores one profile with the current model set and the default scorecard.
func (s *Scorer) Score(ctx context.Context, p features.Profile) (Response, error) {
	return s.ScoreWith(ctx, nil, &p, Options{})
}

// ScoreWith scores p with set (the current one when nil), so that a batch can use a single
// snapshot throughout. A profile without as-of time is scored as of now.
func (s *Scorer) ScoreWith(ctx context.Context, set *ModelSet, p *features.Profile, opts Options) (Response, error) {
	if set == nil {
		set = s.src.Current()
		if set == nil {
			return Response{}, ErrNotReady
		}
	}
	if p.AsOf.IsZero() {
		p.AsOf = s.now().UTC()
	}
	// Every decoder (JSON, Arrow) and the command line end here: one check of the values
	// (times in range, finite amounts, UTF-8 text), before any block reads them.
	if err := features.CheckProfile(p, set.FeatureOptions.Mapping.Contacts); err != nil {
		return Response{}, err
	}
	r := Response{ContactID: p.ContactID, AsOf: p.AsOf}
	in, _ := s.inputs.Get().(*Input)
	if in == nil {
		in = new(Input)
	}
	in.reuse(p, set.FeatureOptions, set.onlineFeatures())
	if opts.Row != nil {
		in.once.Do(func() { in.row = *opts.Row })
	}
	defer func() {
		in.reuse(nil, features.Options{}, nil) // keep no profile alive
		s.inputs.Put(in)
	}()
	var err error
	info := set.inputInfo()
	if !opts.NoWarnings {
		r.Warnings = info.warnings(p)
	}
	// Blocks run in response order. Each is optional: a nil model, or a model that has no
	// answer for this profile (nil result), leaves its block out, named in Unavailable with
	// its reason in UnavailableReasons.
	r.Unavailable, r.UnavailableReasons = make([]string, 0, 6), make([]Unavailability, 0, 6)
	out := func(block, reason, msg string) {
		r.Unavailable = append(r.Unavailable, block)
		r.UnavailableReasons = append(r.UnavailableReasons, Unavailability{Block: block, Reason: reason, Message: msg})
	}
	if set.Rules != nil {
		if r.Rules, err = set.Rules.Rules(in, opts.Scorecard); err != nil {
			if errors.Is(err, ErrUnknownScorecard) {
				return Response{}, err
			}
			return Response{}, &BlockError{BlockRules, err}
		}
		if r.Rules == nil {
			out(BlockRules, ReasonNoAnswer, "no scorecard's audience matches this contact")
		}
	} else if opts.Scorecard != "" {
		return Response{}, fmt.Errorf("%w %q (no scorecards loaded)", ErrUnknownScorecard, opts.Scorecard)
	} else {
		out(BlockRules, ReasonNotLoaded, "no scorecards are loaded")
	}
	noInputs := "none of the model's inputs are in the profile (no attribute it reads, no events or transactions before as_of)"
	for _, b := range []struct {
		name string
		m    Classifier
		dst  **Prediction
	}{{BlockConversion, set.Conversion, &r.Conversion}, {BlockChurn, set.Churn, &r.Churn}} {
		if b.m == nil {
			out(b.name, ReasonNotLoaded, "no "+b.name+" model is loaded")
			continue
		}
		if !info.hasInputs(b.name, p, opts.Row) {
			out(b.name, ReasonNoAnswer, noInputs)
			continue
		}
		if err := ctx.Err(); err != nil {
			return Response{}, err
		}
		if *b.dst, err = b.m.Predict(in); err != nil {
			return Response{}, &BlockError{b.name, err}
		}
		if *b.dst == nil {
			out(b.name, ReasonNoAnswer, "the model has no answer for this contact")
		}
	}
	switch {
	case set.LTV == nil:
		out(BlockLTV, ReasonNotLoaded, "no ltv model is loaded")
	default:
		if r.LTV, err = set.LTV.LTV(in); err != nil {
			return Response{}, &BlockError{BlockLTV, err}
		}
		if r.LTV == nil {
			out(BlockLTV, ReasonNoAnswer, "no purchases before as_of: no lifetime value to forecast")
		}
	}
	switch {
	case set.Personas == nil:
		out(BlockPersona, ReasonNotLoaded, "no personas model is loaded")
	case !info.hasInputs(BlockPersona, p, opts.Row):
		out(BlockPersona, ReasonNoAnswer, noInputs)
	default:
		if r.Persona, err = set.Personas.Persona(in); err != nil {
			return Response{}, &BlockError{BlockPersona, err}
		}
		if r.Persona == nil {
			out(BlockPersona, ReasonNoAnswer, "the model has no answer for this contact")
		}
	}
	switch {
	case set.Uplift == nil:
		out(BlockUplift, ReasonNotLoaded, "no uplift model is loaded")
	case !info.hasInputs(BlockUplift, p, opts.Row):
		out(BlockUplift, ReasonNoAnswer, noInputs)
	default:
		if r.Uplift, err = set.Uplift.Uplift(in); err != nil {
			return Response{}, &BlockError{BlockUplift, err}
		}
		if r.Uplift == nil {
			out(BlockUplift, ReasonNoAnswer, "the model has no answer for this contact")
		}
	}
	for _, pr := range []*Prediction{r.Conversion, r.Churn} {
		if pr != nil {
			sanitizeReasons(pr.Reasons)
		}
	}
	return r, nil
}

// sanitizeReasons turns non-finite reason values (a missing feature is NaN) into null, which
// JSON can carry.
func sanitizeReasons(rs []Reason) {
	for i := range rs {
		if v, ok := rs[i].Value.(float64); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			rs[i].Value = nil
		}
	}
}
