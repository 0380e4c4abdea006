package personas

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/persona"
)

// FeatureSet is what personas are clustered on: plain columns and derived shares and ratios.
type FeatureSet struct {
	Columns []string
	Derived []persona.Derived
	// WeightLevels weights each categorical column as one numeric column (see
	// persona.TransformSettings).
	WeightLevels bool
	// Notes say which parts of the set the table could not supply.
	Notes []string
}

// Use makes opts cluster on the set.
func (s FeatureSet) Use(opts *Options) {
	opts.Columns, opts.Derived = slices.Clone(s.Columns), slices.Clone(s.Derived)
	opts.Persona.Transform.WeightLevels = s.WeightLevels
}

// Names returns the clustered inputs' names: the columns, then each derived "num/den".
func (s FeatureSet) Names() []string {
	out := slices.Clone(s.Columns)
	for _, d := range s.Derived {
		out = append(out, d.Name())
	}
	return out
}

// PersonaAttributes are the contact attributes of the persona feature set, compared after
// lower-casing and dropping spaces, dashes and underscores: the demographics and
// firmographics that describe who someone is rather than how much they do.
var PersonaAttributes = []string{"age", "income", "householdincome", "accounttype", "customertype", "b2b"}

// mixTypes are the event types of the behaviour mix: what people do when they come, leaving
// out funnel steps (form_submit, trial_start), which mark where someone is rather than who
// they are, and rare service events (chat, email_unsubscribe).
var mixTypes = []string{"page_view", "email_open", "email_click", "webinar", "social", "survey", "download", "purchase"}

// PersonaFeatures returns the default persona feature set of a feature table converted by
// FromFeatures: demographics and the mix of behaviour, not raw volumes, since counts grow
// with tenure and engagement and would otherwise outvote everything else. It holds, when
// the table has them:
//
//   - demographics: the contact attributes named in PersonaAttributes (age, income,
//     account type);
//   - web interests: the share of page views (last 90 days) on each page category,
//     page_<c>_90d / n_page_view_90d;
//   - channel mix: the share of recent activity (decayed counts, half-life 30 days) by event
//     type, decayed_<type> / decayed_events, for page views, e-mail opens and clicks,
//     webinars, social, surveys, downloads and purchases;
//   - e-mail: clicks per open, n_email_click_90d / n_email_open_90d;
//   - product mix: the share of spend by category, spend_<c> / purchase_amount_sum;
//   - value: purchase_count and the mean amount per purchase,
//     purchase_amount_sum / purchase_count;
//   - lifecycle: tenure_days, days_since_last_event, n_events_90d,
//     days_since_last_purchase and satisfaction_last.
//
// Shares are smoothed towards the population share and arcsine-square-root encoded
// (persona.Share); the skewed counts, amounts and recencies are log1p transformed by the
// transform's skewness rule; a categorical attribute counts as one column however many
// levels it has (WeightLevels).
func PersonaFeatures(f *frame.Frame) FeatureSet {
	s := FeatureSet{WeightLevels: true}
	has := func(name string) bool {
		c := f.Column(name)
		return c != nil && c.Kind == frame.Numeric
	}
	for _, c := range f.Columns {
		if slices.Contains(PersonaAttributes, normalise(c.Name)) {
			s.Columns = append(s.Columns, c.Name)
		}
	}
	if len(s.Columns) == 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("no demographic attribute (%s) in the table", strings.Join(PersonaAttributes, ", ")))
	}
	share := func(num, den string) {
		if has(num) && has(den) {
			s.Derived = append(s.Derived, persona.Derived{Kind: persona.Share, Num: num, Den: den})
		}
	}
	for _, c := range f.Columns {
		if strings.HasPrefix(c.Name, "page_") && strings.HasSuffix(c.Name, "_90d") {
			share(c.Name, "n_page_view_90d")
		}
	}
	for _, ty := range mixTypes {
		share("decayed_"+ty, "decayed_events")
	}
	share("n_email_click_90d", "n_email_open_90d")
	for _, c := range f.Columns {
		if strings.HasPrefix(c.Name, "spend_") {
			share(c.Name, "purchase_amount_sum")
		}
	}
	if has("purchase_count") {
		s.Columns = append(s.Columns, "purchase_count")
		if has("purchase_amount_sum") {
			s.Derived = append(s.Derived, persona.Derived{Kind: persona.Ratio, Num: "purchase_amount_sum", Den: "purchase_count"})
		}
	}
	for _, c := range []string{"tenure_days", "days_since_last_event", "n_events_90d", "days_since_last_purchase", "satisfaction_last"} {
		if has(c) && !allMissing(f.Column(c).Num) {
			s.Columns = append(s.Columns, c)
		}
	}
	return s
}

func allMissing(v []float64) bool {
	for _, x := range v {
		if !math.IsNaN(x) {
			return false
		}
	}
	return true
}
