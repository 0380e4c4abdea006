package scorecard

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MarshalConfigs writes configs in the scorecard YAML format (one scorecard, or several under
// `scorecards:`), so that ParseConfigs and Parse read them back to the same configs. header
// lines are written first as comments.
func MarshalConfigs(cfgs []Config, header []string) []byte {
	var b bytes.Buffer
	for _, h := range header {
		for _, l := range strings.Split(h, "\n") {
			b.WriteString(strings.TrimRight("# "+strings.Map(commentRune, l), " "))
			b.WriteByte('\n')
		}
	}
	if len(cfgs) == 1 {
		writeConfig(&b, cfgs[0], "", "")
		return b.Bytes()
	}
	b.WriteString("scorecards:\n")
	for _, c := range cfgs {
		writeConfig(&b, c, "  - ", "    ")
	}
	return b.Bytes()
}

// commentRune keeps a comment on its line and within what YAML allows: control
// characters, a byte order mark and the Unicode line breaks become spaces.
func commentRune(r rune) rune {
	if r == '\t' || !unicode.IsControl(r) && r != 0x2028 && r != 0x2029 && r != 0xFEFF && r != utf8.RuneError {
		return r
	}
	return ' '
}

// yamlQuote returns s as a YAML double-quoted scalar: backslash and quote escaped, and every
// character outside YAML's printable set (YAML 1.2 §5.1) written as \uXXXX.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029,
			r >= 0xe000 && r <= 0xfffd && r != 0xfeff, r >= 0x10000 && r <= 0x10ffff:
			b.WriteRune(r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// durationYAML writes a whole number of days as "Nd" (suggested scorecards have always
// written 14 days as "14d", not durationText's "2w"), anything else in Go's form.
func durationYAML(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

func writeConfig(b *bytes.Buffer, c Config, first, ind string) {
	line := func(format string, a ...any) {
		b.WriteString(ind)
		fmt.Fprintf(b, format, a...)
		b.WriteByte('\n')
	}
	b.WriteString(first)
	fmt.Fprintf(b, "name: %s\n", yamlQuote(c.Name))
	line("version: %s", yamlQuote(c.Version))
	if c.Description != "" {
		line("description: %s", yamlQuote(c.Description))
	}
	if !c.Audience.IsZero() {
		line("audience: %s", yamlQuote(c.Audience.String()))
	}
	if len(c.EventTypes) > 0 {
		line("event_types: %s", yamlQuoteList(c.EventTypes))
	}
	if len(c.Thresholds) > 0 {
		line("thresholds:")
		for _, t := range c.Thresholds {
			line("  - {stage: %s, points: %d}", yamlQuote(t.Stage), t.Points)
		}
	}
	if c.MQLStage != "" {
		line("mql_stage: %s", yamlQuote(c.MQLStage))
	}
	// Zero cut points are unset (the engine's defaults apply), as in New.
	if c.Grades.Fit != [3]int{} || c.Grades.Engagement != [3]int{} {
		line("grades:")
		if c.Grades.Fit != [3]int{} {
			line("  fit: [%d, %d, %d]", c.Grades.Fit[0], c.Grades.Fit[1], c.Grades.Fit[2])
		}
		if c.Grades.Engagement != [3]int{} {
			line("  engagement: [%d, %d, %d]", c.Grades.Engagement[0], c.Grades.Engagement[1], c.Grades.Engagement[2])
		}
	}
	var caps []string
	for _, cp := range []struct {
		name string
		v    *int
	}{{"fit", c.Caps.Fit}, {"engagement", c.Caps.Engagement}, {"lifecycle", c.Caps.Lifecycle}, {"total", c.Caps.Total}} {
		if cp.v != nil {
			caps = append(caps, fmt.Sprintf("%s: %d", cp.name, *cp.v))
		}
	}
	if len(caps) > 0 {
		line("caps: {%s}", strings.Join(caps, ", "))
	}
	if len(c.Lifecycle.Stages) > 0 {
		line("lifecycle:")
		line("  attribute: %s", yamlQuote(c.Lifecycle.Attribute))
		line("  stages:")
		for _, s := range c.Lifecycle.Stages {
			parts := []string{"name: " + yamlQuote(s.Name), "points: " + strconv.Itoa(s.Points)}
			if !s.When.IsZero() {
				parts = append(parts, "when: "+yamlQuote(s.When.String()))
			}
			if s.Event != nil {
				parts = append(parts, "event: "+eventYAML(s.Event))
			}
			line("    - {%s}", strings.Join(parts, ", "))
		}
	}
	if len(c.Rules) == 0 {
		line("rules: []")
		return
	}
	line("rules:")
	for _, r := range c.Rules {
		line("  - name: %s", yamlQuote(r.Name))
		if r.Gate {
			line("    gate: true")
		} else {
			if r.Dimension != "" {
				line("    dimension: %s", r.Dimension)
			}
			line("    points: %d", r.Points)
		}
		if !r.When.IsZero() {
			line("    when: %s", yamlQuote(r.When.String()))
		}
		if r.Event != nil {
			line("    event: %s", eventYAML(r.Event))
		}
		if r.Within > 0 {
			line("    within: %s", durationYAML(r.Within))
		}
		if r.MinCount > 1 {
			line("    min_count: %d", r.MinCount)
		}
		if r.Repeatable {
			line("    repeatable: true")
		}
		if r.PerDayCap > 0 {
			line("    per_day_cap: %d", r.PerDayCap)
		}
		switch {
		case r.Decay.HalfLife > 0:
			line("    decay: {half_life: %s}", durationYAML(r.Decay.HalfLife))
		case r.Decay.Window > 0:
			line("    decay: {window: %s}", durationYAML(r.Decay.Window))
		}
	}
}

func yamlQuoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = yamlQuote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func eventYAML(e *EventMatch) string {
	var parts []string
	if len(e.Types) == 1 {
		parts = append(parts, "type: "+yamlQuote(e.Types[0]))
	} else if len(e.Types) > 1 {
		parts = append(parts, "type: "+yamlQuoteList(e.Types))
	}
	for _, f := range []struct{ k, v string }{{"page", e.Page}, {"page_regex", e.PageRegex}, {"channel", e.Channel}, {"campaign", e.Campaign}} {
		if f.v != "" {
			parts = append(parts, f.k+": "+yamlQuote(f.v))
		}
	}
	var vr []string
	if e.MinValue != nil {
		vr = append(vr, "min: "+formatNum(*e.MinValue))
	}
	if e.MaxValue != nil {
		vr = append(vr, "max: "+formatNum(*e.MaxValue))
	}
	if len(vr) > 0 {
		parts = append(parts, "value: {"+strings.Join(vr, ", ")+"}")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// formatNum writes x in the shortest decimal form that reads back as x, without an exponent.
func formatNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
