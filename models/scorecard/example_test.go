package scorecard_test

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/propensity-dev/propensity/models/scorecard"
)

const dealership = `
name: dealership
version: "3"
thresholds: [{stage: lead}, {stage: mql, points: 30}, {stage: sql, points: 60}]
rules:
  - {name: vehicle-interest-form, points: 10, event: {type: form_submit, page: "/models/*"}}
  - {name: follow-up-email-open, points: 3, event: {type: email_open}}
  - {name: follow-up-email-click, points: 7, event: {type: email_click}}
  - {name: directions-page, points: 20, event: {type: page_view, page: /directions}}
  - {name: careers-page, points: -10, event: {type: page_view, page: "/careers*"}}
  - {name: student, gate: true, when: 'occupation == "student"'}
`

func at(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }

func visitor() scorecard.Input {
	return scorecard.Input{
		ContactID:  "c-1",
		AsOf:       at("2026-03-10T00:00:00Z"),
		Attributes: map[string]any{"occupation": "retired"},
		Events: []scorecard.Event{
			{TS: at("2026-03-01T10:00:00Z"), Type: "form_submit", Page: "/models/suv-x", Value: math.NaN()},
			{TS: at("2026-03-02T08:00:00Z"), Type: "email_open", Value: math.NaN()},
			{TS: at("2026-03-02T08:01:00Z"), Type: "email_click", Value: math.NaN()},
			{TS: at("2026-03-05T19:00:00Z"), Type: "page_view", Page: "/directions", Value: math.NaN()},
			{TS: at("2026-03-11T09:00:00Z"), Type: "page_view", Page: "/careers"}, // after as-of: ignored
		},
	}
}

func ExampleParse() {
	set, err := scorecard.Parse([]byte(dealership), "dealership.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := set.Score(visitor())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Total, res.Stage, res.MQL, res.Grade)
	fmt.Println(res.TopContributions(2))
	// Output:
	// 40 mql true B2
	// directions-page:+20 vehicle-interest-form:+10
}

func ExampleParseConfigs() {
	_, err := scorecard.ParseConfigs([]byte(`
name: typo
version: "1"
rules:
  - {name: form, points: 10, event: {type: form_sumbit}}
  - {name: open, pionts: 3, event: {type: email_open}}
`), "typo.yaml")
	fmt.Println(err)
	// Output:
	// typo.yaml:5: rules[0].event.type[0]: unknown event type "form_sumbit" (want one of page_view, email_open, email_click, email_unsubscribe, form_submit, download, webinar, chat, social, trial_start, survey, purchase, or declare it under event_types)
	// typo.yaml:6: rules[1].pionts: unknown field "pionts" (want one of decay, dimension, event, gate, min_count, name, per_day_cap, points, repeatable, when, within)
}

func ExampleNew() {
	when, _ := scorecard.ParseExpr(`age >= 55 and net_worth > 1000000`)
	sc, err := scorecard.New(scorecard.Config{
		Name:    "adviser",
		Version: "1",
		Rules: []scorecard.RuleConfig{
			{Name: "wealthy-pre-retiree", Points: 40, When: when},
			{Name: "seminar", Points: 15, Event: &scorecard.EventMatch{Types: []string{"webinar"}},
				Decay: scorecard.Decay{HalfLife: 30 * 24 * time.Hour}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	asOf := at("2026-03-10T00:00:00Z")
	res, _ := sc.Score(scorecard.Input{
		AsOf:       asOf,
		Attributes: map[string]any{"age": 60, "net_worth": 2.5e6},
		Events:     []scorecard.Event{{TS: asOf.Add(-30 * 24 * time.Hour), Type: "webinar", Value: math.NaN()}},
	})
	b, _ := json.Marshal(res.Contributions)
	fmt.Println(res.Fit, res.Engagement, res.Total)
	fmt.Println(string(b))
	// Output:
	// 40 8 48
	// [{"rule":"wealthy-pre-retiree","dimension":"fit","points":40,"count":1},{"rule":"seminar","dimension":"engagement","points":8,"count":1}]
}

func ExampleScorecard_Score() {
	set, _ := scorecard.Parse([]byte(dealership), "dealership.yaml")
	in := visitor()
	in.Attributes["occupation"] = "student"
	res, _ := set.Lookup("dealership").Score(in)
	fmt.Println(res.Total, res.Disqualified, res.DisqualifiedBy, res.MQL, res.Stage)
	// Output:
	// 0 true student false disqualified
}

func ExampleSet_Select() {
	set, _ := scorecard.Parse([]byte(`
scorecards:
  - {name: b2b, version: "1", audience: 'account_type == "b2b"', rules: [{name: r, points: 1, when: 'x missing'}]}
  - {name: consumer, version: "1", rules: [{name: r, points: 1, when: 'x missing'}]}
`), "cards.yaml")
	for _, t := range []string{"b2b", "b2c"} {
		sc, _ := set.Select(map[string]any{"account_type": t})
		fmt.Println(t, "->", sc.Name())
	}
	// Output:
	// b2b -> b2b
	// b2c -> consumer
}

func ExampleParseDuration() {
	d, _ := scorecard.ParseDuration("2w")
	fmt.Println(d)
	// Output: 336h0m0s
}

func ExampleAnd() {
	a, _ := scorecard.ParseExpr(`p_alive < 0.3`)
	b, _ := scorecard.ParseExpr(`clv > 200 or vip == true`)
	fmt.Println(scorecard.And(a, b))
	// Output: p_alive < 0.3 and (clv > 200 or vip == true)
}

func ExampleLoad() {
	set, err := scorecard.Load("testdata/full.good.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, sc := range set.Scorecards() {
		fmt.Println(sc.Name(), sc.Version())
	}
	// Output:
	// b2b 2026.03
	// everyone 1
}

func ExampleConfig_Validate() {
	cfg := scorecard.Config{
		Name:       "broken",
		Thresholds: []scorecard.Threshold{{Stage: "lead"}, {Stage: "mql", Points: 30}, {Stage: "sql", Points: 20}},
		Rules:      []scorecard.RuleConfig{{Name: "r", Points: 5, Event: &scorecard.EventMatch{Types: []string{"form_sumbit"}}}},
	}
	fmt.Println(cfg.Validate())
	// Output:
	// version: a scorecard needs a version string
	// thresholds[2].points: threshold "sql" at 20 must be above "mql" at 30 (list stages from lowest to highest)
	// rules[0].event.type[0]: unknown event type "form_sumbit" (want one of page_view, email_open, email_click, email_unsubscribe, form_submit, download, webinar, chat, social, trial_start, survey, purchase, or declare it under event_types)
}

func ExampleCanonicalEventTypes() {
	fmt.Println(len(scorecard.CanonicalEventTypes()), scorecard.CanonicalEventTypes()[0])
	// Output: 12 page_view
}
