package serving

import (
	"context"
	"math"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// TestPlanRecord checks that records built through cached column positions are Record's,
// also when the schema or the names change between calls.
func TestPlanRecord(t *testing.T) {
	on := features.NewOnline(features.Options{Attributes: []features.Attribute{{Name: "plan", Categorical: true}, {Name: "seats"}}})
	p := features.Profile{ContactID: "c1", AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Attributes: map[string]any{"plan": "pro", "seats": 3.0},
		Events:     []features.Event{{TS: time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC), Type: "page_view", Page: "/pricing", Value: math.NaN()}}}
	row, err := on.Compute(p)
	if err != nil {
		t.Fatal(err)
	}
	other, err := features.ComputeProfile(p, features.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var plan atomic.Pointer[recordPlan]
	for _, c := range []struct {
		row   features.Row
		names []string
	}{
		{row, []string{"plan", "seats", "n_page_view_30d", "nope", "contact_id", "merged_ids", "recency_chat_days"}},
		{row, []string{"plan", "seats", "n_page_view_30d", "nope", "contact_id", "merged_ids", "recency_chat_days"}},
		{row, []string{"seats", "page_pricing_30d"}},
		{other, []string{"seats", "page_pricing_30d"}},
		{features.Row{}, []string{"seats"}},
	} {
		if got, want := planRecord(c.row, c.names, &plan), Record(c.row, c.names); !reflect.DeepEqual(got, want) {
			t.Errorf("%v: got %v, want %v", c.names, got, want)
		}
	}
}

// TestValuesMatchRecord checks that the positional record is Record's, value for value:
// numbers, categories, nulls, names the row does not have, id-list columns.
func TestValuesMatchRecord(t *testing.T) {
	on := features.NewOnline(features.Options{Attributes: []features.Attribute{{Name: "plan", Categorical: true}, {Name: "seats"}}})
	p := features.Profile{ContactID: "c1", AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Attributes: map[string]any{"plan": "pro", "seats": 3.0},
		Events:     []features.Event{{TS: time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC), Type: "page_view", Page: "/pricing", Value: math.NaN()}}}
	row, err := on.Compute(p)
	if err != nil {
		t.Fatal(err)
	}
	noPlan := p
	noPlan.Attributes = map[string]any{"seats": 3.0}
	row2, err := on.Compute(noPlan)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"plan", "seats", "n_page_view_30d", "nope", "contact_id", "merged_ids", "recency_chat_days", "preferred_category"}
	for _, r := range []features.Row{row, row2, {}} {
		var plan atomic.Pointer[recordPlan]
		for range 2 { // without, then with, the plan's positions
			v := values{names: names, num: make([]float64, len(names)), str: make([]string, len(names))}
			fillValues(v, r, &plan)
			if got, want := v.record(), Record(r, names); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		}
	}
}

// TestScorerReusesInputs scores profiles in turn with a scorer that reuses its inputs, and
// compares every response with a fresh computation; the two classifiers read the same
// inputs, one by position, one as a map.
func TestScorerReusesInputs(t *testing.T) {
	names := []string{"n_events_30d", "n_page_view_30d", "seats", "plan", "nope", "contact_id"}
	fingerprint := func(rec map[string]any) (float64, []Reason, error) {
		var rs []Reason
		for _, n := range names {
			rs = append(rs, Reason{Feature: n, Value: rec[n]})
		}
		return float64(len(rec)), rs, nil
	}
	set := &ModelSet{
		FeatureOptions: features.Options{Attributes: []features.Attribute{{Name: "plan", Categorical: true}, {Name: "seats"}}},
		Conversion: &RecordClassifier{Inputs: names, PredictValues: func(num []float64, str []string) (float64, []Reason, error) {
			return fingerprint(values{names: names, num: num, str: str}.record())
		}},
		Churn: &RecordClassifier{Inputs: names, PredictRecord: fingerprint},
	}
	set.online = features.NewOnline(set.FeatureOptions)
	asOf := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	profiles := []features.Profile{
		{ContactID: "a", AsOf: asOf, Attributes: map[string]any{"plan": "pro", "seats": 3.0},
			Events: []features.Event{{TS: asOf.Add(-time.Hour), Type: "page_view", Value: math.NaN()}}},
		{ContactID: "b", AsOf: asOf, Attributes: map[string]any{"seats": 7.0}},
		{ContactID: "c", AsOf: asOf, Attributes: map[string]any{"plan": "team"},
			Events: []features.Event{{TS: asOf.Add(-time.Hour), Type: "email_open", Value: math.NaN()}, {TS: asOf.Add(-2 * time.Hour), Type: "page_view", Value: math.NaN()}}},
	}
	s := NewScorer(Static{Set: set}, nil)
	for i := range 12 {
		p := profiles[i%len(profiles)]
		got, err := s.Score(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewScorer(Static{Set: set}, nil).Score(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got.Conversion.Reasons, got.Churn.Reasons) {
			t.Fatalf("%s: reused %+v %+v\nfresh %+v %+v", p.ContactID, got.Conversion, got.Churn, want.Conversion, want.Churn)
		}
	}
}
