package persona

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		dim         string
		z, val, pop float64
		want        string
	}{
		{"decayed_email_open/decayed_events", 1.2, 0.4, 0.2, "opens many emails"},
		{"decayed_social/decayed_events", 1.9, 0.3, 0.05, "active on social media"},
		{"decayed_webinar/decayed_events", -0.8, 0.01, 0.05, "seldom attends webinars"},
		{"account_type=business", 1.1, 0.8, 0.3, "mostly business accounts"},
		{"account_type=business", 0.6, 0.4, 0.3, "more often business accounts"},
		{"account_type=consumer", -1, 0.1, 0.6, "seldom consumer accounts"},
		{"occupation=retired", 1, 0.7, 0.1, "mostly retired (occupation)"},
		{"purchase_amount_sum/purchase_count", 0.9, 80, 50, "spends above average per order"},
		{"purchase_amount_sum/purchase_count", -0.9, 20, 50, "spends below average per order"},
		{"days_since_last_event", 1.4, 120, 40, "quiet for 90+ days"},
		{"days_since_last_event", -1, 11, 40, "active in the last 14 days"},
		{"days_since_last_purchase", 1, 400, 100, "no purchase for 365+ days"},
		{"n_email_click_90d/n_email_open_90d", 1, 0.6, 0.2, "clicks most emails they open"},
		{"n_email_click_90d/n_email_open_90d", -1, 0.05, 0.2, "opens emails but seldom clicks"},
		{"spend_software/purchase_amount_sum", 1, 0.7, 0.2, "spends mostly on software"},
		{"page_careers_90d/n_page_view_90d", 1, 0.3, 0.05, "reads careers pages"},
		{"n_email_click_30d", 1, 3, 1, "clicks through emails in the last 30 days"},
		{"satisfaction_last", -1, 2, 4, "less satisfied than most"},
		{"tenure_days", 1, 800, 300, "long-standing, about 2 years on average"},
		{"age", -1, 31.4, 45, "younger"},
		{"purchase_count", -1, 0.1, 1.5, "mostly not customers yet"},
		{"p_churn", 1, 0.6, 0.3, "at risk of leaving"},
		// Unknown columns fall back on their name in words, never the raw name.
		{"Detergents_Paper", 1, 9, 3, "detergents paper above average"},
		{"foo_bar/baz_qux", -1, 1, 2, "foo bar per baz qux below average"},
		{"n_logins_7d", 1, 5, 1, "many logins in the last 7 days"},
	} {
		t.Run(tc.dim, func(t *testing.T) {
			got := Label(tc.dim, tc.z, tc.val, tc.pop)
			if got != tc.want {
				t.Errorf("Label(%q, %v) = %q, want %q", tc.dim, tc.z, got, tc.want)
			}
			if strings.ContainsAny(got, "_/") {
				t.Errorf("Label(%q) = %q reads as a column name", tc.dim, got)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	for dim, want := range map[string]string{
		"decayed_social/decayed_events":      "share of recent activity: social",
		"page_careers_90d/n_page_view_90d":   "share of page views (last 90 days): careers pages",
		"n_email_click_90d/n_email_open_90d": "email clicks per open (last 90 days)",
		"purchase_amount_sum/purchase_count": "average order value",
		"spend_software/purchase_amount_sum": "share of spend: software",
		"account_type=business":              "share with account type business",
		"n_events_90d":                       "number of events (last 90 days)",
		"satisfaction_last":                  "satisfaction last",
	} {
		if got := Describe(dim); got != want {
			t.Errorf("Describe(%q) = %q, want %q", dim, got, want)
		}
	}
}

func TestKeyTraits(t *testing.T) {
	p := Profile{Traits: []Trait{
		{Feature: "account_type=consumer", Z: -1.5},
		{Feature: "decayed_social/decayed_events", Z: 1.2},
		{Feature: "account_type=business", Z: 1.4},
		{Feature: "plan=pro", Z: -0.8},
		{Feature: "age", Z: 0.1},
	}}
	var got []string
	for _, tr := range KeyTraits(p) {
		got = append(got, tr.Feature)
	}
	// The business level says what the consumer level would; a negative level is kept when
	// no level of its column is over-represented; a weak trait is dropped.
	if want := "decayed_social/decayed_events account_type=business plan=pro"; strings.Join(got, " ") != want {
		t.Errorf("key traits %v, want %s", got, want)
	}
}
