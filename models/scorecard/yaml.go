package scorecard

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/propensity-dev/propensity/internal/yamlnode"
)

// decoder walks a YAML node tree into configs, recording every problem with its line
// instead of stopping at the first, and the line of every field for Validate.
type decoder struct {
	file   string
	prefix string
	lines  map[string]int
	errs   []error
}

func (d *decoder) problem(n *yaml.Node, path string, sentinel error, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &ConfigError{
		File: d.file, Line: line, Field: d.prefix + path, Detail: fmt.Sprintf(format, a...), Err: sentinel,
	})
}

// walker walks nodes for d: problems wrap the package's sentinels, and the line of every
// field and list element is recorded for Validate.
func (d *decoder) walker() yamlnode.Walker {
	return yamlnode.Walker{
		Report: func(at *yaml.Node, p string, sentinel error, msg string) {
			d.problem(at, p, sentinel, "%s", msg)
		},
		Invalid: ErrInvalid, Unknown: ErrUnknownField, Duplicate: ErrDuplicate,
		Visit: func(n *yaml.Node, p string) { d.lines[p] = n.Line },
	}
}

// fields walks mapping n, calling the handler of each key in file order; unknown and
// repeated keys are problems.
func (d *decoder) fields(n *yaml.Node, path string, handlers map[string]func(v *yaml.Node, p string)) {
	d.walker().Fields(n, path, handlers)
}

func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	return d.walker().Scalar(n, path, want)
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
	if err != nil {
		d.problem(n, path, ErrInvalid, "want a whole number, found %q", s)
		return
	}
	*dst = int(v)
}

func (d *decoder) float(n *yaml.Node, path string, dst **float64) {
	s, ok := d.scalar(n, path, "a number")
	if !ok {
		return
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.problem(n, path, ErrInvalid, "want a finite number, found %q", s)
		return
	}
	*dst = &v
}

func (d *decoder) bool(n *yaml.Node, path string, dst *bool) {
	s, ok := d.scalar(n, path, "true or false")
	if !ok {
		return
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		*dst = true
	case "false", "no", "off":
		*dst = false
	default:
		d.problem(n, path, ErrInvalid, "want true or false, found %q", s)
	}
}

func (d *decoder) duration(n *yaml.Node, path string, dst *time.Duration) {
	s, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	v, err := ParseDuration(s)
	if err != nil {
		d.problem(n, path, ErrInvalid, "%v", err)
		return
	}
	*dst = v
}

// strings reads a string or a list of strings.
func (d *decoder) strings(n *yaml.Node, path string, dst *[]string) {
	if n.Kind == yaml.ScalarNode {
		var s string
		d.str(n, path, &s)
		d.lines[path+"[0]"] = n.Line
		*dst = []string{s}
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, ErrInvalid, "want a string or a list of strings, found %s", yamlnode.KindName(n))
		return
	}
	*dst = []string{}
	for i, e := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = e.Line
		var s string
		d.str(yamlnode.Resolve(e), p, &s)
		*dst = append(*dst, s)
	}
}

func (d *decoder) list(n *yaml.Node, path string, each func(i int, e *yaml.Node, p string)) {
	d.walker().List(n, path, each)
}

// condition reads an attribute condition: an expression string, a structured mapping
// {attribute, equals, not_equals, in, not_in, min, max, matches, missing}, or a list of
// those, all of which must hold.
func (d *decoder) condition(n *yaml.Node, path string, dst *Condition) {
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := d.scalar(n, path, "a condition")
		if !ok {
			return
		}
		c, err := ParseExpr(s)
		if err != nil {
			d.problem(n, path, ErrPattern, "%v", err)
			return
		}
		*dst = c
	case yaml.SequenceNode:
		var all []Condition
		d.list(n, path, func(_ int, e *yaml.Node, p string) {
			var c Condition
			d.condition(e, p, &c)
			all = append(all, c)
		})
		*dst = And(all...)
	case yaml.MappingNode:
		var field string
		var preds []cnode
		lit := func(v *yaml.Node, p string) (literal, bool) {
			s, ok := d.scalar(v, p, "a value")
			if !ok {
				return literal{}, false
			}
			switch v.Tag {
			case "!!int", "!!float":
				f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
				if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
					return literal{kind: 'n', num: f}, true
				}
			case "!!bool":
				var b bool
				d.bool(v, p, &b)
				return literal{kind: 'b', b: b}, true
			}
			return strLit(s), true
		}
		add := func(op int) func(v *yaml.Node, p string) {
			return func(v *yaml.Node, p string) {
				pr := &pred{op: op}
				switch op {
				case opIn, opNotIn:
					d.list(v, p, func(_ int, e *yaml.Node, ep string) {
						if l, ok := lit(e, ep); ok {
							pr.list = append(pr.list, l)
						}
					})
					if len(pr.list) == 0 {
						return
					}
				case opMatches:
					s, ok := d.scalar(v, p, "a regular expression")
					if !ok {
						return
					}
					re, err := regexp.Compile(s)
					if err != nil {
						d.problem(v, p, ErrPattern, "bad regular expression: %v", err)
						return
					}
					pr.re = re
				case opMissing:
					b := true
					d.bool(v, p, &b)
					if !b {
						pr.op = opPresent
					}
				default:
					l, ok := lit(v, p)
					if !ok {
						return
					}
					if l.kind == 'b' && op != opEq && op != opNe {
						d.problem(v, p, ErrInvalid, "cannot order booleans")
						return
					}
					pr.lit = l
				}
				preds = append(preds, pr)
			}
		}
		d.fields(n, path, map[string]func(*yaml.Node, string){
			"attribute":  func(v *yaml.Node, p string) { d.str(v, p, &field) },
			"equals":     add(opEq),
			"not_equals": add(opNe),
			"in":         add(opIn),
			"not_in":     add(opNotIn),
			"min":        add(opGe),
			"max":        add(opLe),
			"matches":    add(opMatches),
			"missing":    add(opMissing),
		})
		if field == "" {
			d.problem(n, path+".attribute", ErrMissing, "a structured condition needs attribute")
			return
		}
		if len(preds) == 0 && len(n.Content) <= 2 {
			d.problem(n, path, ErrMissing, "a structured condition needs one of equals, not_equals, in, not_in, min, max, matches, missing")
			return
		}
		var c Condition
		for _, p := range preds {
			p.(*pred).field = field
			c = And(c, Condition{p})
		}
		*dst = c
	default:
		d.problem(n, path, ErrInvalid, "want a condition, found %s", yamlnode.KindName(n))
	}
}

func (d *decoder) event(n *yaml.Node, path string) *EventMatch {
	e := &EventMatch{}
	d.fields(n, path, map[string]func(*yaml.Node, string){
		"type":       func(v *yaml.Node, p string) { d.strings(v, p, &e.Types) },
		"page":       func(v *yaml.Node, p string) { d.str(v, p, &e.Page) },
		"page_regex": func(v *yaml.Node, p string) { d.str(v, p, &e.PageRegex) },
		"channel":    func(v *yaml.Node, p string) { d.str(v, p, &e.Channel) },
		"campaign":   func(v *yaml.Node, p string) { d.str(v, p, &e.Campaign) },
		"value": func(v *yaml.Node, p string) {
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"min": func(v *yaml.Node, p string) { d.float(v, p, &e.MinValue) },
				"max": func(v *yaml.Node, p string) { d.float(v, p, &e.MaxValue) },
			})
		},
	})
	return e
}

func (d *decoder) rule(n *yaml.Node, path string, r *RuleConfig) {
	d.fields(n, path, map[string]func(*yaml.Node, string){
		"name":        func(v *yaml.Node, p string) { d.str(v, p, &r.Name) },
		"dimension":   func(v *yaml.Node, p string) { d.str(v, p, &r.Dimension) },
		"points":      func(v *yaml.Node, p string) { d.int(v, p, &r.Points) },
		"gate":        func(v *yaml.Node, p string) { d.bool(v, p, &r.Gate) },
		"when":        func(v *yaml.Node, p string) { d.condition(v, p, &r.When) },
		"event":       func(v *yaml.Node, p string) { r.Event = d.event(v, p) },
		"within":      func(v *yaml.Node, p string) { d.duration(v, p, &r.Within) },
		"min_count":   func(v *yaml.Node, p string) { d.int(v, p, &r.MinCount) },
		"repeatable":  func(v *yaml.Node, p string) { d.bool(v, p, &r.Repeatable) },
		"per_day_cap": func(v *yaml.Node, p string) { d.int(v, p, &r.PerDayCap) },
		"decay": func(v *yaml.Node, p string) {
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"half_life": func(v *yaml.Node, p string) { d.duration(v, p, &r.Decay.HalfLife) },
				"window":    func(v *yaml.Node, p string) { d.duration(v, p, &r.Decay.Window) },
			})
		},
	})
	if r.MinCount == 0 {
		if _, given := d.lines[path+".min_count"]; given {
			r.MinCount = explicitZeroMinCount // an explicit 0 is a mistake, not the default
		}
	}
}

func (d *decoder) grades(n *yaml.Node, path string, dst *[3]int, set *bool) {
	d.list(n, path, func(i int, e *yaml.Node, p string) {
		if i < 3 {
			d.int(e, p, &dst[i])
		}
	})
	if n.Kind == yaml.SequenceNode && len(n.Content) != 3 {
		d.problem(n, path, ErrInvalid, "want 3 cut points, found %d", len(n.Content))
	}
	*set = true
}

func (d *decoder) capField(n *yaml.Node, path string, dst **int) {
	var v int
	d.int(n, path, &v)
	*dst = &v
}

// scorecard decodes one scorecard mapping (without validating it).
func (d *decoder) scorecard(n *yaml.Node) Config {
	c := Config{file: d.file, prefix: d.prefix, lines: d.lines}
	d.lines[""] = n.Line
	d.fields(n, "", map[string]func(*yaml.Node, string){
		"name":        func(v *yaml.Node, p string) { d.str(v, p, &c.Name) },
		"version":     func(v *yaml.Node, p string) { d.str(v, p, &c.Version) },
		"description": func(v *yaml.Node, p string) { d.str(v, p, &c.Description) },
		"audience":    func(v *yaml.Node, p string) { d.condition(v, p, &c.Audience) },
		"event_types": func(v *yaml.Node, p string) { d.strings(v, p, &c.EventTypes) },
		"mql_stage":   func(v *yaml.Node, p string) { d.str(v, p, &c.MQLStage) },
		"thresholds": func(v *yaml.Node, p string) {
			c.Thresholds = []Threshold{}
			d.list(v, p, func(_ int, e *yaml.Node, p string) {
				var t Threshold
				d.fields(e, p, map[string]func(*yaml.Node, string){
					"stage":  func(v *yaml.Node, p string) { d.str(v, p, &t.Stage) },
					"points": func(v *yaml.Node, p string) { d.int(v, p, &t.Points) },
				})
				c.Thresholds = append(c.Thresholds, t)
			})
		},
		"grades": func(v *yaml.Node, p string) {
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"fit":        func(v *yaml.Node, p string) { d.grades(v, p, &c.Grades.Fit, &c.Grades.set[0]) },
				"engagement": func(v *yaml.Node, p string) { d.grades(v, p, &c.Grades.Engagement, &c.Grades.set[1]) },
			})
		},
		"caps": func(v *yaml.Node, p string) {
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"fit":        func(v *yaml.Node, p string) { d.capField(v, p, &c.Caps.Fit) },
				"engagement": func(v *yaml.Node, p string) { d.capField(v, p, &c.Caps.Engagement) },
				"lifecycle":  func(v *yaml.Node, p string) { d.capField(v, p, &c.Caps.Lifecycle) },
				"total":      func(v *yaml.Node, p string) { d.capField(v, p, &c.Caps.Total) },
			})
		},
		"lifecycle": func(v *yaml.Node, p string) {
			d.fields(v, p, map[string]func(*yaml.Node, string){
				"attribute": func(v *yaml.Node, p string) { d.str(v, p, &c.Lifecycle.Attribute) },
				"stages": func(v *yaml.Node, p string) {
					d.list(v, p, func(_ int, e *yaml.Node, p string) {
						var s LifecycleStage
						d.fields(e, p, map[string]func(*yaml.Node, string){
							"name":   func(v *yaml.Node, p string) { d.str(v, p, &s.Name) },
							"points": func(v *yaml.Node, p string) { d.int(v, p, &s.Points) },
							"when":   func(v *yaml.Node, p string) { d.condition(v, p, &s.When) },
							"event":  func(v *yaml.Node, p string) { s.Event = d.event(v, p) },
						})
						c.Lifecycle.Stages = append(c.Lifecycle.Stages, s)
					})
				},
			})
		},
		"rules": func(v *yaml.Node, p string) {
			d.list(v, p, func(_ int, e *yaml.Node, p string) {
				var r RuleConfig
				d.rule(e, p, &r)
				c.Rules = append(c.Rules, r)
			})
		},
	})
	return c
}

// UnmarshalYAML decodes one scorecard, applies defaults and validates it, reporting every
// problem at once.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	d := &decoder{lines: map[string]int{}}
	*c = d.scorecard(yamlnode.Resolve(n))
	d.errs = append(d.errs, c.validate()...)
	sortProblems(d.errs)
	return errors.Join(d.errs...)
}

// ParseConfigs decodes the scorecards of one YAML document: either a single scorecard or a
// mapping with a `scorecards:` list. name is the file name used in errors. Every problem,
// structural or semantic, is reported at once as errors.Join of *ConfigError.
func ParseConfigs(data []byte, name string) ([]Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlnode.SyntaxError(err)
		return nil, &ConfigError{File: name, Line: line, Detail: "not valid YAML: " + msg, Err: ErrInvalid}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &ConfigError{File: name, Detail: "empty file: want a scorecard or a scorecards list", Err: ErrMissing}
	}
	root := yamlnode.Resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: name, Line: root.Line, Detail: "want a scorecard (a mapping with name, version, rules) or a scorecards list, found " + yamlnode.KindName(root), Err: ErrInvalid}
	}
	d := &decoder{file: name}
	var cfgs []Config
	isList := false
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "scorecards" {
				isList = true
			}
		}
	}
	if isList {
		d.lines = map[string]int{}
		d.fields(root, "", map[string]func(*yaml.Node, string){
			"scorecards": func(v *yaml.Node, p string) {
				d.list(v, p, func(i int, e *yaml.Node, p string) {
					d.prefix = p + "."
					d.lines = map[string]int{}
					cfgs = append(cfgs, d.scorecard(e))
				})
				d.prefix = ""
				if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
					d.problem(v, p, ErrMissing, "no scorecards listed")
				}
			},
		})
	} else {
		d.lines = map[string]int{}
		cfgs = append(cfgs, d.scorecard(root))
	}
	names := map[string]bool{}
	for i := range cfgs {
		c := &cfgs[i]
		d.errs = append(d.errs, c.validate()...)
		if c.Name != "" && names[c.Name] {
			d.errs = append(d.errs, &ConfigError{File: name, Line: c.line("name"), Field: c.prefix + "name",
				Detail: fmt.Sprintf("scorecard %q is defined twice", c.Name), Err: ErrDuplicate})
		}
		names[c.Name] = true
	}
	sortProblems(d.errs)
	if err := errors.Join(d.errs...); err != nil {
		return nil, err
	}
	return cfgs, nil
}

// sortProblems orders problems by line, so that a file's messages read top to bottom.
func sortProblems(errs []error) {
	line := func(err error) int {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return ce.Line
		}
		return 0
	}
	slices.SortStableFunc(errs, func(a, b error) int { return line(a) - line(b) })
}

// maxDuration is the longest duration ParseDuration accepts. No scorecard window or job
// horizon spans a century, so a longer one is a typo; the bound also keeps d and w values
// clear of time.Duration's range (about 292 years), where the float conversion is undefined.
const maxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration parses a duration with a d (days), w (weeks) or h suffix, or anything
// time.ParseDuration accepts. It must be positive and at most maxDuration (a century); NaN and Inf are
// rejected. The scorecard YAML and the command-line flags both read durations with it.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a positive duration (want e.g. 30d, 2w, 12h)", s)
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, bad
	}
	var d time.Duration
	switch unit := s[len(s)-1]; unit {
	case 'd', 'w':
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		day := 24 * time.Hour
		if unit == 'w' {
			day *= 7
		}
		if err != nil || math.IsNaN(n) || n <= 0 || n*float64(day) > float64(maxDuration) {
			return 0, bad
		}
		d = time.Duration(n * float64(day))
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 || d > maxDuration {
		return 0, bad
	}
	return d, nil
}
