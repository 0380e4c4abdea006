package table

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultMissing are the text values read as missing, compared case-insensitively after
// trimming spaces; the empty cell is always missing.
var defaultMissing = []string{"na", "n/a", "nan", "null", "none", "-", "?", "#n/a"}

// DefaultMissing returns the default missing-value tokens (lower case).
func DefaultMissing() []string { return append([]string(nil), defaultMissing...) }

// missingSet matches missing-value tokens case-insensitively.
type missingSet struct {
	tokens  map[string]bool
	longest int
}

func newMissingSet(tokens []string) missingSet {
	if tokens == nil {
		tokens = defaultMissing
	}
	m := missingSet{tokens: make(map[string]bool, len(tokens))}
	for _, t := range tokens {
		t = strings.ToLower(strings.TrimSpace(t))
		m.tokens[t] = true
		m.longest = max(m.longest, len(t))
	}
	return m
}

func (m missingSet) is(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > m.longest {
		return false // skip the lower-casing of ordinary values
	}
	return m.tokens[strings.ToLower(s)]
}

// IsMissing reports whether a trimmed cell is missing under the default tokens.
func IsMissing(s string) bool { return newMissingSet(nil).is(strings.TrimSpace(s)) }

// currencies are the signs stripped from the front or back of a number.
var currencies = []string{"$", "€", "£", "¥", "₹", "CHF", "EUR", "USD", "GBP"}

// trimSpace trims ASCII and no-break spaces.
func trimSpace(s string) string { return strings.Trim(s, " \t\u00a0\u202f") }

// stripUnit removes one currency sign (front or back) or a trailing '%' and returns the
// number's text and the unit removed ("" for none).
func stripUnit(s string) (string, string) {
	if strings.HasSuffix(s, "%") {
		return trimSpace(s[:len(s)-1]), "%"
	}
	for _, c := range currencies {
		if strings.HasPrefix(s, c) {
			return trimSpace(s[len(c):]), c
		}
		if strings.HasSuffix(s, c) {
			return trimSpace(s[:len(s)-len(c)]), c
		}
		// "-€12.50"
		if len(s) > 1 && (s[0] == '-' || s[0] == '+') && strings.HasPrefix(s[1:], c) {
			return s[:1] + trimSpace(s[1+len(c):]), c
		}
	}
	return s, ""
}

// ParseNumber reads a trimmed, present cell as a finite number whose decimal mark is mark
// ('.' or ','). Groups of three digits may be separated by the other mark, an apostrophe or
// a (no-break) space; a currency sign or a trailing '%' is stripped and returned as unit.
// Codes with a leading zero ("007") are not numbers: they would lose their zeros.
func ParseNumber(s string, mark byte) (v float64, unit string, ok bool) {
	s, unit = stripUnit(s)
	if strings.ContainsAny(s, "\u00a0\u202f") {
		s = strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(s)
	}
	if s == "" {
		return 0, unit, false
	}
	var b [64]byte
	out := b[:0]
	i := 0
	if s[0] == '-' || s[0] == '+' {
		out = append(out, s[0])
		i++
	}
	intStart := i
	digits, group, grouped := 0, 0, false
	var sep byte
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			out = append(out, c)
			digits++
			group++
			continue
		}
		if c == mark || c == 'e' || c == 'E' {
			break
		}
		// A thousands separator: the other mark, an apostrophe or a space, between groups.
		if !((mark == '.' && c == ',') || (mark == ',' && c == '.') || c == '\'' || c == ' ') {
			return 0, unit, false
		}
		if (sep != 0 && sep != c) || group == 0 || (!grouped && group > 3) || (grouped && group != 3) {
			return 0, unit, false
		}
		sep, grouped, group = c, true, 0
	}
	if digits == 0 || (grouped && group != 3) {
		return 0, unit, false
	}
	if digits > 1 && s[intStart] == '0' {
		return 0, unit, false // "007" is a code; "0.532" has no thousands
	}
	if i < len(s) && s[i] == mark {
		out = append(out, '.')
		i++
		frac := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			out = append(out, s[i])
			frac++
		}
		if frac == 0 && i == len(s) {
			return 0, unit, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		out = append(out, 'e')
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			out = append(out, s[i])
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			out = append(out, s[i])
			exp++
		}
		if exp == 0 {
			return 0, unit, false
		}
	}
	if i != len(s) {
		return 0, unit, false
	}
	v, err := strconv.ParseFloat(string(out), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, unit, false
	}
	return v, unit, true
}

// Date formats, named as users write them.
const (
	DateISO      = "yyyy-mm-dd"
	DateDotDMY   = "dd.mm.yyyy"
	DateSlashDMY = "dd/mm/yyyy"
	DateSlashMDY = "mm/dd/yyyy"
)

// DateFormats lists the date formats understood, for messages.
var dateFormats = []string{DateISO, DateDotDMY, DateSlashDMY, DateSlashMDY}

// ParseDate reads a trimmed cell as a date in format (one of the Date constants); ISO dates
// may carry a time ("2024-03-01 12:30:00", RFC 3339). The result is UTC.
func ParseDate(s, format string) (time.Time, bool) {
	switch format {
	case DateISO:
		if len(s) < 10 || s[4] != '-' || s[7] != '-' {
			return time.Time{}, false
		}
		if len(s) == 10 {
			return ymd(s[:4], s[5:7], s[8:10])
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 -0700"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
	case DateDotDMY, DateSlashDMY, DateSlashMDY:
		sep := byte('/')
		if format == DateDotDMY {
			sep = '.'
		}
		a, b, y, ok := splitDate(s, sep)
		if !ok {
			return time.Time{}, false
		}
		if format == DateSlashMDY {
			a, b = b, a
		}
		return ymd(y, b, a)
	}
	return time.Time{}, false
}

// splitDate splits "d.m.yyyy" (one or two digit day and month) at sep; a time after a
// space is allowed and ignored.
func splitDate(s string, sep byte) (a, b, y string, ok bool) {
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	p := strings.Split(s, string(sep))
	if len(p) != 3 || len(p[0]) < 1 || len(p[0]) > 2 || len(p[1]) < 1 || len(p[1]) > 2 || len(p[2]) != 4 {
		return "", "", "", false
	}
	return p[0], p[1], p[2], true
}

func ymd(ys, ms, ds string) (time.Time, bool) {
	y, e1 := strconv.Atoi(ys)
	m, e2 := strconv.Atoi(ms)
	d, e3 := strconv.Atoi(ds)
	if e1 != nil || e2 != nil || e3 != nil || m < 1 || m > 12 || d < 1 || d > 31 || y < 1000 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// booleans are the value pairs read as a boolean, true first.
var booleans = [][2]string{{"yes", "no"}, {"true", "false"}, {"ja", "nein"}, {"y", "n"}, {"t", "f"}, {"1", "0"}, {"oui", "non"}, {"si", "no"}}

// boolPair returns the pair that a column's distinct lower-cased values belong to.
func boolPair(values []string) (int, bool) {
	for k, p := range booleans {
		ok := len(values) > 0
		for _, v := range values {
			ok = ok && (v == p[0] || v == p[1])
		}
		if ok {
			return k, true
		}
	}
	return 0, false
}
