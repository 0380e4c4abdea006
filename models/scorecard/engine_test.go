package scorecard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var asOf = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func mustParse(t testing.TB, src string) *Scorecard {
	t.Helper()
	set, err := Parse([]byte(src), "inline.yml")
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return set.Scorecards()[0]
}

// ev is an event daysAgo days before asOf.
func ev(typ string, daysAgo float64) Event {
	return Event{TS: asOf.Add(-time.Duration(daysAgo * float64(24*time.Hour))), Type: typ, Value: math.NaN()}
}

func evs(typ string, daysAgo ...float64) []Event {
	var out []Event
	for _, d := range daysAgo {
		out = append(out, ev(typ, d))
	}
	return out
}

func TestRuleTable(t *testing.T) {
	tests := []struct {
		name   string
		rule   string // one YAML rule, indented under rules:
		events []Event
		points int
		count  int // 0: the rule must not fire
	}{
		// Once per contact or repeatable.
		{"once", "{name: r, points: 4, event: {type: webinar}}", evs("webinar", 1, 2, 3), 4, 1},
		{"repeatable", "{name: r, points: 4, event: {type: webinar}, repeatable: true}", evs("webinar", 1, 2, 3), 12, 3},
		{"per-day cap", "{name: r, points: 1, event: {type: webinar}, repeatable: true, per_day_cap: 2}",
			evs("webinar", 0.1, 0.2, 0.3, 0.4, 1.5, 1.6, 1.7, 3.2), 5, 5},
		{"negative repeatable", "{name: r, points: -2, event: {type: email_unsubscribe}, repeatable: true}", evs("email_unsubscribe", 1, 5), -4, 2},
		{"no match", "{name: r, points: 4, event: {type: webinar}}", evs("chat", 1), 0, 0},
		// Counts within a window.
		{"min count met", "{name: r, points: 8, event: {type: page_view}, min_count: 3, within: 7d}", evs("page_view", 1, 2, 6.9), 8, 1},
		{"min count not met in window", "{name: r, points: 8, event: {type: page_view}, min_count: 3, within: 7d}", evs("page_view", 1, 2, 7.1), 0, 0},
		// Decay: half-life 10 days, points × 2^(−age/10d), rounded half away from zero.
		{"half-life fresh", "{name: r, points: 10, event: {type: chat}, decay: {half_life: 10d}}", evs("chat", 0.001), 10, 1},
		{"half-life one", "{name: r, points: 10, event: {type: chat}, decay: {half_life: 10d}}", evs("chat", 10), 5, 1},
		{"half-life two", "{name: r, points: 10, event: {type: chat}, decay: {half_life: 10d}}", evs("chat", 20), 3, 1},
		{"half-life once uses latest", "{name: r, points: 10, event: {type: chat}, decay: {half_life: 10d}}", evs("chat", 30, 10, 20), 5, 1},
		{"half-life repeatable", "{name: r, points: 8, event: {type: chat}, repeatable: true, decay: {half_life: 10d}}", evs("chat", 10, 20), 6, 2},
		{"half-life to zero", "{name: r, points: 10, event: {type: chat}, decay: {half_life: 1d}}", evs("chat", 30), 0, 1},
		{"rolling window in", "{name: r, points: 10, event: {type: chat}, decay: {window: 7d}}", evs("chat", 6.9), 10, 1},
		{"rolling window out", "{name: r, points: 10, event: {type: chat}, decay: {window: 7d}}", evs("chat", 7.1), 0, 0},
		{"rolling window repeatable", "{name: r, points: 10, event: {type: chat}, repeatable: true, decay: {window: 7d}}", evs("chat", 1, 3, 8, 9), 20, 2},
		// At or after as-of never counts.
		{"at as-of", "{name: r, points: 10, event: {type: chat}}", evs("chat", 0), 0, 0},
		{"after as-of", "{name: r, points: 10, event: {type: chat}, repeatable: true}", evs("chat", -1, 1), 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := mustParse(t, "name: t\nversion: '1'\nrules:\n  - "+tt.rule+"\n")
			res, err := sc.Score(Input{AsOf: asOf, Events: tt.events})
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, res)
			if tt.count == 0 {
				if len(res.Contributions) != 0 {
					t.Errorf("rule fired: %+v", res.Contributions)
				}
				return
			}
			if len(res.Contributions) != 1 {
				t.Fatalf("contributions %+v, want one", res.Contributions)
			}
			if c := res.Contributions[0]; c.Points != tt.points || c.Count != tt.count {
				t.Errorf("points %d count %d, want %d %d", c.Points, c.Count, tt.points, tt.count)
			}
		})
	}
}

func TestEventMatchTable(t *testing.T) {
	base := Event{TS: asOf.Add(-time.Hour), Type: "page_view", Page: "/products/outdoor/tent-2", Channel: "paid_search", Campaign: "spring-26", Value: math.NaN()}
	withValue := func(v float64) Event { e := base; e.Type, e.Value = "survey", v; return e }
	tests := []struct {
		match string
		e     Event
		want  bool
	}{
		{"{type: page_view}", base, true},
		{"{type: [chat, page_view]}", base, true},
		{"{type: chat}", base, false},
		{"{page: /products/*}", base, true},
		{"{page: /products/outdoor/*}", base, true},
		{"{page: '/products/*/tent-?'}", base, true},
		{"{page: /products}", base, false},
		{"{page: /blog/*}", base, false},
		{"{page_regex: '^/products/(outdoor|home)/'}", base, true},
		{"{page_regex: '^/blog'}", base, false},
		{"{channel: paid_*}", base, true},
		{"{channel: organic}", base, false},
		{"{campaign: spring-26}", base, true},
		{"{campaign: fall-*}", base, false},
		{"{type: survey, value: {min: 9}}", withValue(9), true},
		{"{type: survey, value: {min: 9}}", withValue(8), false},
		{"{type: survey, value: {min: 0, max: 6}}", withValue(6), true},
		{"{type: survey, value: {max: 6}}", withValue(math.NaN()), false},
	}
	for _, tt := range tests {
		t.Run(tt.match, func(t *testing.T) {
			sc := mustParse(t, "name: t\nversion: '1'\nrules:\n  - {name: r, points: 1, event: "+tt.match+"}\n")
			res, err := sc.Score(Input{AsOf: asOf, Events: []Event{tt.e}})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Total == 1; got != tt.want {
				t.Errorf("matched = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "/a/b", true}, {"/a*", "/a", true}, {"/a*c", "/abcbc", true},
		{"/a*c", "/abcb", false}, {"?", "é", true}, {"a?c", "ac", false}, {"*a*b*", "xxaxxbxx", true},
		{"*a*b", "xxaxxbxx", false}, {"**", "x", true},
	}
	for _, tt := range tests {
		if got := newGlob(tt.pat).match(tt.s); got != tt.want {
			t.Errorf("glob %q on %q = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

func TestCaps(t *testing.T) {
	rules := `
rules:
  - {name: f1, points: 30, when: 'a == 1'}
  - {name: f2, points: 30, when: 'b == 1'}
  - {name: e1, points: 25, event: {type: chat}}
  - {name: e2, points: 25, event: {type: webinar}}
  - {name: neg, points: -40, event: {type: email_unsubscribe}}
lifecycle:
  stages:
    - {name: lead, points: 5}
    - {name: customer, points: 40}
`
	all := Input{AsOf: asOf, Attributes: map[string]any{"a": 1, "b": 1, "stage": "customer"}, Events: append(evs("chat", 1), ev("webinar", 1))}
	tests := []struct {
		name             string
		caps             string
		in               Input
		fit, eng, life   int
		capContributions int
	}{
		{"no caps", "{}", all, 60, 50, 40, 0},
		{"fit cap", "{fit: 40}", all, 40, 50, 40, 1},
		{"all dimension caps", "{fit: 40, engagement: 30, lifecycle: 10}", all, 40, 30, 10, 3},
		{"cap not binding", "{fit: 100, total: 500}", all, 60, 50, 40, 0},
		{"total cap takes engagement first", "{total: 120}", all, 60, 20, 40, 1},
		{"total cap spills to fit", "{total: 70}", all, 30, 0, 40, 2},
		{"total cap spills to lifecycle", "{total: 10}", all, 0, 0, 10, 3},
		{"total cap zero", "{total: 0}", all, 0, 0, 0, 3},
		{"negative sums are not capped", "{engagement: 10, total: 10}",
			Input{AsOf: asOf, Events: evs("email_unsubscribe", 1)}, 0, -40, 0, 0},
		{"negative engagement, total cap from fit", "{total: 10}",
			Input{AsOf: asOf, Attributes: map[string]any{"a": 1, "b": 1}, Events: evs("email_unsubscribe", 1)}, 50, -40, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := mustParse(t, "name: t\nversion: '1'\ncaps: "+tt.caps+rules)
			res, err := sc.Score(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, res)
			if res.Fit != tt.fit || res.Engagement != tt.eng || res.Lifecycle != tt.life {
				t.Errorf("fit/engagement/lifecycle = %d/%d/%d, want %d/%d/%d (%+v)", res.Fit, res.Engagement, res.Lifecycle, tt.fit, tt.eng, tt.life, res.Contributions)
			}
			n := 0
			for _, c := range res.Contributions {
				if c.Rule == "cap:fit" || c.Rule == "cap:engagement" || c.Rule == "cap:lifecycle" || c.Rule == "cap:total" {
					n++
				}
			}
			if n != tt.capContributions {
				t.Errorf("%d cap contributions, want %d: %+v", n, tt.capContributions, res.Contributions)
			}
		})
	}
}

func TestStagesAndLifecycle(t *testing.T) {
	sc := mustParse(t, `
name: t
version: '1'
thresholds: [{stage: cold}, {stage: lead, points: 10}, {stage: mql, points: 30}, {stage: sql, points: 60}]
lifecycle:
  attribute: lifecycle_stage
  stages:
    - {name: subscriber, points: 0}
    - {name: lead, points: 5}
    - {name: opportunity, points: 10, when: 'deal_open == true'}
    - {name: customer, points: 20, event: {type: purchase}}
rules:
  - {name: points, points: 1, event: {type: chat}, repeatable: true}
`)
	tests := []struct {
		name      string
		chats     int
		attrs     map[string]any
		events    []Event
		stage     string
		mql       bool
		lifecycle int
	}{
		{"below first", 0, nil, nil, "cold", false, 0},
		{"first threshold", 10, nil, nil, "lead", false, 0},
		{"just under mql", 29, nil, nil, "lead", false, 0},
		{"mql", 30, nil, nil, "mql", true, 0},
		{"sql is past mql", 65, nil, nil, "sql", true, 0},
		{"stage attribute", 0, map[string]any{"lifecycle_stage": "Lead"}, nil, "cold", false, 5},
		{"unknown stage attribute", 0, map[string]any{"lifecycle_stage": "prospect"}, nil, "cold", false, 0},
		{"stage condition", 0, map[string]any{"lifecycle_stage": "lead", "deal_open": true}, nil, "lead", false, 10},
		// Forward only: a customer whose record still says "lead" stays a customer.
		{"stage event beats attribute", 0, map[string]any{"lifecycle_stage": "lead", "deal_open": true}, evs("purchase", 100), "lead", false, 20},
		{"attribute beyond events", 0, map[string]any{"lifecycle_stage": "customer"}, nil, "lead", false, 20},
		{"purchase after as-of", 0, map[string]any{"lifecycle_stage": "lead"}, evs("purchase", -1), "cold", false, 5},
		{"lifecycle lifts the stage", 25, map[string]any{"lifecycle_stage": "lead"}, nil, "mql", true, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := tt.events
			for i := range tt.chats {
				events = append(events, ev("chat", float64(i+1)))
			}
			res, err := sc.Score(Input{AsOf: asOf, Attributes: tt.attrs, Events: events})
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, res)
			if res.Stage != tt.stage || res.MQL != tt.mql || res.Lifecycle != tt.lifecycle {
				t.Errorf("stage %q mql %v lifecycle %d, want %q %v %d", res.Stage, res.MQL, res.Lifecycle, tt.stage, tt.mql, tt.lifecycle)
			}
		})
	}
}

func TestGates(t *testing.T) {
	sc := mustParse(t, `
name: t
version: '1'
rules:
  - {name: fit, points: 20, when: 'age > 30'}
  - {name: chat, points: 15, event: {type: chat}}
  - {name: competitor, gate: true, when: {attribute: email, matches: '@rival\.com$'}}
  - {name: bounced, gate: true, event: {type: email_unsubscribe}, min_count: 2}
`)
	tests := []struct {
		name   string
		in     Input
		by     string
		before int // total without the gate
	}{
		{"none", Input{AsOf: asOf, Attributes: map[string]any{"age": 40}, Events: evs("chat", 1)}, "", 35},
		{"attribute gate", Input{AsOf: asOf, Attributes: map[string]any{"age": 40, "email": "x@rival.com"}, Events: evs("chat", 1)}, "competitor", 35},
		{"event gate needs two", Input{AsOf: asOf, Attributes: map[string]any{"age": 40}, Events: evs("email_unsubscribe", 1)}, "", 20},
		{"event gate", Input{AsOf: asOf, Events: append(evs("email_unsubscribe", 1, 2), ev("chat", 1))}, "bounced", 15},
		{"first gate named", Input{AsOf: asOf, Attributes: map[string]any{"email": "x@rival.com"}, Events: evs("email_unsubscribe", 1, 2)}, "competitor", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sc.Score(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, res)
			if res.DisqualifiedBy != tt.by || res.Disqualified != (tt.by != "") {
				t.Fatalf("disqualified %v by %q, want %q", res.Disqualified, res.DisqualifiedBy, tt.by)
			}
			ruleSum := 0
			for _, c := range res.Contributions {
				if c.Rule != tt.by {
					ruleSum += c.Points
				}
			}
			if ruleSum != tt.before {
				t.Errorf("rules still explain %d points, want %d", ruleSum, tt.before)
			}
			if tt.by != "" && (res.Total != 0 || res.MQL || res.Stage != StageDisqualified) {
				t.Errorf("disqualified result: %+v", res)
			}
		})
	}
}

func TestAudiences(t *testing.T) {
	set, err := Parse([]byte(`
scorecards:
  - {name: b2b-software, version: '1', audience: 'account_type == "b2b" and product_line == "software"', rules: [{name: r, points: 1, when: 'x missing'}]}
  - {name: b2b, version: '1', audience: {attribute: account_type, equals: b2b}, rules: [{name: r, points: 2, when: 'x missing'}]}
  - {name: b2c-young, version: '2', audience: [{attribute: account_type, equals: b2c}, {attribute: age, max: 30}], rules: [{name: r, points: 3, when: 'x missing'}]}
  - {name: fallback, version: '1', rules: [{name: r, points: 4, when: 'x missing'}]}
`), "inline.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attrs map[string]any
		want  string
	}{
		{map[string]any{"account_type": "b2b", "product_line": "software"}, "b2b-software"},
		{map[string]any{"account_type": "b2b", "product_line": "hardware"}, "b2b"},
		{map[string]any{"account_type": "b2b"}, "b2b"},
		{map[string]any{"account_type": "b2c", "age": 25}, "b2c-young"},
		{map[string]any{"account_type": "b2c", "age": 45}, "fallback"},
		{map[string]any{"account_type": "b2c"}, "fallback"},
		{nil, "fallback"},
	}
	for _, tt := range tests {
		res, err := set.Score(Input{AsOf: asOf, Attributes: tt.attrs})
		if err != nil {
			t.Fatal(err)
		}
		if res.Scorecard != tt.want {
			t.Errorf("%v: scored by %s, want %s", tt.attrs, res.Scorecard, tt.want)
		}
	}
	_, err = set.Score(Input{Attributes: map[string]any{"age": "old", "account_type": "b2c"}})
	if err == nil {
		t.Error("ordering a string against a number: want an error")
	}
}

// TestContributionsAddUp is the property test: whatever the scorecard and the profile,
// contributions add up to the total and the dimensions to the total.
func TestContributionsAddUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2026))
	types := CanonicalEventTypes()
	pages := []string{"/pricing", "/directions", "/careers", "/blog/a", "/products/home/x", ""}
	for i := range 300 {
		cfg := randomConfig(rng, types, pages)
		sc, err := New(cfg)
		if err != nil {
			t.Fatalf("random config %d: %v", i, err)
		}
		for range 20 {
			in := randomInput(rng, types, pages)
			res, err := sc.Score(in)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, res)
			if t.Failed() {
				t.Fatalf("config %+v\ninput %+v\nresult %+v", cfg, in, res)
			}
		}
	}
}

// randomInput is a profile with attributes a and b (which randomConfig's conditions read) and
// up to 59 events of the given types and pages within 190 days before asOf (some after it).
func randomInput(rng *rand.Rand, types, pages []string) Input {
	in := Input{AsOf: asOf, Attributes: map[string]any{"a": rng.IntN(3), "b": rng.Float64()}}
	for range rng.IntN(60) {
		in.Events = append(in.Events, Event{
			TS:   asOf.Add(time.Duration(rng.Float64()*200-190) * 24 * time.Hour),
			Type: types[rng.IntN(len(types))], Page: pages[rng.IntN(len(pages))], Value: rng.Float64() * 10,
		})
	}
	return in
}

func randomConfig(rng *rand.Rand, types, pages []string) Config {
	cfg := Config{Name: "random", Version: "1"}
	capOf := func() *int {
		if rng.IntN(2) == 0 {
			return nil
		}
		v := rng.IntN(60)
		return &v
	}
	cfg.Caps = Caps{Fit: capOf(), Engagement: capOf(), Lifecycle: capOf(), Total: capOf()}
	for j := range rng.IntN(4) {
		cfg.Lifecycle.Stages = append(cfg.Lifecycle.Stages, LifecycleStage{
			Name: string(rune('p' + j)), Points: rng.IntN(30),
			Event: &EventMatch{Types: []string{types[rng.IntN(len(types))]}},
		})
	}
	dims := []string{Fit, Engagement, Lifecycle}
	for j := range 1 + rng.IntN(8) {
		r := RuleConfig{Name: string(rune('a' + j)), Points: rng.IntN(41) - 20, Dimension: dims[rng.IntN(3)]}
		if rng.IntN(3) == 0 {
			r.When, _ = ParseExpr(`a == 1 or b > 0.5`)
		} else {
			r.Event = &EventMatch{Types: []string{types[rng.IntN(len(types))]}, Page: pages[rng.IntN(len(pages))]}
			r.Repeatable = rng.IntN(2) == 0
			if r.Repeatable && rng.IntN(2) == 0 {
				r.PerDayCap = 1 + rng.IntN(3)
			}
			switch rng.IntN(3) {
			case 0:
				r.Decay.HalfLife = time.Duration(1+rng.IntN(60)) * 24 * time.Hour
			case 1:
				r.Decay.Window = time.Duration(1+rng.IntN(60)) * 24 * time.Hour
			}
		}
		if rng.IntN(12) == 0 {
			r.Gate, r.Points, r.Repeatable, r.PerDayCap = true, 0, false, 0
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg
}

// TestNeedsLeavesScoresUnchanged is the property Set.Needs promises: scoring without the
// events it rejects gives the same result, for random scorecards and profiles.
func TestNeedsLeavesScoresUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2026))
	types := CanonicalEventTypes()
	pages := []string{"/pricing", "/directions", "/careers", "/blog/a", "/products/home/x", ""}
	patterns := append(slices.Clone(pages), "/products/*", "/c*", "/blog/?")
	dropped := 0
	for i := range 200 {
		var cfgs []Config
		for j := range 1 + rng.IntN(2) {
			cfg := randomConfig(rng, types, patterns)
			cfg.Name = fmt.Sprintf("random%d", j)
			if j == 0 {
				cfg.Audience, _ = ParseExpr(`a == 1`)
			}
			cfgs = append(cfgs, cfg)
		}
		set, err := NewSet(cfgs...)
		if err != nil {
			t.Fatalf("random set %d: %v", i, err)
		}
		for range 20 {
			in := randomInput(rng, types, pages)
			kept := in
			kept.Events = nil
			for _, e := range in.Events {
				if set.Needs(e.Type, e.Page) {
					kept.Events = append(kept.Events, e)
				}
			}
			dropped += len(in.Events) - len(kept.Events)
			want, err1 := set.Score(in)
			got, err2 := set.Score(kept)
			if !reflect.DeepEqual(want, got) || (err1 == nil) != (err2 == nil) {
				t.Fatalf("set %d: with all events %+v (%v), with the needed ones %+v (%v)", i, want, err1, got, err2)
			}
		}
	}
	if dropped == 0 {
		t.Fatal("Needs rejected no event: the property was not exercised")
	}
}

func TestNeedsDealership(t *testing.T) {
	set := loadFile(t, dealershipFile)
	for _, c := range []struct {
		typ, page string
		want      bool
	}{
		{"page_view", "/directions", true},
		{"page_view", "/careers/sales", true},
		{"page_view", "/pricing", false},
		{"form_submit", "/models/suv-x", true},
		{"form_submit", "/contact", false},
		{"email_open", "", true},
		{"purchase", "", false},
		{"webinar", "/models/suv-x", false},
	} {
		if got := set.Needs(c.typ, c.page); got != c.want {
			t.Errorf("Needs(%q, %q) = %v, want %v", c.typ, c.page, got, c.want)
		}
	}
}
