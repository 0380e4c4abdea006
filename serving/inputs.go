package serving

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/propensity-dev/propensity/features"
)

// InputNamer is implemented by block models that can name the feature columns they read
// (RecordClassifier, the persona block). The scorer uses it to tell which attributes of a
// profile a model reads; a model without it is taken to read every attribute of the set's
// feature options.
type InputNamer interface {
	InputNames() []string
}

// FieldNamer is implemented by a rules block that can name the attributes its scorecards
// read (the scorecard rules of NewRules).
type FieldNamer interface {
	Fields() []string
}

// EventNeeder is implemented by a rules block that can tell which events can change its
// answers (the scorecard rules of NewRules, with scorecard.Set.Needs): an event of a type
// and page it does not need leaves every rules block the same.
type EventNeeder interface {
	Needs(typ, page string) bool
}

// inputInfo is what a model set reads of a profile's attributes, worked out once per set.
type inputInfo struct {
	// open: models that compute features read whatever attributes a profile holds (the
	// set records no attribute list), so no attribute is unknown or missing for them.
	open bool
	// known holds every attribute something of the set reads (models, scorecards, and the
	// contact columns with a meaning of their own: created_at, stage, stage_since, email).
	known map[string]bool
	// attrs are the attributes the loaded models read, in feature-option order, with the
	// blocks reading each and whether it is numeric.
	attrs []modelAttr
	// blockAttrs lists, per model block, the attributes it reads.
	blockAttrs map[string][]string
	// reserved are the contact columns with a meaning of their own.
	reserved []string
	// numeric holds the models' attributes read as numbers.
	numeric map[string]bool
}

type modelAttr struct {
	name    string
	numeric bool
	blocks  []string
	// who names the blocks for messages; missing is the warning when the profile lacks it.
	who     string
	missing Warning
}

// inputInfo returns the set's inputInfo, worked out on first use.
func (s *ModelSet) inputInfo() *inputInfo {
	s.infoOnce.Do(func() { s.info = newInputInfo(s) })
	return s.info
}

func newInputInfo(s *ModelSet) *inputInfo {
	cm := s.FeatureOptions.EnsureDefaults().Mapping.Contacts
	info := &inputInfo{known: map[string]bool{}, blockAttrs: map[string][]string{}, numeric: map[string]bool{},
		reserved: []string{cm.CreatedAt, cm.Stage, cm.StageSince}}
	for _, k := range []string{cm.CreatedAt, cm.Stage, cm.StageSince, cm.Email} {
		info.known[k] = true
	}
	if fn, ok := s.Rules.(FieldNamer); ok && s.Rules != nil {
		for _, f := range fn.Fields() {
			info.known[f] = true
		}
	}
	type block struct {
		name  string
		model any
	}
	var blocks []block
	for _, b := range []block{{BlockConversion, s.Conversion}, {BlockChurn, s.Churn}, {BlockPersona, s.Personas}, {BlockUplift, s.Uplift}} {
		if b.model != nil {
			blocks = append(blocks, b)
		}
	}
	attrs := s.FeatureOptions.Attributes
	if attrs == nil {
		info.open = len(blocks) > 0
		return info
	}
	for _, b := range blocks {
		var reads func(string) bool
		if n, ok := b.model.(InputNamer); ok {
			in := map[string]bool{}
			for _, name := range n.InputNames() {
				in[name] = true
			}
			reads = func(a string) bool { return in[a] }
		} else {
			reads = func(string) bool { return true }
		}
		for _, a := range attrs {
			if reads(a.Name) {
				info.blockAttrs[b.name] = append(info.blockAttrs[b.name], a.Name)
			}
		}
	}
	for _, a := range attrs {
		ma := modelAttr{name: a.Name, numeric: !a.Categorical}
		for _, b := range blocks {
			if slices.Contains(info.blockAttrs[b.name], a.Name) {
				ma.blocks = append(ma.blocks, b.name)
			}
		}
		if len(ma.blocks) > 0 {
			ma.who = strings.Join(ma.blocks, ", ")
			ma.missing = Warning{Field: "attributes." + a.Name, Code: WarnMissingInput,
				Message: fmt.Sprintf("not in the profile; the %s model(s) take it as missing", ma.who)}
			info.attrs = append(info.attrs, ma)
			info.known[a.Name] = true
			info.numeric[a.Name] = ma.numeric
		}
	}
	return info
}

// warnings lists what the models do not get of p as sent, in a fixed order: unknown
// attributes (by name), then the models' attributes that are missing or of the wrong type.
func (info *inputInfo) warnings(p *features.Profile) []Warning {
	var buf [16]string
	unknown := buf[:0]
	if !info.open {
		for k := range p.Attributes {
			if !info.known[k] {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
	}
	out := make([]Warning, 0, len(unknown)+len(info.attrs))
	for _, k := range unknown {
		out = append(out, Warning{Field: "attributes." + k, Code: WarnUnknownAttribute,
			Message: "no loaded model or scorecard reads this attribute; it is ignored"})
	}
	for i := range info.attrs {
		a := &info.attrs[i]
		v, ok := p.Attributes[a.name]
		switch {
		case !ok || v == nil:
			out = append(out, a.missing)
		case a.numeric && !isNumber(v):
			out = append(out, Warning{Field: a.missing.Field, Code: WarnWrongType,
				Message: fmt.Sprintf("%s is not a number; the %s model(s) take it as missing", describe(v), a.who)})
		}
	}
	return out
}

// isNumber reports whether v is read as a number by the feature code (a JSON number, or a
// string holding one).
func isNumber(v any) bool {
	switch x := v.(type) {
	case float64:
		return !math.IsNaN(x)
	case float32, int, int64, int32:
		return true
	case string:
		_, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return err == nil
	}
	return false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return "the boolean " + strconv.FormatBool(x)
	}
	return fmt.Sprintf("%v", v)
}

// hasInputs reports whether p gives the model block anything to go on: an attribute it
// reads, a contact column with a meaning of its own (created_at, stage), or an event or
// transaction before the as-of time. Without any, a model would answer its prior as if it
// knew the contact. A precomputed feature row (Options.Row) tells of the history instead of
// the profile's events, which may then be only those the scorecards read.
func (info *inputInfo) hasInputs(block string, p *features.Profile, row *features.Row) bool {
	if row != nil {
		if v, ok := row.Float("days_since_last_event"); ok && !math.IsNaN(v) {
			return true
		}
		if v, ok := row.Float("purchase_count"); ok && v > 0 {
			return true
		}
	}
	for _, e := range p.Events {
		if e.TS.Before(p.AsOf) {
			return true
		}
	}
	for _, t := range p.Transactions {
		if t.TS.Before(p.AsOf) {
			return true
		}
	}
	present := func(k string) bool { v, ok := p.Attributes[k]; return ok && v != nil }
	for _, k := range info.reserved {
		if present(k) {
			return true
		}
	}
	if info.open {
		for _, v := range p.Attributes {
			if v != nil {
				return true
			}
		}
		return false
	}
	for _, k := range info.blockAttrs[block] {
		// A value the model cannot read (wrong_type) gives it nothing either.
		if present(k) && (!info.numeric[k] || isNumber(p.Attributes[k])) {
			return true
		}
	}
	return false
}
