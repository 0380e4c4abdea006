package eventtype_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/eventtype"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// TestUsersAgree ties the one list to every package that exposes or depends on it: the
// feature schema's columns, the scorecard validator and the synthetic generator. The
// package-internal orders (features' type codes, synth's event constants) are checked by
// TestTypeCodes in features and TestEventCodes in data/synth.
func TestUsersAgree(t *testing.T) {
	want := eventtype.Canonical()
	if len(want) != eventtype.N {
		t.Fatalf("Canonical has %d types, N = %d", len(want), eventtype.N)
	}
	seen := map[string]bool{}
	for _, ty := range want {
		if ty == "" || seen[ty] {
			t.Errorf("type %q is empty or listed twice", ty)
		}
		seen[ty] = true
	}
	for name, got := range map[string][]string{
		"features.CanonicalTypes":       features.CanonicalTypes(),
		"scorecard.CanonicalEventTypes": scorecard.CanonicalEventTypes(),
		"synth.EventTypes":              synth.EventTypes(),
	} {
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	t.Run("feature columns", func(t *testing.T) {
		var cols []string
		for _, c := range features.SchemaFor(features.Options{}).Columns {
			cols = append(cols, c.Name)
		}
		// The canonical count columns come in type order, each with its three windows.
		perType := regexp.MustCompile(`^n_([a-z_]+)_(7|30|90)d$`)
		var counts []string
		for _, c := range cols {
			if m := perType.FindStringSubmatch(c); m != nil && m[1] != "events" && m[1] != "other_events" {
				counts = append(counts, c)
			}
		}
		var wantCounts []string
		for _, ty := range want {
			for _, w := range []int{7, 30, 90} {
				wantCounts = append(wantCounts, fmt.Sprintf("n_%s_%dd", ty, w))
			}
		}
		if !slices.Equal(counts, wantCounts) {
			t.Errorf("count columns %v, want %v", counts, wantCounts)
		}
		for _, ty := range want {
			for _, c := range []string{"decayed_" + ty, "recency_" + ty + "_days"} {
				if !slices.Contains(cols, c) {
					t.Errorf("schema has no column %s", c)
				}
			}
		}
	})

	t.Run("scorecard accepts exactly the canonical types", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("name: types\nversion: \"1\"\nrules:\n")
		for i, ty := range want {
			fmt.Fprintf(&b, "  - {name: r%d, points: 1, event: {type: %s}}\n", i, ty)
		}
		if _, err := scorecard.ParseConfigs([]byte(b.String()), "types.yml"); err != nil {
			t.Errorf("a scorecard naming every canonical type: %v", err)
		}
		bad := "name: types\nversion: \"1\"\nrules:\n  - {name: r, points: 1, event: {type: email_send}}\n"
		if _, err := scorecard.ParseConfigs([]byte(bad), "bad.yml"); !errors.Is(err, scorecard.ErrEventType) {
			t.Errorf("a scorecard naming email_send undeclared: err = %v, want ErrEventType", err)
		}
	})
}
