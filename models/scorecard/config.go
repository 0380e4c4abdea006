package scorecard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/internal/eventtype"
	"github.com/propensity-dev/propensity/internal/yamlnode"
)

// Errors wrapped by *ConfigError.
var (
	ErrUnknownField = errors.New("scorecard: unknown field")
	ErrMissing      = errors.New("scorecard: required field missing")
	ErrInvalid      = errors.New("scorecard: invalid value")
	ErrPattern      = errors.New("scorecard: bad pattern or condition")
	ErrEventType    = errors.New("scorecard: unknown event type")
	ErrOrder        = errors.New("scorecard: values out of order")
	ErrDuplicate    = errors.New("scorecard: duplicate name")
)

// ConfigError is one problem in a scorecard configuration. Validation returns every problem
// at once, joined with errors.Join.
type ConfigError struct {
	File   string // file name, "" when the config did not come from a file
	Line   int    // 1-based line in File, 0 when unknown
	Field  string // path of the field, e.g. "scorecards[0].rules[2].event.type"
	Detail string // what is wrong and what was expected
	Err    error  // one of the sentinels above
}

func (e *ConfigError) Error() string { return yamlnode.Message(e.File, e.Line, e.Field, e.Detail) }

// Unwrap returns the sentinel.
func (e *ConfigError) Unwrap() error { return e.Err }

// Dimensions of a score.
const (
	Fit        = "fit"
	Engagement = "engagement"
	Lifecycle  = "lifecycle"
)

// CanonicalEventTypes returns the canonical event types of docs/contract.md §1. Scorecards may name
// other types after declaring them in Config.EventTypes.
func CanonicalEventTypes() []string { return eventtype.Canonical() }

// StageDisqualified is the stage of a contact a gate has disqualified.
const StageDisqualified = "disqualified"

// DefaultConfig holds the defaults applied to a scorecard whose fields are left out.
var DefaultConfig = Config{
	Thresholds: []Threshold{{Stage: "lead", Points: 0}, {Stage: "mql", Points: 30}, {Stage: "sql", Points: 60}},
	MQLStage:   "mql",
	Grades:     Grades{Fit: [3]int{25, 0, -10}, Engagement: [3]int{60, 30, 10}},
	Lifecycle:  LifecycleConfig{Attribute: "stage"},
}

// Config is one scorecard as written in YAML. The zero value of each field means its
// default (DefaultConfig); Validate reports every problem at once.
type Config struct {
	Name        string    `json:"name"`                  // required; unique within a set
	Version     string    `json:"version"`               // required; reported with every score
	Description string    `json:"description,omitempty"` // free text
	Audience    Condition `json:"audience,omitzero"`     // attribute condition choosing who this scorecard applies to; zero: everyone
	// EventTypes declares event types beyond the canonical ones that rules may name.
	EventTypes []string `json:"event_types,omitempty"`
	// Thresholds name the stages a total reaches, by increasing points; a total below the
	// first threshold is in the first stage. Default lead 0, mql 30, sql 60.
	Thresholds []Threshold `json:"thresholds"`
	// MQLStage is the threshold stage at or beyond which a contact is marketing-qualified.
	// Default "mql".
	MQLStage  string          `json:"mql_stage"`
	Grades    Grades          `json:"grades"`             // default fit A>=25 B>=0 C>=-10, engagement 1>=60 2>=30 3>=10
	Caps      Caps            `json:"caps,omitzero"`      // default none
	Lifecycle LifecycleConfig `json:"lifecycle,omitzero"` // default none (attribute "stage")
	Rules     []RuleConfig    `json:"rules"`

	file   string         // where the config came from, for errors
	prefix string         // path prefix of its fields in the file, e.g. "scorecards[1]."
	lines  map[string]int // field path (without prefix) -> line
}

// Threshold is the lowest total of a stage.
type Threshold struct {
	Stage  string `json:"stage"`
	Points int    `json:"points"`
}

// Grades hold the cut points of the grade letters and levels: fit >= Fit[0] is A, >= Fit[1]
// B, >= Fit[2] C, else D; engagement >= Engagement[0] is level 1, and so on down to 4. Both
// must be strictly decreasing.
type Grades struct {
	Fit        [3]int  `json:"fit"`
	Engagement [3]int  `json:"engagement"`
	set        [2]bool // whether Fit / Engagement were given (else defaults)
}

// Caps bound dimension sums and the total from above. A nil cap is no cap.
type Caps struct {
	Fit        *int `json:"fit,omitempty"`
	Engagement *int `json:"engagement,omitempty"`
	Lifecycle  *int `json:"lifecycle,omitempty"`
	Total      *int `json:"total,omitempty"`
}

// LifecycleConfig describes forward-only lifecycle stages: a contact is in the furthest
// stage it has reached, by its stage attribute, a stage's attribute condition or any of a
// stage's events, and earns that stage's points in the lifecycle dimension.
type LifecycleConfig struct {
	Attribute string           `json:"attribute"` // attribute holding the contact's stage, compared case-insensitively; default "stage"
	Stages    []LifecycleStage `json:"stages"`
}

// LifecycleStage is one step of the lifecycle, listed from first to last.
type LifecycleStage struct {
	Name   string      `json:"name"`
	Points int         `json:"points"`
	When   Condition   `json:"when,omitzero"`   // optional: reached when the attributes match
	Event  *EventMatch `json:"event,omitempty"` // optional: reached when any event before as-of matches
}

// RuleConfig is one scoring rule or gate.
type RuleConfig struct {
	Name string `json:"name"` // required; unique within the scorecard
	// Dimension is fit, engagement or lifecycle. Default: engagement for rules with an
	// event, fit otherwise.
	Dimension string `json:"dimension"`
	Points    int    `json:"points"`         // may be negative; must be 0 for gates
	Gate      bool   `json:"gate,omitempty"` // a disqualifier: when it fires the score is zeroed and the rule named
	// When is an attribute condition. A rule with only When fires once.
	When Condition `json:"when,omitzero"`
	// Event is the event condition; the rule fires on matching events before as-of.
	Event *EventMatch `json:"event,omitempty"`
	// Within keeps only events in the last Within before as-of. Default: all history.
	Within time.Duration `json:"within,omitempty"`
	// MinCount is how many matching events (within Within) the rule needs to fire. Default 1.
	MinCount int `json:"min_count"`
	// Repeatable earns Points for every matching event instead of once per contact.
	Repeatable bool `json:"repeatable,omitempty"`
	// PerDayCap bounds how many events a repeatable rule counts per UTC day (the earliest
	// ones). Default: no cap.
	PerDayCap int   `json:"per_day_cap,omitempty"`
	Decay     Decay `json:"decay,omitzero"`
}

// MarshalJSON writes durations in the YAML form ("30d" rather than nanoseconds).
func (r RuleConfig) MarshalJSON() ([]byte, error) {
	type plain RuleConfig
	return json.Marshal(struct {
		plain
		Within string `json:"within,omitempty"`
	}{plain(r), durationText(r.Within)})
}

// Decay makes event points fade with age at as-of: by a half-life (points × 2^(−age/HalfLife))
// or a rolling window (events older than Window earn nothing). At most one may be set. A
// once-per-contact rule decays from its most recent matching event.
type Decay struct {
	HalfLife time.Duration
	Window   time.Duration
}

// MarshalJSON writes the durations in the YAML form.
func (d Decay) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		HalfLife string `json:"half_life,omitempty"`
		Window   string `json:"window,omitempty"`
	}{durationText(d.HalfLife), durationText(d.Window)})
}

// durationText writes d as the YAML does (ParseDuration reads it back): whole weeks as "2w",
// whole days as "30d", else Go's form ("36h0m0s", "90m0s").
func durationText(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return ""
	case d%(7*day) == 0:
		return strconv.FormatInt(int64(d/(7*day)), 10) + "w"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// EventMatch selects events. Empty fields match anything. Page, Channel and Campaign are
// glob patterns ('*' any run of characters, including '/'; '?' one character); a pattern
// without them must match exactly.
type EventMatch struct {
	Types     []string `json:"type,omitempty"`       // event types, any of
	Page      string   `json:"page,omitempty"`       // glob on the page
	PageRegex string   `json:"page_regex,omitempty"` // regular expression on the page (RE2), instead of Page
	Channel   string   `json:"channel,omitempty"`
	Campaign  string   `json:"campaign,omitempty"`
	MinValue  *float64 `json:"min_value,omitempty"` // inclusive; events without a value never match a value range
	MaxValue  *float64 `json:"max_value,omitempty"` // inclusive
}

// line returns the recorded line of a field path, or of its nearest recorded parent (a
// missing field is reported where its parent starts).
func (c *Config) line(path string) int {
	for {
		if l, ok := c.lines[path]; ok || path == "" {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

// given reports whether a field was written in the YAML (even if it failed to decode).
func (c *Config) given(path string) bool {
	_, ok := c.lines[path]
	return ok
}

func (c *Config) problem(errs *[]error, path string, sentinel error, format string, a ...any) {
	*errs = append(*errs, &ConfigError{
		File: c.file, Line: c.line(path), Field: c.prefix + path,
		Detail: fmt.Sprintf(format, a...), Err: sentinel,
	})
}

// applyDefaults fills the fields left at their zero value.
func (c *Config) applyDefaults() {
	if c.Thresholds == nil {
		c.Thresholds = slices.Clone(DefaultConfig.Thresholds)
	}
	if c.MQLStage == "" {
		c.MQLStage = DefaultConfig.MQLStage
	}
	if !c.Grades.set[0] && c.Grades.Fit == [3]int{} {
		c.Grades.Fit = DefaultConfig.Grades.Fit
	}
	if !c.Grades.set[1] && c.Grades.Engagement == [3]int{} {
		c.Grades.Engagement = DefaultConfig.Grades.Engagement
	}
	if c.Lifecycle.Attribute == "" {
		c.Lifecycle.Attribute = DefaultConfig.Lifecycle.Attribute
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Dimension == "" {
			r.Dimension = Fit
			if r.Event != nil {
				r.Dimension = Engagement
			}
		}
		if r.MinCount == 0 {
			r.MinCount = 1
		}
	}
}

// Validate applies defaults to c and reports every problem of c at once (errors.Join of
// *ConfigError), with the file and line of each when c came from YAML.
func (c *Config) Validate() error {
	return errors.Join(c.validate()...)
}

func (c *Config) validate() []error {
	c.applyDefaults()
	var errs []error
	if c.Name == "" {
		c.problem(&errs, "name", ErrMissing, "a scorecard needs a name")
	}
	if c.Version == "" {
		c.problem(&errs, "version", ErrMissing, "a scorecard needs a version string")
	}
	known := map[string]bool{}
	for _, t := range eventtype.Canonical() {
		known[t] = true
	}
	for i, t := range c.EventTypes {
		if t == "" {
			c.problem(&errs, fmt.Sprintf("event_types[%d]", i), ErrInvalid, "empty event type")
		}
		known[t] = true
	}
	// Thresholds: non-empty names, unique, strictly increasing points.
	if len(c.Thresholds) == 0 {
		c.problem(&errs, "thresholds", ErrMissing, "at least one threshold is needed")
	}
	seen := map[string]bool{}
	mqlFound := false
	for i, t := range c.Thresholds {
		p := fmt.Sprintf("thresholds[%d]", i)
		switch {
		case t.Stage == "":
			c.problem(&errs, p+".stage", ErrMissing, "a threshold needs a stage name")
		case t.Stage == StageDisqualified:
			c.problem(&errs, p+".stage", ErrInvalid, "%q is reserved for disqualified contacts", StageDisqualified)
		case seen[t.Stage]:
			c.problem(&errs, p+".stage", ErrDuplicate, "stage %q is listed twice", t.Stage)
		}
		seen[t.Stage] = true
		mqlFound = mqlFound || t.Stage == c.MQLStage
		if i > 0 && t.Points <= c.Thresholds[i-1].Points {
			c.problem(&errs, p+".points", ErrOrder, "threshold %q at %d must be above %q at %d (list stages from lowest to highest)",
				t.Stage, t.Points, c.Thresholds[i-1].Stage, c.Thresholds[i-1].Points)
		}
	}
	if !mqlFound && len(c.Thresholds) > 0 {
		c.problem(&errs, "mql_stage", ErrInvalid, "stage %q is not one of the thresholds", c.MQLStage)
	}
	for k, g := range [2][3]int{c.Grades.Fit, c.Grades.Engagement} {
		name := [2]string{"grades.fit", "grades.engagement"}[k]
		if !(g[0] > g[1] && g[1] > g[2]) {
			c.problem(&errs, name, ErrOrder, "cut points %v must be strictly decreasing (for %s)", g,
				[2]string{"A, B, C", "levels 1, 2, 3"}[k])
		}
	}
	for _, cp := range []struct {
		name string
		v    *int
	}{{"caps.fit", c.Caps.Fit}, {"caps.engagement", c.Caps.Engagement}, {"caps.lifecycle", c.Caps.Lifecycle}, {"caps.total", c.Caps.Total}} {
		if cp.v != nil && *cp.v < 0 {
			c.problem(&errs, cp.name, ErrInvalid, "a cap must be 0 or more, not %d", *cp.v)
		}
	}
	stages := map[string]bool{}
	for i, s := range c.Lifecycle.Stages {
		p := fmt.Sprintf("lifecycle.stages[%d]", i)
		key := strings.ToLower(s.Name)
		switch {
		case s.Name == "":
			c.problem(&errs, p+".name", ErrMissing, "a lifecycle stage needs a name")
		case stages[key]:
			c.problem(&errs, p+".name", ErrDuplicate, "lifecycle stage %q is listed twice", s.Name)
		}
		stages[key] = true
		if s.Event != nil {
			c.validateEvent(&errs, p+".event", s.Event, known)
		}
	}
	rules := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		switch {
		case r.Name == "":
			c.problem(&errs, p+".name", ErrMissing, "a rule needs a name")
		case rules[r.Name]:
			c.problem(&errs, p+".name", ErrDuplicate, "rule %q is listed twice", r.Name)
		}
		rules[r.Name] = true
		switch r.Dimension {
		case Fit, Engagement, Lifecycle:
		default:
			c.problem(&errs, p+".dimension", ErrInvalid, "unknown dimension %q (want fit, engagement or lifecycle)", r.Dimension)
		}
		if r.Gate && r.Points != 0 {
			c.problem(&errs, p+".points", ErrInvalid, "a gate disqualifies and earns no points (remove points or gate)")
		}
		if r.When.IsZero() && r.Event == nil && !c.given(p+".when") && !c.given(p+".event") {
			c.problem(&errs, p, ErrMissing, "a rule needs a when (attribute condition) or an event condition")
		}
		if r.Event != nil {
			c.validateEvent(&errs, p+".event", r.Event, known)
		}
		eventOnly := func(field string, set bool) {
			if set && r.Event == nil {
				c.problem(&errs, p+"."+field, ErrInvalid, "%s applies to event rules only", field)
			}
		}
		eventOnly("within", r.Within != 0)
		eventOnly("min_count", r.MinCount != 1)
		eventOnly("repeatable", r.Repeatable)
		eventOnly("decay", r.Decay != Decay{})
		if r.Within < 0 {
			c.problem(&errs, p+".within", ErrInvalid, "must be positive")
		}
		if r.MinCount < 1 {
			given := r.MinCount
			if given == explicitZeroMinCount {
				given = 0
			}
			c.problem(&errs, p+".min_count", ErrInvalid, "must be 1 or more, not %d", given)
		}
		if r.PerDayCap < 0 || (r.PerDayCap > 0 && !r.Repeatable) {
			c.problem(&errs, p+".per_day_cap", ErrInvalid, "a per-day cap needs repeatable: true and must be 1 or more")
		}
		if r.Decay.HalfLife < 0 || r.Decay.Window < 0 {
			c.problem(&errs, p+".decay", ErrInvalid, "durations must be positive")
		}
		if r.Decay.HalfLife != 0 && r.Decay.Window != 0 {
			c.problem(&errs, p+".decay", ErrInvalid, "give half_life or window, not both")
		}
		if r.Gate && r.Repeatable {
			c.problem(&errs, p+".repeatable", ErrInvalid, "a gate cannot be repeatable")
		}
	}
	return errs
}

func (c *Config) validateEvent(errs *[]error, p string, e *EventMatch, known map[string]bool) {
	for i, t := range e.Types {
		if !known[t] {
			c.problem(errs, fmt.Sprintf("%s.type[%d]", p, i), ErrEventType,
				"unknown event type %q (want one of %s, or declare it under event_types)", t, strings.Join(eventtype.Canonical(), ", "))
		}
	}
	if e.Page != "" && e.PageRegex != "" {
		c.problem(errs, p+".page_regex", ErrInvalid, "give page or page_regex, not both")
	}
	if e.PageRegex != "" {
		if _, err := regexp.Compile(e.PageRegex); err != nil {
			c.problem(errs, p+".page_regex", ErrPattern, "bad regular expression: %v", err)
		}
	}
	for _, v := range []*float64{e.MinValue, e.MaxValue} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			c.problem(errs, p+".value", ErrInvalid, "value bounds must be finite numbers")
		}
	}
	if e.MinValue != nil && e.MaxValue != nil && *e.MinValue > *e.MaxValue {
		c.problem(errs, p+".value", ErrOrder, "min %g is above max %g", *e.MinValue, *e.MaxValue)
	}
}

// explicitZeroMinCount marks a min_count written as 0 in YAML (0 in a Rule built in Go means
// the default, 1), so that validation can refuse it and quote it.
const explicitZeroMinCount = math.MinInt32
