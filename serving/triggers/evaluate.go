package triggers

import (
	"encoding/json"
	"fmt"
	"slices"
)

// State is what a trigger condition looks at: the values of one score response that
// transitions are defined on. Zero fields mean "not available" (the Has* flags say so); the
// zero State is a contact never scored before.
type State struct {
	Stage      string  // rules.stage, "" if no scorecard scored the contact
	MQL        bool    // rules.mql
	HasRules   bool    // the rules block is present; RuleTotal and MQL are valid
	RuleTotal  float64 // rules.total
	HasConvert bool    // the conversion block is present
	PConvert   float64 // conversion.probability
	HasChurn   bool    // the churn block is present
	PChurn     float64 // churn.probability
	// Segments are the persona name(s) or segment ids the contact is in. Segments are
	// available when HasSegments is set or Segments is not empty.
	Segments    []string
	HasSegments bool
	HasLTV      bool   // the ltv block is present; LTVTier is valid
	LTVTier     string // ltv tier name, "" if none
}

// Transition is one fired condition for one contact.
type Transition struct {
	Trigger string // trigger name from the YAML
	Kind    string // one of the Kind constants
	// Old and New are the values the condition looked at: float64 for crossings, string for
	// stages and tiers, bool for mql, the segment list for segments; nil where unavailable.
	Old, New  any
	Endpoints []string // endpoint names the trigger goes to
	// Value is the crossing value of *_crossed_* kinds, nil otherwise.
	Value *float64
}

// Evaluate returns the transitions that the change from old to new fires, in trigger order.
// old is the zero State for a contact's first score. The rules, in docs/triggers.md:
//
//   - Nothing fires when the new side is unavailable: a block that goes missing (a model
//     unloaded) is not a transition.
//   - An unavailable old side counts as "below every value, in no stage, segment or tier":
//     a first score at or above a value fires crossed_up, one in a stage fires
//     stage_entered, and so on; it never fires a _left or crossed_down.
//   - Crossing up at v: old < v <= new. Crossing down at v: old >= v > new. So a total that
//     goes 20 → 30 crosses 30 up, 30 → 20 crosses it down, and 30 → 30 does neither.
func (c *Config) Evaluate(old, new State) []Transition {
	var out []Transition
	for i := range c.Triggers {
		t := &c.Triggers[i]
		if tr, ok := t.When.eval(old, new); ok {
			tr.Trigger = t.Name
			tr.Endpoints = t.Endpoints
			out = append(out, tr)
		}
	}
	return out
}

func (s State) segmentsKnown() bool { return s.HasSegments || len(s.Segments) > 0 }

func (c Condition) eval(old, new State) (Transition, bool) {
	tr := Transition{Kind: c.Kind}
	switch c.Kind {
	case KindStageEntered, KindStageLeft:
		if new.Stage == "" {
			return tr, false
		}
		tr.New = new.Stage
		if old.Stage != "" {
			tr.Old = old.Stage
		}
		if c.Kind == KindStageEntered {
			return tr, old.Stage != c.Stage && new.Stage == c.Stage
		}
		return tr, old.Stage == c.Stage && new.Stage != c.Stage
	case KindMQLEntered, KindMQLLeft:
		if !new.HasRules {
			return tr, false
		}
		tr.New = new.MQL
		if old.HasRules {
			tr.Old = old.MQL
		}
		oldMQL := old.HasRules && old.MQL
		if c.Kind == KindMQLEntered {
			return tr, !oldMQL && new.MQL
		}
		return tr, oldMQL && !new.MQL
	case KindRuleTotalCrossedUp, KindRuleTotalCrossedDown:
		return c.crossing(tr, old.HasRules, old.RuleTotal, new.HasRules, new.RuleTotal, KindRuleTotalCrossedUp)
	case KindPConvertCrossedUp, KindPConvertCrossedDown:
		return c.crossing(tr, old.HasConvert, old.PConvert, new.HasConvert, new.PConvert, KindPConvertCrossedUp)
	case KindPChurnCrossedUp, KindPChurnCrossedDown:
		return c.crossing(tr, old.HasChurn, old.PChurn, new.HasChurn, new.PChurn, KindPChurnCrossedUp)
	case KindSegmentEntered, KindSegmentLeft:
		if !new.segmentsKnown() {
			return tr, false
		}
		tr.New = slices.Clone(new.Segments)
		if tr.New == nil {
			tr.New = []string{}
		}
		if old.segmentsKnown() {
			o := slices.Clone(old.Segments)
			if o == nil {
				o = []string{}
			}
			tr.Old = o
		}
		was, is := slices.Contains(old.Segments, c.Segment), slices.Contains(new.Segments, c.Segment)
		if c.Kind == KindSegmentEntered {
			return tr, !was && is
		}
		return tr, was && !is
	case KindLTVTierChanged:
		if !new.HasLTV {
			return tr, false
		}
		tr.New = new.LTVTier
		oldTier := ""
		if old.HasLTV {
			tr.Old = old.LTVTier
			oldTier = old.LTVTier
		} else if new.LTVTier == "" {
			return tr, false // from unavailable to no tier: nothing to say
		}
		if old.HasLTV && oldTier == new.LTVTier {
			return tr, false
		}
		if c.From != "" && (!old.HasLTV || oldTier != c.From) {
			return tr, false
		}
		if c.To != "" && new.LTVTier != c.To {
			return tr, false
		}
		return tr, true
	}
	return tr, false
}

// crossing applies the crossing rule of Evaluate to one value.
func (c Condition) crossing(tr Transition, oldHas bool, oldV float64, newHas bool, newV float64, upKind string) (Transition, bool) {
	if !newHas {
		return tr, false
	}
	v := c.Value
	tr.Value = &v
	tr.New = newV
	if oldHas {
		tr.Old = oldV
	}
	if c.Kind == upKind {
		return tr, (!oldHas || oldV < v) && v <= newV
	}
	return tr, oldHas && oldV >= v && v > newV
}

// scoreJSON is the part of a score response (POST /v1/score) that State reads.
type scoreJSON struct {
	Rules *struct {
		Stage string  `json:"stage"`
		MQL   bool    `json:"mql"`
		Total float64 `json:"total"`
	} `json:"rules"`
	Conversion *struct {
		Probability float64 `json:"probability"`
	} `json:"conversion"`
	Churn *struct {
		Probability float64 `json:"probability"`
	} `json:"churn"`
	LTV *struct {
		CLV float64 `json:"clv"`
	} `json:"ltv"`
	Persona *struct {
		Name string `json:"name"`
	} `json:"persona"`
}

// State reduces a score response (the JSON of GET /v1/contacts/{id}/score) to the State
// triggers look at: a missing block is unavailable, the persona's name is the one segment,
// and the LTV tier comes from the config's ltv_tiers applied to ltv.clv.
func (c *Config) State(scoreResponse []byte) (State, error) {
	var r scoreJSON
	if err := json.Unmarshal(scoreResponse, &r); err != nil {
		return State{}, fmt.Errorf("triggers: reading a score response: %w", err)
	}
	var s State
	if r.Rules != nil {
		s.HasRules, s.Stage, s.MQL, s.RuleTotal = true, r.Rules.Stage, r.Rules.MQL, r.Rules.Total
	}
	if r.Conversion != nil {
		s.HasConvert, s.PConvert = true, r.Conversion.Probability
	}
	if r.Churn != nil {
		s.HasChurn, s.PChurn = true, r.Churn.Probability
	}
	if r.Persona != nil {
		s.HasSegments = true
		if r.Persona.Name != "" {
			s.Segments = []string{r.Persona.Name}
		}
	}
	if r.LTV != nil {
		s.HasLTV, s.LTVTier = true, c.LTVTier(r.LTV.CLV)
	}
	return s, nil
}

// Blocks returns the blocks of a score response (their names in the response: "rules",
// "conversion", "churn", "ltv", "persona") that the config's conditions look at, in that
// order. The live service computes only these to decide whether anything fired, and the
// full response only for the body of a delivery.
func (c *Config) Blocks() []string {
	need := map[string]bool{}
	for _, t := range c.Triggers {
		switch t.When.Kind {
		case KindStageEntered, KindStageLeft, KindMQLEntered, KindMQLLeft, KindRuleTotalCrossedUp, KindRuleTotalCrossedDown:
			need["rules"] = true
		case KindPConvertCrossedUp, KindPConvertCrossedDown:
			need["conversion"] = true
		case KindPChurnCrossedUp, KindPChurnCrossedDown:
			need["churn"] = true
		case KindSegmentEntered, KindSegmentLeft:
			need["persona"] = true
		case KindLTVTierChanged:
			need["ltv"] = true
		}
	}
	var out []string
	for _, b := range []string{"rules", "conversion", "churn", "ltv", "persona"} {
		if need[b] {
			out = append(out, b)
		}
	}
	return out
}
