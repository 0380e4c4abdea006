package scorecard

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of the condition language.
var (
	// ErrSyntax is wrapped by the *SyntaxError that ParseExpr returns.
	ErrSyntax = errors.New("scorecard: bad condition")
	// ErrType is returned by Condition.Match when a value cannot be compared with a constant
	// (for example a string ordered against a number).
	ErrType = errors.New("scorecard: value of the wrong type")
)

// SyntaxError reports where a condition expression could not be parsed.
type SyntaxError struct {
	Expr   string // the whole expression
	Offset int    // byte offset of the problem in Expr
	Msg    string // what was expected
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bad condition %q at offset %d: %s", e.Expr, e.Offset, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// MatchError reports a record value that a condition could not compare.
type MatchError struct {
	Field string // the record field
	Value any    // its value
	Op    string // the comparison, e.g. "<"
	Err   error  // ErrType
}

func (e *MatchError) Error() string {
	return fmt.Sprintf("field %q: cannot apply %s to %T value %v", e.Field, e.Op, e.Value, e.Value)
}

// Unwrap returns the underlying sentinel.
func (e *MatchError) Unwrap() error { return e.Err }

// Condition is a compiled test on a flat record (attributes, features, scores). The zero
// Condition matches every record.
//
// Values compare as follows. A field that is absent, nil, NaN or the empty string is missing:
// every comparison with it is false except != and "not in", which are true. Numbers of any Go
// type (and json.Number) compare numerically; a string that parses as a number compares with
// a number constant as that number, and the strings "true" and "false" (any case) equal the
// boolean constants (history files' boolean columns are read as such strings). Strings
// order lexically. Equality between different kinds
// is false; ordering between different kinds is an error wrapping ErrType.
type Condition struct {
	root cnode
}

// Match reports whether rec satisfies c.
func (c Condition) Match(rec map[string]any) (bool, error) {
	if c.root == nil {
		return true, nil
	}
	return c.root.match(rec)
}

// Fields returns the record fields c reads, sorted and without duplicates, so that callers
// can report fields their records do not have.
func (c Condition) Fields() []string {
	var out []string
	if c.root != nil {
		c.root.fields(&out)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// String returns c in the expression syntax; ParseExpr(c.String()) gives an equal condition.
// The zero Condition prints as "".
func (c Condition) String() string {
	if c.root == nil {
		return ""
	}
	var b strings.Builder
	c.root.write(&b, 0)
	return b.String()
}

// IsZero reports whether c is the zero Condition (matches everything).
func (c Condition) IsZero() bool { return c.root == nil }

// And returns a condition matching records that satisfy every one of cs; zero conditions
// are skipped.
func And(cs ...Condition) Condition {
	var root cnode
	for _, c := range cs {
		switch {
		case c.root == nil:
		case root == nil:
			root = c.root
		default:
			root = &andNode{root, c.root}
		}
	}
	return Condition{root}
}

// MarshalText encodes c as its expression, so that conditions print in JSON and YAML.
func (c Condition) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses an expression into c.
func (c *Condition) UnmarshalText(b []byte) error {
	if strings.TrimSpace(string(b)) == "" {
		*c = Condition{}
		return nil
	}
	p, err := ParseExpr(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// cnode is one node of a compiled condition.
type cnode interface {
	match(rec map[string]any) (bool, error)
	fields(out *[]string)
	// write prints the node; prec is the binding strength of the enclosing operator
	// (0 none, 1 or, 2 and, 3 not) so that parentheses are added only where needed.
	write(b *strings.Builder, prec int)
}

type andNode struct{ a, b cnode }
type orNode struct{ a, b cnode }
type notNode struct{ a cnode }

func (n *andNode) fields(out *[]string) { n.a.fields(out); n.b.fields(out) }
func (n *orNode) fields(out *[]string)  { n.a.fields(out); n.b.fields(out) }
func (n *notNode) fields(out *[]string) { n.a.fields(out) }

func (n *andNode) write(b *strings.Builder, prec int) {
	if prec > 2 {
		b.WriteByte('(')
	}
	n.a.write(b, 2)
	b.WriteString(" and ")
	n.b.write(b, 2)
	if prec > 2 {
		b.WriteByte(')')
	}
}
func (n *orNode) write(b *strings.Builder, prec int) {
	if prec > 1 {
		b.WriteByte('(')
	}
	n.a.write(b, 1)
	b.WriteString(" or ")
	n.b.write(b, 1)
	if prec > 1 {
		b.WriteByte(')')
	}
}
func (n *notNode) write(b *strings.Builder, _ int) {
	b.WriteString("not ")
	n.a.write(b, 3)
}

// literal is a constant of the language: a number, a string or a boolean.
type literal struct {
	kind byte // 'n' number, 's' string, 'b' bool
	num  float64
	str  string
	b    bool
	tm   *time.Time // str read as a date (RFC 3339 or YYYY-MM-DD), to compare time values
}

// strLit makes a string literal, noting whether it reads as a date.
func strLit(s string) literal {
	l := literal{kind: 's', str: s}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			l.tm = &t
			break
		}
	}
	return l
}

func (l literal) String() string {
	switch l.kind {
	case 'n':
		return strconv.FormatFloat(l.num, 'g', -1, 64)
	case 'b':
		return strconv.FormatBool(l.b)
	}
	return quote(l.str)
}

// quote writes s in double quotes, escaping only quotes and backslashes that would
// otherwise be read as escapes, so regular expressions stay readable.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || (c == '\\' && (i+1 == len(s) || s[i+1] == '"' || s[i+1] == '\\')) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// Comparison operators of a predicate.
const (
	opEq = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn
	opNotIn
	opMatches
	opNotMatches
	opMissing
	opPresent
)

var opNames = [...]string{"==", "!=", "<", "<=", ">", ">=", "in", "not in", "matches", "not matches", "missing", "not missing"}

// pred is a test of one field.
type pred struct {
	field string
	op    int
	lit   literal   // comparisons
	list  []literal // in, not in
	re    *regexp.Regexp
}

func (p *pred) fields(out *[]string) { *out = append(*out, p.field) }

func (p *pred) write(b *strings.Builder, _ int) {
	b.WriteString(p.field)
	b.WriteByte(' ')
	b.WriteString(opNames[p.op])
	switch p.op {
	case opIn, opNotIn:
		b.WriteString(" [")
		for i, l := range p.list {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l.String())
		}
		b.WriteByte(']')
	case opMatches, opNotMatches:
		b.WriteByte(' ')
		b.WriteString(quote(p.re.String()))
	case opMissing, opPresent:
	default:
		b.WriteByte(' ')
		b.WriteString(p.lit.String())
	}
}
