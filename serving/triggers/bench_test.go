package triggers

import (
	"testing"
)

// benchScore is a score response with every block, as the serving routes write it.
var benchScore = []byte(`{"contact_id":"c-1042","as_of":"2026-03-10T14:05:09Z",
"rules":{"scorecard":"dealership","version":"3","total":40,"fit":0,"engagement":40,"lifecycle":0,"grade":"D2","stage":"mql","mql":true,"disqualified":false,"disqualified_by":"","contributions":[{"rule":"vehicle-interest-form","dimension":"engagement","points":10},{"rule":"follow-up-email-open","dimension":"engagement","points":3},{"rule":"follow-up-email-click","dimension":"engagement","points":7},{"rule":"directions-page","dimension":"engagement","points":20}]},
"conversion":{"probability":0.31,"decile":2,"model_version":"7","reasons":[{"feature":"events_30d","value":4,"effect":0.8},{"feature":"recency_days","value":1,"effect":0.4}]},
"churn":{"probability":0.12,"decile":8,"model_version":"7","reasons":[{"feature":"events_30d","value":4,"effect":-0.6}]},
"ltv":{"p_alive":0.93,"expected_purchases":1.2,"expected_spend_per_purchase":410.5,"clv":2380.2,"horizon_days":365,"model_version":"3"},
"persona":{"id":2,"name":"family-buyers","distance":0.82},"unavailable":[]}`)

// BenchmarkRescore measures the per-record cost triggers add to ingestion: reading the new
// score response into a State and evaluating every trigger of the dealership file (no
// transition fires, the common case).
func BenchmarkRescore(b *testing.B) {
	c, err := ParseEnv(mustRead(b, "../../data/triggers/dealership.yaml"), "", testEnv)
	if err != nil {
		b.Fatal(err)
	}
	old, err := c.State(benchScore)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.State(benchScore)
		if err != nil {
			b.Fatal(err)
		}
		if len(c.Evaluate(old, s)) != 0 {
			b.Fatal("a transition fired")
		}
	}
}

// BenchmarkNewDeliveries measures building and encoding the records of one firing.
func BenchmarkNewDeliveries(b *testing.B) {
	c, err := ParseEnv(mustRead(b, "../../data/triggers/dealership.yaml"), "", testEnv)
	if err != nil {
		b.Fatal(err)
	}
	ts := c.Evaluate(rules("lead", 20), rules("mql", 40))
	b.ReportAllocs()
	for b.Loop() {
		if len(c.NewDeliveries("c-1042", ts, benchScore, t0)) != 2 {
			b.Fatal("want 2 deliveries")
		}
	}
}
