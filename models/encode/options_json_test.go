package encode

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOptionsJSON: options are written in snake_case; payloads of an older build, with the
// Go field names, read the same; unknown names are refused.
func TestOptionsJSON(t *testing.T) {
	want := Options{MaxLevels: 12, MinCount: 3, TargetAbove: 40, Folds: 4, Smoothing: 10, Log1p: true}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"max_levels":12`) || !strings.Contains(s, `"target_above":40`) || strings.Contains(s, "MaxLevels") {
		t.Fatalf("marshalled %s", s)
	}
	legacy := `{"MaxLevels":12,"MinCount":3,"TargetAbove":40,"Folds":4,"Smoothing":10,"Log1p":true}`
	for name, in := range map[string]string{"current": string(b), "legacy": legacy} {
		var got Options
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	var o Options
	if err := json.Unmarshal([]byte(`{"max_levls":3}`), &o); err == nil {
		t.Error("an unknown option name was accepted")
	}
}
