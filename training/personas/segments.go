package personas

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/propensity-dev/propensity/models/scorecard"
)

// Errors of segment files.
var (
	ErrSegments     = errors.New("personas: bad segments file")
	ErrUnknownField = errors.New("unknown field")
)

// SegmentError reports a problem with one segment rule.
type SegmentError struct {
	File    string // the segments file, when known
	Line    int    // 1-based line of the segment in File, when known
	Segment string
	Field   string // the offending field, for ErrUnknownField
	Err     error
}

func (e *SegmentError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "segment %q: ", e.Segment)
	if errors.Is(e.Err, ErrUnknownField) {
		fmt.Fprintf(&b, "unknown field %q", e.Field)
		return b.String()
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *SegmentError) Unwrap() error { return e.Err }

// Segment is a named rule in the scorecard condition language (scorecard.ParseExpr), over
// the columns of the input table, the score columns it holds and the persona fields
// persona (name), persona_id and distance.
type Segment struct {
	Name string `json:"name"`
	Rule string `json:"rule"`
	Line int    `json:"-"`
	cond scorecard.Condition
}

// Match reports whether rec belongs to the segment.
func (s *Segment) Match(rec map[string]any) (bool, error) { return s.cond.Match(rec) }

// Fields returns the fields the rule reads.
func (s *Segment) Fields() []string { return s.cond.Fields() }

// PersonaFields are the fields a segment may use besides the table's columns.
var personaFields = []string{"persona", "persona_id", "persona_name", "distance"}

// reserved names cannot be segment names: they are columns of the assignments file.
var reserved = []string{"contact_id", "persona_id", "persona_name", "distance"}

// ParseSegments reads segments from YAML: a mapping from segment name to rule, in order,
// either at the top level or under a "segments" key:
//
//	win_back: p_alive < 0.3 and clv > 200
//	engaged_prospects: n_email_click_30d >= 2 and purchase_count == 0
//
// file is used in error messages only.
func ParseSegments(file string, data []byte) ([]Segment, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", file, ErrSegments, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: %w: empty file", file, ErrSegments)
	}
	m := doc.Content[0]
	if m.Kind == yaml.MappingNode && len(m.Content) == 2 && m.Content[0].Value == "segments" {
		m = m.Content[1]
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: %w: want a mapping of segment name to rule", file, m.Line, ErrSegments)
	}
	var out []Segment
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := k.Value
		if name == "" || strings.ContainsAny(name, ",\n\r\"") {
			return nil, fmt.Errorf("%s:%d: %w: segment name %q must be non-empty without commas or quotes", file, k.Line, ErrSegments, name)
		}
		if seen[name] || slices.Contains(reserved, name) {
			return nil, &SegmentError{File: file, Line: k.Line, Segment: name, Err: fmt.Errorf("%w: name used twice or reserved (%s)", ErrSegments, strings.Join(reserved, ", "))}
		}
		seen[name] = true
		if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
			return nil, &SegmentError{File: file, Line: v.Line, Segment: name, Err: fmt.Errorf("%w: the rule must be a non-empty string", ErrSegments)}
		}
		c, err := scorecard.ParseExpr(v.Value)
		if err != nil {
			return nil, &SegmentError{File: file, Line: v.Line, Segment: name, Err: err}
		}
		out = append(out, Segment{Name: name, Rule: v.Value, Line: v.Line, cond: c})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w: no segments", file, ErrSegments)
	}
	return out, nil
}

// LoadSegments reads a segments YAML file.
func LoadSegments(path string) ([]Segment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSegments(path, data)
}

// CheckFields reports, for the first segment that uses a field neither in columns nor a
// persona field, a *SegmentError naming the segment and the field.
func CheckFields(segs []Segment, columns []string) error {
	known := map[string]bool{}
	for _, c := range columns {
		known[c] = true
	}
	for _, f := range personaFields {
		known[f] = true
	}
	var errs []error
	for _, s := range segs {
		for _, f := range s.Fields() {
			if !known[f] {
				errs = append(errs, &SegmentError{Segment: s.Name, Field: f, Err: ErrUnknownField})
			}
		}
	}
	return errors.Join(errs...)
}
