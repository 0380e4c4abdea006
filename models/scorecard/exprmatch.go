package scorecard

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/models/frame"
)

// Evaluation of compiled conditions: how a record value compares with a literal.

func (n *andNode) match(rec map[string]any) (bool, error) {
	ok, err := n.a.match(rec)
	if err != nil || !ok {
		return false, err
	}
	return n.b.match(rec)
}
func (n *orNode) match(rec map[string]any) (bool, error) {
	ok, err := n.a.match(rec)
	if err != nil || ok {
		return ok, err
	}
	return n.b.match(rec)
}
func (n *notNode) match(rec map[string]any) (bool, error) {
	ok, err := n.a.match(rec)
	return !ok && err == nil, err
}

func (p *pred) match(rec map[string]any) (bool, error) {
	v, ok := rec[p.field]
	missing := !ok || isMissing(v)
	switch p.op {
	case opMissing:
		return missing, nil
	case opPresent:
		return !missing, nil
	case opNe, opNotIn, opNotMatches:
		if missing {
			return true, nil
		}
	}
	if missing {
		return false, nil
	}
	switch p.op {
	case opEq:
		return equal(v, p.lit), nil
	case opNe:
		return !equal(v, p.lit), nil
	case opIn, opNotIn:
		in := false
		for _, l := range p.list {
			if equal(v, l) {
				in = true
				break
			}
		}
		return in == (p.op == opIn), nil
	case opMatches, opNotMatches:
		s, ok := asString(v)
		if !ok {
			return false, &MatchError{p.field, v, opNames[p.op], ErrType}
		}
		return p.re.MatchString(s) == (p.op == opMatches), nil
	}
	c, ok := compare(v, p.lit)
	if !ok {
		return false, &MatchError{p.field, v, opNames[p.op], ErrType}
	}
	switch p.op {
	case opLt:
		return c < 0, nil
	case opLe:
		return c <= 0, nil
	case opGt:
		return c > 0, nil
	default: // opGe
		return c >= 0, nil
	}
}

// isMissing reports whether v stands for "no value".
func isMissing(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case time.Time:
		return x.IsZero()
	case float64:
		return math.IsNaN(x)
	case float32:
		return math.IsNaN(float64(x))
	}
	return false
}

// asNumber converts numeric Go values (frame.Number), json.Number and numeric strings to
// float64.
func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && finite(f)
	case string:
		// Text reads as a number only when it is a finite one: "Infinity", "-inf" and "NaN"
		// are no more a number than "forty" is (comparing them is a type error).
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && finite(f)
	}
	return frame.Number(v)
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// asString gives the text of strings, and of numbers and booleans for regex matching.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case fmt.Stringer:
		return x.String(), true
	}
	if f, ok := asNumber(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}

func equal(v any, l literal) bool {
	switch l.kind {
	case 'n':
		f, ok := asNumber(v)
		return ok && f == l.num
	case 'b':
		switch x := v.(type) {
		case bool:
			return x == l.b
		case string: // batch history reads boolean columns as "true"/"false"
			return strings.EqualFold(x, strconv.FormatBool(l.b))
		}
		return false
	}
	if t, ok := v.(time.Time); ok {
		return l.tm != nil && t.Equal(*l.tm)
	}
	s, ok := v.(string)
	return ok && s == l.str
}

// compare orders v against l: -1, 0, +1, and false when they cannot be ordered.
func compare(v any, l literal) (int, bool) {
	switch l.kind {
	case 'n':
		f, ok := asNumber(v)
		if !ok {
			return 0, false
		}
		switch {
		case f < l.num:
			return -1, true
		case f > l.num:
			return 1, true
		}
		return 0, true
	case 's':
		if t, ok := v.(time.Time); ok && l.tm != nil {
			return t.Compare(*l.tm), true
		}
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(s, l.str), true
	}
	return 0, false
}
