package triggers

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/propensity-dev/propensity/internal/yamlnode"
)

// Errors wrapped by *LineError.
var (
	ErrUnknownField = errors.New("triggers: unknown field")
	ErrMissing      = errors.New("triggers: required field missing")
	ErrInvalid      = errors.New("triggers: invalid value")
	ErrDuplicate    = errors.New("triggers: duplicate name")
	ErrReference    = errors.New("triggers: unknown endpoint")
	ErrSecret       = errors.New("triggers: missing secret")
)

// LineError is one problem in a triggers file. Parse returns every problem at once, joined
// with errors.Join, in line order.
type LineError struct {
	Source string // file name, "" when unknown
	Line   int    // 1-based line in Source, 0 when unknown
	Field  string // path of the field, e.g. "triggers[2].when.rule_total.crosses"
	Msg    string // what is wrong and what was expected
	Err    error  // one of the sentinels above
}

func (e *LineError) Error() string { return yamlnode.Message(e.Source, e.Line, e.Field, e.Msg) }

// Unwrap returns the sentinel.
func (e *LineError) Unwrap() error { return e.Err }

// Kinds of transition, as they appear in Transition.Kind and in webhook bodies.
const (
	KindStageEntered         = "stage_entered"
	KindStageLeft            = "stage_left"
	KindMQLEntered           = "mql_entered"
	KindMQLLeft              = "mql_left"
	KindRuleTotalCrossedUp   = "rule_total_crossed_up"
	KindRuleTotalCrossedDown = "rule_total_crossed_down"
	KindPConvertCrossedUp    = "p_convert_crossed_up"
	KindPConvertCrossedDown  = "p_convert_crossed_down"
	KindPChurnCrossedUp      = "p_churn_crossed_up"
	KindPChurnCrossedDown    = "p_churn_crossed_down"
	KindSegmentEntered       = "segment_entered"
	KindSegmentLeft          = "segment_left"
	KindLTVTierChanged       = "ltv_tier_changed"
)

// Defaults of a triggers file.
const (
	DefaultTimeout     = 10 * time.Second // Endpoint.Timeout
	DefaultMaxAttempts = 10               // Delivery.MaxAttempts
	DefaultBaseBackoff = 10 * time.Second // Delivery.BaseBackoff
	DefaultMaxBackoff  = time.Hour        // Delivery.MaxBackoff
	DefaultPauseAfter  = 5                // Delivery.PauseAfter
	DefaultMaxInFlight = 4                // Endpoint.MaxInFlight
)

// Config is a parsed and validated triggers file.
type Config struct {
	Endpoints []Endpoint       `json:"endpoints"`
	Triggers  []Trigger        `json:"triggers"`
	Delivery  DeliverySettings `json:"delivery"`
	// LTVTiers name bands of predicted customer lifetime value (ltv.clv), by increasing
	// lower bound; the score response has no tier of its own.
	LTVTiers []LTVTier `json:"ltv_tiers,omitempty"`
	// Source is the file name given to Parse.
	Source string `json:"source,omitempty"`
}

// Endpoint is a webhook receiver.
type Endpoint struct {
	Name string `json:"name"` // unique; what triggers name
	URL  string `json:"url"`  // http or https
	// Secret is the HMAC key of the signatures; never empty, never marshalled.
	Secret string `json:"-"`
	// SecretEnv is the environment variable Secret was read from, "" for a literal secret.
	SecretEnv string `json:"secret_env,omitempty"`
	// Timeout of one delivery attempt; default DefaultTimeout.
	Timeout time.Duration `json:"timeout"`
	// MaxInFlight is the most requests sent to the endpoint at once; default
	// DefaultMaxInFlight. Records of one contact always go one at a time, in order.
	MaxInFlight int `json:"max_in_flight"`
}

// Trigger is one named condition and the endpoints its transitions go to.
type Trigger struct {
	Name        string    `json:"name"` // unique
	Description string    `json:"description,omitempty"`
	When        Condition `json:"when"`
	Endpoints   []string  `json:"endpoints"` // endpoint names, each defined in the file
}

// Condition is one transition test on two successive States. Kind says which of the other
// fields apply; for crossings Kind names the direction (e.g. KindRuleTotalCrossedUp).
type Condition struct {
	Kind    string  `json:"kind"`
	Stage   string  `json:"stage,omitempty"`   // stage_entered, stage_left
	Segment string  `json:"segment,omitempty"` // segment_entered, segment_left
	Value   float64 `json:"value,omitempty"`   // the crossing value of *_crossed_*
	// From and To restrict ltv_tier_changed to changes from or to a tier; "" means any.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// LTVTier is a band of lifetime value: from Min (inclusive) to the next tier's Min.
type LTVTier struct {
	Name string  `json:"name"`
	Min  float64 `json:"min_clv"`
}

// DeliverySettings tune the dispatcher; zero fields take the defaults above. DispatcherOptions
// override them.
type DeliverySettings struct {
	MaxAttempts int           `json:"max_attempts"` // failures before a record is dead
	BaseBackoff time.Duration `json:"base_backoff"` // wait after the first failure
	MaxBackoff  time.Duration `json:"max_backoff"`  // cap of the exponential back-off
	PauseAfter  int           `json:"pause_after"`  // consecutive failures that pause an endpoint
}

// Load reads and parses a triggers file; see Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("triggers: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a triggers file. source names the file in errors. Secrets given
// by secret_env are read from the environment. Every problem is reported at once, as
// errors.Join of *LineError in line order.
func Parse(data []byte, source string) (*Config, error) {
	return ParseEnv(data, source, os.LookupEnv)
}

// ParseEnv is Parse with the environment lookup given, for tests and embedding.
func ParseEnv(data []byte, source string, lookupEnv func(string) (string, bool)) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlnode.SyntaxError(err)
		return nil, &LineError{Source: source, Line: line, Msg: "not valid YAML: " + msg, Err: ErrInvalid}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &LineError{Source: source, Msg: "empty file: want endpoints and triggers", Err: ErrMissing}
	}
	root := yamlnode.Resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &LineError{Source: source, Line: root.Line, Msg: "want a mapping with endpoints and triggers, found " + yamlnode.KindName(root), Err: ErrInvalid}
	}
	d := &decoder{source: source, env: lookupEnv}
	c := d.config(root)
	c.Source = source
	slices.SortStableFunc(d.errs, func(a, b *LineError) int { return a.Line - b.Line })
	if len(d.errs) > 0 {
		errs := make([]error, len(d.errs))
		for i, e := range d.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Endpoint returns the endpoint of that name.
func (c *Config) Endpoint(name string) (Endpoint, bool) {
	for _, e := range c.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return Endpoint{}, false
}

// LTVTier returns the name of the tier that clv falls in: the last tier whose min_clv is at
// or below it, "" when it is below every tier, when there are no tiers, or for NaN.
func (c *Config) LTVTier(clv float64) string {
	tier := ""
	for _, t := range c.LTVTiers {
		if clv >= t.Min {
			tier = t.Name
		}
	}
	return tier
}

// Stages returns the stage names the triggers refer to, so that a caller can check them
// against its scorecards.
func (c *Config) Stages() []string {
	var out []string
	for _, t := range c.Triggers {
		if t.When.Stage != "" && !slices.Contains(out, t.When.Stage) {
			out = append(out, t.When.Stage)
		}
	}
	return out
}

// decoder walks a YAML node tree, recording every problem with its line instead of stopping
// at the first.
type decoder struct {
	source string
	env    func(string) (string, bool)
	errs   []*LineError
}

func (d *decoder) problem(n *yaml.Node, path string, sentinel error, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &LineError{Source: d.source, Line: line, Field: path, Msg: fmt.Sprintf(format, a...), Err: sentinel})
}

// walker walks nodes for d; problems wrap the package's sentinels.
func (d *decoder) walker() yamlnode.Walker {
	return yamlnode.Walker{
		Report: func(at *yaml.Node, p string, sentinel error, msg string) {
			d.problem(at, p, sentinel, "%s", msg)
		},
		Invalid: ErrInvalid, Unknown: ErrUnknownField, Duplicate: ErrDuplicate,
	}
}

// fields walks mapping n, calling the handler of each key in file order; unknown and
// repeated keys are problems. It returns the key nodes seen, by name.
func (d *decoder) fields(n *yaml.Node, path string, handlers map[string]func(v *yaml.Node, p string)) map[string]*yaml.Node {
	return d.walker().Fields(n, path, handlers)
}

func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	return d.walker().Scalar(n, path, want)
}

// name reads a non-empty name without surrounding spaces.
func (d *decoder) name(n *yaml.Node, path string, dst *string) {
	s, ok := d.scalar(n, path, "a name")
	if !ok {
		return
	}
	if strings.TrimSpace(s) != s || s == "" {
		d.problem(n, path, ErrInvalid, "want a non-empty name without surrounding spaces, found %q", s)
		return
	}
	*dst = s
}

func (d *decoder) str(n *yaml.Node, path string, dst *string) {
	if s, ok := d.scalar(n, path, "a string"); ok {
		*dst = s
	}
}

func (d *decoder) int(n *yaml.Node, path string, dst *int) {
	s, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 32)
	if err != nil || v < 1 {
		d.problem(n, path, ErrInvalid, "want a whole number of 1 or more, found %q", s)
		return
	}
	*dst = int(v)
}

func (d *decoder) float(n *yaml.Node, path string) *float64 {
	s, ok := d.scalar(n, path, "a number")
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.problem(n, path, ErrInvalid, "want a finite number, found %q", s)
		return nil
	}
	return &f
}

func (d *decoder) duration(n *yaml.Node, path string, dst *time.Duration) {
	s, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v <= 0 {
		d.problem(n, path, ErrInvalid, "want a positive duration such as 5s, 2m or 1h, found %q", s)
		return
	}
	*dst = v
}

func (d *decoder) list(n *yaml.Node, path string, each func(i int, e *yaml.Node, p string)) {
	d.walker().List(n, path, each)
}

// nodeAt is where a refused value sits: the value node, else the key, else the mapping.
type nodeAt struct {
	node *yaml.Node
	path string
}

func (d *decoder) config(root *yaml.Node) *Config {
	c := &Config{}
	endpointAt := map[string]nodeAt{}
	type ref struct {
		name string
		at   nodeAt
	}
	var refs []ref
	triggerAt := map[string]bool{}
	tierAt := map[string]*yaml.Node{}
	var tierRefs []ref
	ltvTriggers := []nodeAt{}
	keys := d.fields(root, "", map[string]func(*yaml.Node, string){
		"endpoints": func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, e *yaml.Node, p string) {
				ep, at := d.endpoint(e, p)
				if ep.Name != "" {
					if _, dup := endpointAt[ep.Name]; dup {
						d.problem(at.node, at.path, ErrDuplicate, "endpoint %q is defined twice", ep.Name)
					}
					endpointAt[ep.Name] = at
				}
				c.Endpoints = append(c.Endpoints, ep)
			})
		},
		"triggers": func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, e *yaml.Node, p string) {
				t, at, eps := d.trigger(e, p)
				if t.When.Kind == KindLTVTierChanged {
					ltvTriggers = append(ltvTriggers, nodeAt{e, p + ".when.ltv_tier_changed"})
					for _, name := range []string{t.When.From, t.When.To} {
						if name != "" {
							tierRefs = append(tierRefs, ref{name, nodeAt{e, p + ".when.ltv_tier_changed"}})
						}
					}
				}
				if t.Name != "" {
					if triggerAt[t.Name] {
						d.problem(at.node, at.path, ErrDuplicate, "trigger %q is defined twice", t.Name)
					}
					triggerAt[t.Name] = true
				}
				for i, name := range t.Endpoints {
					refs = append(refs, ref{name, eps[i]})
				}
				c.Triggers = append(c.Triggers, t)
			})
		},
		"ltv_tiers": func(v *yaml.Node, p string) {
			var prev *LTVTier
			d.list(v, p, func(_ int, e *yaml.Node, p string) {
				var t LTVTier
				var lo *float64
				keys := d.fields(e, p, map[string]func(*yaml.Node, string){
					"name":    func(v *yaml.Node, p string) { d.name(v, p, &t.Name) },
					"min_clv": func(v *yaml.Node, p string) { lo = d.float(v, p) },
				})
				if e.Kind != yaml.MappingNode {
					return
				}
				if keys["name"] == nil {
					d.problem(e, p+".name", ErrMissing, "a tier needs a name")
				}
				if keys["min_clv"] == nil {
					d.problem(e, p+".min_clv", ErrMissing, "a tier needs min_clv")
				}
				if t.Name != "" && tierAt[t.Name] != nil {
					d.problem(keys["name"], p+".name", ErrDuplicate, "tier %q is defined twice", t.Name)
				}
				if lo == nil || t.Name == "" {
					return
				}
				t.Min = *lo
				if prev != nil && t.Min <= prev.Min {
					d.problem(keys["min_clv"], p+".min_clv", ErrInvalid, "tiers go by increasing min_clv: %g is not above %q's %g", t.Min, prev.Name, prev.Min)
				}
				tierAt[t.Name] = keys["name"]
				c.LTVTiers = append(c.LTVTiers, t)
				prev = &c.LTVTiers[len(c.LTVTiers)-1]
			})
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.problem(v, p, ErrMissing, "no tiers listed")
			}
		},
		"delivery": func(v *yaml.Node, p string) {
			s := &c.Delivery
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"max_attempts": func(v *yaml.Node, p string) { d.int(v, p, &s.MaxAttempts) },
				"base_backoff": func(v *yaml.Node, p string) { d.duration(v, p, &s.BaseBackoff) },
				"max_backoff":  func(v *yaml.Node, p string) { d.duration(v, p, &s.MaxBackoff) },
				"pause_after":  func(v *yaml.Node, p string) { d.int(v, p, &s.PauseAfter) },
			})
			if s.BaseBackoff > 0 && s.MaxBackoff > 0 && s.MaxBackoff < s.BaseBackoff {
				d.problem(v, p+".max_backoff", ErrInvalid, "max_backoff %v is below base_backoff %v", s.MaxBackoff, s.BaseBackoff)
			}
		},
	})
	if root.Kind == yaml.MappingNode {
		if keys["endpoints"] == nil {
			d.problem(root, "endpoints", ErrMissing, "a triggers file needs endpoints")
		} else if len(c.Endpoints) == 0 && yamlnode.Resolve(root).Kind == yaml.MappingNode {
			d.problem(keys["endpoints"], "endpoints", ErrMissing, "no endpoints listed")
		}
		if keys["triggers"] == nil {
			d.problem(root, "triggers", ErrMissing, "a triggers file needs triggers")
		} else if len(c.Triggers) == 0 {
			d.problem(keys["triggers"], "triggers", ErrMissing, "no triggers listed")
		}
	}
	for _, r := range refs {
		if _, ok := endpointAt[r.name]; !ok && r.name != "" {
			d.problem(r.at.node, r.at.path, ErrReference, "endpoint %q is not defined under endpoints", r.name)
		}
	}
	if keys["ltv_tiers"] == nil {
		for _, at := range ltvTriggers {
			d.problem(at.node, at.path, ErrMissing, "ltv_tier_changed needs ltv_tiers (the score response has no tier of its own)")
		}
	} else {
		for _, r := range tierRefs {
			if tierAt[r.name] == nil {
				d.problem(r.at.node, r.at.path, ErrReference, "tier %q is not defined under ltv_tiers", r.name)
			}
		}
	}
	c.Delivery = c.Delivery.withDefaults()
	return c
}

func (s DeliverySettings) withDefaults() DeliverySettings {
	if s.MaxAttempts == 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.BaseBackoff == 0 {
		s.BaseBackoff = DefaultBaseBackoff
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = max(DefaultMaxBackoff, s.BaseBackoff)
	}
	if s.PauseAfter == 0 {
		s.PauseAfter = DefaultPauseAfter
	}
	return s
}

func (d *decoder) endpoint(n *yaml.Node, path string) (Endpoint, nodeAt) {
	e := Endpoint{Timeout: DefaultTimeout, MaxInFlight: DefaultMaxInFlight}
	at := nodeAt{n, path}
	var secretNode *yaml.Node
	keys := d.fields(n, path, map[string]func(*yaml.Node, string){
		"name": func(v *yaml.Node, p string) {
			d.name(v, p, &e.Name)
			at = nodeAt{v, p}
		},
		"url": func(v *yaml.Node, p string) {
			var s string
			d.str(v, p, &s)
			if s == "" {
				if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
					d.problem(v, p, ErrInvalid, "want an http or https URL, found an empty string")
				}
				return
			}
			u, err := url.Parse(s)
			switch {
			case err != nil:
				d.problem(v, p, ErrInvalid, "want an http or https URL, found %q", s)
			case u.Scheme != "http" && u.Scheme != "https":
				d.problem(v, p, ErrInvalid, "want an http or https URL, found scheme %q in %q", u.Scheme, s)
			case u.Host == "":
				d.problem(v, p, ErrInvalid, "want an http or https URL with a host, found %q", s)
			case u.User != nil:
				d.problem(v, p, ErrInvalid, "credentials do not belong in the URL; the signature authenticates deliveries")
			default:
				e.URL = s
			}
		},
		"secret": func(v *yaml.Node, p string) {
			secretNode = v
			if s, ok := d.scalar(v, p, "a secret string"); ok {
				if s == "" {
					d.problem(v, p, ErrSecret, "the secret is empty")
				}
				e.Secret = s
			}
		},
		"secret_env": func(v *yaml.Node, p string) {
			secretNode = v
			var name string
			d.name(v, p, &name)
			if name == "" {
				return
			}
			e.SecretEnv = name
			if s, ok := d.env(name); !ok || s == "" {
				d.problem(v, p, ErrSecret, "environment variable %s is not set or empty", name)
			} else {
				e.Secret = s
			}
		},
		"timeout": func(v *yaml.Node, p string) { d.duration(v, p, &e.Timeout) },
		"max_in_flight": func(v *yaml.Node, p string) {
			d.int(v, p, &e.MaxInFlight)
			if e.MaxInFlight > 256 {
				d.problem(v, p, ErrInvalid, "want at most 256, found %d", e.MaxInFlight)
				e.MaxInFlight = DefaultMaxInFlight
			}
		},
	})
	if n.Kind != yaml.MappingNode {
		return e, at
	}
	if keys["name"] == nil {
		d.problem(n, path+".name", ErrMissing, "an endpoint needs a name")
	}
	if keys["url"] == nil {
		d.problem(n, path+".url", ErrMissing, "an endpoint needs a url")
	}
	switch {
	case keys["secret"] != nil && keys["secret_env"] != nil:
		d.problem(secretNode, path+".secret", ErrInvalid, "give secret or secret_env, not both")
	case keys["secret"] == nil && keys["secret_env"] == nil:
		d.problem(n, path+".secret", ErrSecret, "an endpoint needs a secret or secret_env")
	}
	return e, at
}

// trigger decodes one trigger; eps holds where each endpoint name was written.
func (d *decoder) trigger(n *yaml.Node, path string) (Trigger, nodeAt, []nodeAt) {
	var t Trigger
	at := nodeAt{n, path}
	var eps []nodeAt
	keys := d.fields(n, path, map[string]func(*yaml.Node, string){
		"name": func(v *yaml.Node, p string) {
			d.name(v, p, &t.Name)
			at = nodeAt{v, p}
		},
		"description": func(v *yaml.Node, p string) { d.str(v, p, &t.Description) },
		"when":        func(v *yaml.Node, p string) { t.When = d.condition(v, p) },
		"endpoints": func(v *yaml.Node, p string) {
			add := func(e *yaml.Node, p string) {
				var name string
				d.name(e, p, &name)
				if name == "" {
					return
				}
				if slices.Contains(t.Endpoints, name) {
					d.problem(e, p, ErrDuplicate, "endpoint %q is listed twice", name)
					return
				}
				t.Endpoints = append(t.Endpoints, name)
				eps = append(eps, nodeAt{e, p})
			}
			if v.Kind == yaml.ScalarNode {
				add(v, p)
				return
			}
			d.list(v, p, func(_ int, e *yaml.Node, p string) { add(e, p) })
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.problem(v, p, ErrMissing, "a trigger needs at least one endpoint")
			}
		},
	})
	if n.Kind != yaml.MappingNode {
		return t, at, eps
	}
	if keys["name"] == nil {
		d.problem(n, path+".name", ErrMissing, "a trigger needs a name")
	}
	if keys["when"] == nil {
		d.problem(n, path+".when", ErrMissing, "a trigger needs a when (one condition)")
	}
	if keys["endpoints"] == nil {
		d.problem(n, path+".endpoints", ErrMissing, "a trigger needs endpoints")
	}
	return t, at, eps
}

// conditionKeys are the keys of a when mapping, of which exactly one is given.
var conditionKeys = []string{"stage_entered", "stage_left", "mql", "rule_total", "p_convert", "p_churn",
	"segment_entered", "segment_left", "ltv_tier_changed"}

func (d *decoder) condition(n *yaml.Node, path string) Condition {
	var c Condition
	crossing := func(up, down string, lo, hi float64) func(v *yaml.Node, p string) {
		return func(v *yaml.Node, p string) {
			var value *float64
			var dir string
			keys := d.fields(v, p, map[string]func(*yaml.Node, string){
				"crosses": func(v *yaml.Node, p string) {
					f := d.float(v, p)
					if f != nil && (*f < lo || *f > hi) {
						d.problem(v, p, ErrInvalid, "want a probability between %g and %g, found %s", lo, hi, v.Value)
						return
					}
					value = f
				},
				"direction": func(v *yaml.Node, p string) {
					s, ok := d.scalar(v, p, "up or down")
					if !ok {
						return
					}
					if s != "up" && s != "down" {
						d.problem(v, p, ErrInvalid, "want up or down, found %q", s)
						return
					}
					dir = s
				},
			})
			if v.Kind != yaml.MappingNode {
				return
			}
			if keys["crosses"] == nil {
				d.problem(v, p+".crosses", ErrMissing, "a crossing needs crosses: <value>")
			}
			if keys["direction"] == nil {
				d.problem(v, p+".direction", ErrMissing, "a crossing needs direction: up or down")
			}
			if value != nil && dir != "" {
				c.Value = *value
				c.Kind = up
				if dir == "down" {
					c.Kind = down
				}
			}
		}
	}
	named := func(kind string, dst *string) func(v *yaml.Node, p string) {
		return func(v *yaml.Node, p string) {
			d.name(v, p, dst)
			if *dst != "" {
				c.Kind = kind
			}
		}
	}
	inf := math.Inf(1)
	handlers := map[string]func(*yaml.Node, string){
		"stage_entered":   named(KindStageEntered, &c.Stage),
		"stage_left":      named(KindStageLeft, &c.Stage),
		"segment_entered": named(KindSegmentEntered, &c.Segment),
		"segment_left":    named(KindSegmentLeft, &c.Segment),
		"mql": func(v *yaml.Node, p string) {
			s, ok := d.scalar(v, p, "entered or left")
			switch {
			case !ok:
			case s == "entered":
				c.Kind = KindMQLEntered
			case s == "left":
				c.Kind = KindMQLLeft
			default:
				d.problem(v, p, ErrInvalid, "want entered or left, found %q", s)
			}
		},
		"rule_total": crossing(KindRuleTotalCrossedUp, KindRuleTotalCrossedDown, -inf, inf),
		"p_convert":  crossing(KindPConvertCrossedUp, KindPConvertCrossedDown, 0, 1),
		"p_churn":    crossing(KindPChurnCrossedUp, KindPChurnCrossedDown, 0, 1),
		"ltv_tier_changed": func(v *yaml.Node, p string) {
			if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				if strings.ToLower(v.Value) != "true" {
					d.problem(v, p, ErrInvalid, "want true or a mapping {from, to}, found %q", v.Value)
					return
				}
				c.Kind = KindLTVTierChanged
				return
			}
			if v.Kind != yaml.MappingNode {
				d.problem(v, p, ErrInvalid, "want true or a mapping {from, to}, found %s", yamlnode.KindName(v))
				return
			}
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"from": func(v *yaml.Node, p string) { d.name(v, p, &c.From) },
				"to":   func(v *yaml.Node, p string) { d.name(v, p, &c.To) },
			})
			if c.From != "" && c.From == c.To {
				d.problem(v, p, ErrInvalid, "from and to are the same tier %q", c.From)
				return
			}
			c.Kind = KindLTVTierChanged
		},
	}
	keys := d.fields(n, path, handlers)
	if n.Kind == yaml.MappingNode {
		var given []string
		for _, k := range conditionKeys {
			if keys[k] != nil {
				given = append(given, k)
			}
		}
		switch {
		case len(given) == 0 && len(n.Content) == 0:
			d.problem(n, path, ErrMissing, "want one condition of %s", strings.Join(conditionKeys, ", "))
		case len(given) > 1:
			d.problem(keys[given[1]], path, ErrInvalid, "want one condition, found %s", strings.Join(given, " and "))
			c = Condition{}
		}
	}
	return c
}
