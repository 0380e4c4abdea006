package serving

import (
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
