package features

import (
	"testing"

	"github.com/propensity-dev/propensity/internal/eventtype"
)

// TestTypeCodes ties TypeCode's switch (written out for speed) and the named codes the
// accumulators use to the canonical list: code i is the i-th canonical type, and the columns
// n_<type>_<N>d, decayed_<type> and recency_<type>_days are written in that order.
func TestTypeCodes(t *testing.T) {
	types := eventtype.Canonical()
	if nTypes != len(types) {
		t.Fatalf("nTypes = %d, want %d", nTypes, len(types))
	}
	for i, ty := range types {
		if got := TypeCode([]byte(ty)); got != i {
			t.Errorf("TypeCode(%q) = %d, want %d", ty, got, i)
		}
	}
	for code, ty := range map[int]string{typeSurvey: "survey", 1: "email_open", 2: "email_click"} {
		if types[code] != ty {
			t.Errorf("code %d is %q in the canonical list, the accumulators take it for %q", code, types[code], ty)
		}
	}
	for _, ty := range []string{"email_send", "email_sent", "email_delivered"} {
		if got := TypeCode([]byte(ty)); got != typeSend {
			t.Errorf("TypeCode(%q) = %d, want typeSend", ty, got)
		}
	}
	if got := TypeCode([]byte("sms_reply")); got != typeOther {
		t.Errorf("TypeCode(sms_reply) = %d, want typeOther", got)
	}
}
