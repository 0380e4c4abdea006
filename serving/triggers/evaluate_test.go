package triggers

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func dealership(t *testing.T) *Config {
	t.Helper()
	c, err := load(t, "testdata/dealership.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fired renders transitions as "trigger:old->new" for compact comparison.
func fired(ts []Transition) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s:%v->%v", t.Trigger, t.Old, t.New))
	}
	return strings.Join(parts, " ")
}

func rules(stage string, total float64) State {
	return State{Stage: stage, HasRules: true, RuleTotal: total, MQL: total >= 30}
}

// TestEvaluateDealership walks the lead-scoring story of the dealership scorecard
// (data/scorecards/dealership.yaml: form +10, open +3, click +7, directions +20, careers -15;
// stages lead 0, mql 30, sql 60) through the triggers of testdata/dealership.good.yml.
func TestEvaluateDealership(t *testing.T) {
	c := dealership(t)
	tests := []struct {
		name     string
		old, new State
		want     string
	}{
		{"first score, form only", State{}, rules("lead", 10), ""},
		{"open", rules("lead", 10), rules("lead", 13), ""},
		{"click", rules("lead", 13), rules("lead", 20), ""},
		{"directions: enters mql", rules("lead", 20), rules("mql", 40), "became-mql:lead->mql total-up-30:20->40"},
		{"careers back to 25: leaves mql", rules("mql", 40), rules("lead", 25), "mql-lapsed:mql->lead total-down-30:40->25"},
		{"below 30: leaves mql", rules("mql", 30), rules("lead", 20), "mql-lapsed:mql->lead total-down-30:30->20"},
		{"first score already past 30", State{}, rules("mql", 40), "became-mql:<nil>->mql total-up-30:<nil>->40"},
		{"first score below 30 is not a down crossing", State{}, rules("lead", 0), ""},
		{"up to exactly the value crosses", rules("lead", 29.5), rules("mql", 30), "became-mql:lead->mql total-up-30:29.5->30"},
		{"just under the value crosses down", rules("mql", 30), rules("lead", 29.99), "mql-lapsed:mql->lead total-down-30:30->29.99"},
		{"unchanged", rules("mql", 30), rules("mql", 30), ""},
		{"mql to sql leaves the mql stage, not the total", rules("mql", 50), rules("sql", 70), "mql-lapsed:mql->sql"},
		{"scorecard unloaded: nothing fires", rules("mql", 40), State{}, ""},
		{"scorecard back: counts as first", State{HasChurn: true, PChurn: 0.1}, rules("mql", 35), "became-mql:<nil>->mql total-up-30:<nil>->35"},

		{"churn up to exactly 0.5", State{HasChurn: true, PChurn: 0.4}, State{HasChurn: true, PChurn: 0.5}, "churn-risk:0.4->0.5"},
		{"churn already above", State{HasChurn: true, PChurn: 0.5}, State{HasChurn: true, PChurn: 0.9}, ""},
		{"churn first score above", State{}, State{HasChurn: true, PChurn: 0.7}, "churn-risk:<nil>->0.7"},
		{"churn model gone", State{HasChurn: true, PChurn: 0.4}, State{}, ""},
		{"churn down is not up", State{HasChurn: true, PChurn: 0.6}, State{HasChurn: true, PChurn: 0.3}, ""},

		{"segment entered", State{HasSegments: true}, State{Segments: []string{"family-buyers"}}, "family-buyer-in:[]->[family-buyers]"},
		{"segment entered, first score", State{}, State{Segments: []string{"family-buyers"}}, "family-buyer-in:<nil>->[family-buyers]"},
		{"segment moved", State{Segments: []string{"family-buyers"}}, State{Segments: []string{"commuters"}}, "family-buyer-out:[family-buyers]->[commuters]"},
		{"segment left for none", State{Segments: []string{"family-buyers"}}, State{HasSegments: true}, "family-buyer-out:[family-buyers]->[]"},
		{"persona model gone", State{Segments: []string{"family-buyers"}}, State{}, ""},
		{"still in segment", State{Segments: []string{"family-buyers", "x"}}, State{Segments: []string{"family-buyers"}}, ""},

		{"ltv first tier", State{}, State{HasLTV: true, LTVTier: "gold"}, "ltv-tier:<nil>->gold"},
		{"ltv first, no tier", State{}, State{HasLTV: true}, ""},
		{"ltv tier up", State{HasLTV: true, LTVTier: "silver"}, State{HasLTV: true, LTVTier: "gold"}, "ltv-tier:silver->gold"},
		{"ltv tier to none", State{HasLTV: true, LTVTier: "silver"}, State{HasLTV: true}, "ltv-tier:silver->"},
		{"ltv same tier", State{HasLTV: true, LTVTier: "gold"}, State{HasLTV: true, LTVTier: "gold"}, ""},
		{"ltv model gone", State{HasLTV: true, LTVTier: "gold"}, State{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fired(c.Evaluate(tt.old, tt.new)); got != tt.want {
				t.Errorf("Evaluate = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEvaluateTransition checks a whole Transition: kind, endpoints, typed old and new
// values and the crossing value.
func TestEvaluateTransition(t *testing.T) {
	c := dealership(t)
	ts := c.Evaluate(State{HasChurn: true, PChurn: 0.25}, State{HasChurn: true, PChurn: 0.75})
	v := 0.5
	want := []Transition{{Trigger: "churn-risk", Kind: KindPChurnCrossedUp, Old: 0.25, New: 0.75,
		Endpoints: []string{"retention", "sales-crm"}, Value: &v}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("got %+v\nwant %+v", ts, want)
	}
	ts = c.Evaluate(rules("lead", 20), rules("mql", 40))
	if len(ts) != 2 || ts[0].Kind != KindStageEntered || ts[0].Value != nil || ts[1].Kind != KindRuleTotalCrossedUp || *ts[1].Value != 30 {
		t.Errorf("got %+v", ts)
	}
	// Transitions own their segment lists: changing the State afterwards does not change them.
	seg := []string{"family-buyers"}
	ts = c.Evaluate(State{HasSegments: true}, State{Segments: seg})
	seg[0] = "changed"
	if got := ts[0].New.([]string)[0]; got != "family-buyers" {
		t.Errorf("transition shares the caller's slice: %q", got)
	}
}

func TestEvaluateOtherConditions(t *testing.T) {
	c, err := ParseEnv([]byte(`
endpoints: [{name: e, url: "https://e.example.com", secret: s}]
ltv_tiers: [{name: silver, min_clv: 0}, {name: gold, min_clv: 1000}]
triggers:
  - {name: mql-in, when: {mql: entered}, endpoints: e}
  - {name: mql-out, when: {mql: left}, endpoints: e}
  - {name: conv-up, when: {p_convert: {crosses: 0.2, direction: up}}, endpoints: e}
  - {name: conv-down, when: {p_convert: {crosses: 0.2, direction: down}}, endpoints: e}
  - {name: neg-down, when: {rule_total: {crosses: -5, direction: down}}, endpoints: e}
  - {name: to-gold, when: {ltv_tier_changed: {to: gold}}, endpoints: e}
  - {name: from-gold, when: {ltv_tier_changed: {from: gold}}, endpoints: e}
`), "", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new State
		want     string
	}{
		{"mql flag on, first score", State{}, State{HasRules: true, MQL: true}, "mql-in:<nil>->true"},
		{"mql flag on", State{HasRules: true}, State{HasRules: true, MQL: true}, "mql-in:false->true"},
		{"mql flag off", State{HasRules: true, MQL: true}, State{HasRules: true}, "mql-out:true->false"},
		{"mql stays on across stages", State{HasRules: true, MQL: true, Stage: "mql"}, State{HasRules: true, MQL: true, Stage: "sql"}, ""},
		{"convert up", State{HasConvert: true, PConvert: 0.1}, State{HasConvert: true, PConvert: 0.3}, "conv-up:0.1->0.3"},
		{"convert down", State{HasConvert: true, PConvert: 0.2}, State{HasConvert: true, PConvert: 0.1}, "conv-down:0.2->0.1"},
		{"negative total down", State{HasRules: true, RuleTotal: 0}, State{HasRules: true, RuleTotal: -15}, "neg-down:0->-15"},
		{"first negative total is not a crossing", State{}, State{HasRules: true, RuleTotal: -15}, ""},
		{"to gold", State{HasLTV: true, LTVTier: "silver"}, State{HasLTV: true, LTVTier: "gold"}, "to-gold:silver->gold"},
		{"to gold, first score", State{}, State{HasLTV: true, LTVTier: "gold"}, "to-gold:<nil>->gold"},
		{"from gold", State{HasLTV: true, LTVTier: "gold"}, State{HasLTV: true, LTVTier: "silver"}, "from-gold:gold->silver"},
		{"from gold needs a known old tier", State{}, State{HasLTV: true, LTVTier: "silver"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fired(c.Evaluate(tt.old, tt.new)); got != tt.want {
				t.Errorf("Evaluate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLTVTier(t *testing.T) {
	c := dealership(t) // standard from 0, gold from 2000, platinum from 10000
	for clv, want := range map[float64]string{-1: "", 0: "standard", 1999.99: "standard", 2000: "gold", 9999: "gold", 10000: "platinum", 1e9: "platinum"} {
		if got := c.LTVTier(clv); got != want {
			t.Errorf("LTVTier(%v) = %q, want %q", clv, got, want)
		}
	}
	if got := (&Config{}).LTVTier(5); got != "" {
		t.Errorf("no tiers: %q", got)
	}
}

// TestStateFromResponse reads a score response as the serving routes write it.
func TestStateFromResponse(t *testing.T) {
	c := dealership(t)
	s, err := c.State([]byte(`{"contact_id":"c-1","as_of":"2026-03-10T00:00:00Z",
		"rules":{"scorecard":"dealership","total":40,"stage":"mql","mql":true,"contributions":[]},
		"churn":{"probability":0.25,"model_version":"1","reasons":[]},
		"ltv":{"clv":2500.5,"p_alive":0.9},
		"persona":{"id":3,"name":"family-buyers","distance":1.5},
		"unavailable":["conversion"]}`))
	want := State{Stage: "mql", MQL: true, HasRules: true, RuleTotal: 40, HasChurn: true, PChurn: 0.25,
		Segments: []string{"family-buyers"}, HasSegments: true, HasLTV: true, LTVTier: "gold"}
	if err != nil || !reflect.DeepEqual(s, want) {
		t.Errorf("State = %+v, %v\nwant %+v", s, err, want)
	}
	s, err = c.State([]byte(`{"contact_id":"c-1","unavailable":["rules","conversion","churn","ltv","persona"]}`))
	if err != nil || !reflect.DeepEqual(s, State{}) {
		t.Errorf("all unavailable: %+v, %v", s, err)
	}
	if _, err := c.State([]byte(`{"rules":`)); err == nil {
		t.Error("truncated JSON: no error")
	}
}
