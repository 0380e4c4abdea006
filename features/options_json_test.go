package features

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestOptionsJSON: options are written in snake_case and read back; those recorded by
// artifacts of an older build, under the Go field names, read the same.
func TestOptionsJSON(t *testing.T) {
	want := Options{
		AsOf:              time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Horizon:           90 * 24 * time.Hour,
		HalfLife:          30 * 24 * time.Hour,
		ProductCategories: []string{"fashion", "home"},
		Attributes:        []Attribute{{Name: "age"}, {Name: "gender", Categorical: true}},
		StrictIdentity:    true,
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"as_of", "horizon_ns", "half_life_ns", "mapping", "product_categories", "attributes", "strict_identity"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	legacy := `{"AsOf":"2026-01-01T00:00:00Z","Horizon":7776000000000000,"HalfLife":2592000000000000,
		"Mapping":{},"ProductCategories":["fashion","home"],
		"Attributes":[{"name":"age"},{"name":"gender","categorical":true}],"StrictIdentity":true}`
	for name, in := range map[string][]byte{"current": b, "legacy": []byte(legacy)} {
		var got Options
		if err := json.Unmarshal(in, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}
