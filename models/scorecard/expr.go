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

	"github.com/propensity-dev/propensity/models/frame"
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

// ParseExpr compiles a condition written in the expression syntax:
//
//	expr  = term { "or" term }
//	term  = unary { "and" unary }
//	unary = "not" unary | "(" expr ")" | field test
//	test  = ("<" | "<=" | ">" | ">=" | "==" | "!=") value
//	      | ["not"] "in" "[" value { "," value } "]"
//	      | ["not"] "matches" string        (Go regular expression, RE2 syntax)
//	      | ["not"] "missing"
//	value = number | string | "true" | "false"
//
// Keywords are case-insensitive; fields are letters, digits, '_' and '.', not starting with
// a digit; strings are in double or single quotes, where a backslash escapes only the quote
// and itself (other backslashes are kept, so "\." in a regex needs no doubling).
func ParseExpr(s string) (Condition, error) {
	p := &parser{src: s}
	p.next()
	if p.tok.kind == tEOF {
		return Condition{}, p.errf(0, "empty condition")
	}
	n, err := p.or(0)
	if err != nil {
		return Condition{}, err
	}
	if p.tok.kind != tEOF {
		return Condition{}, p.errf(p.tok.pos, "unexpected %s", p.tok.desc())
	}
	return Condition{n}, nil
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 100

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNum
	tStr
	tOp // < <= > >= == !=
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tErr
)

type token struct {
	kind tokKind
	pos  int
	text string // identifier, operator, or decoded string
	num  float64
}

func (t token) desc() string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tStr:
		return "string " + quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (t token) is(kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

type parser struct {
	src string
	pos int
	tok token
	err error
}

func (p *parser) errf(pos int, format string, a ...any) error {
	return &SyntaxError{Expr: p.src, Offset: pos, Msg: fmt.Sprintf(format, a...)}
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') || c == '.' }

// next scans the following token into p.tok; scanning errors give a tErr token and p.err.
func (p *parser) next() {
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t' || s[p.pos] == '\n' || s[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(s) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := s[p.pos]
	switch {
	case isIdentStart(c):
		for p.pos < len(s) && isIdentChar(s[p.pos]) {
			p.pos++
		}
		p.tok = token{kind: tIdent, pos: start, text: s[start:p.pos]}
	case c == '-' || c == '+' || c == '.' || ('0' <= c && c <= '9'):
		p.pos++
		for p.pos < len(s) {
			d := s[p.pos]
			if ('0' <= d && d <= '9') || d == '.' || d == 'e' || d == 'E' ||
				((d == '-' || d == '+') && (s[p.pos-1] == 'e' || s[p.pos-1] == 'E')) {
				p.pos++
				continue
			}
			break
		}
		text := s[start:p.pos]
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			p.tok = token{kind: tErr, pos: start}
			p.err = p.errf(start, "bad number %q", text)
			return
		}
		p.tok = token{kind: tNum, pos: start, text: text, num: f}
	case c == '"' || c == '\'':
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= len(s) {
				p.tok = token{kind: tErr, pos: start}
				p.err = p.errf(start, "unterminated string")
				return
			}
			d := s[p.pos]
			if d == c {
				p.pos++
				break
			}
			if d == '\\' && p.pos+1 < len(s) && (s[p.pos+1] == c || s[p.pos+1] == '\\') {
				p.pos++
				d = s[p.pos]
			}
			b.WriteByte(d)
			p.pos++
		}
		p.tok = token{kind: tStr, pos: start, text: b.String()}
	case c == '(':
		p.pos++
		p.tok = token{kind: tLParen, pos: start, text: "("}
	case c == ')':
		p.pos++
		p.tok = token{kind: tRParen, pos: start, text: ")"}
	case c == '[':
		p.pos++
		p.tok = token{kind: tLBrack, pos: start, text: "["}
	case c == ']':
		p.pos++
		p.tok = token{kind: tRBrack, pos: start, text: "]"}
	case c == ',':
		p.pos++
		p.tok = token{kind: tComma, pos: start, text: ","}
	case c == '<' || c == '>' || c == '=' || c == '!':
		p.pos++
		if p.pos < len(s) && s[p.pos] == '=' {
			p.pos++
		}
		op := s[start:p.pos]
		if op == "=" || op == "!" {
			p.tok = token{kind: tErr, pos: start}
			p.err = p.errf(start, "bad operator %q (want ==, !=, <, <=, > or >=)", op)
			return
		}
		p.tok = token{kind: tOp, pos: start, text: op}
	default:
		p.tok = token{kind: tErr, pos: start}
		p.err = p.errf(start, "unexpected character %q", c)
	}
}

// fail returns the scanning error if the current token is one, else a "want" error.
func (p *parser) fail(want string) error {
	if p.tok.kind == tErr {
		return p.err
	}
	return p.errf(p.tok.pos, "want %s, found %s", want, p.tok.desc())
}

func (p *parser) or(depth int) (cnode, error) {
	a, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.is("or") {
		p.next()
		b, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		a = &orNode{a, b}
	}
	return a, nil
}

func (p *parser) and(depth int) (cnode, error) {
	a, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.tok.is("and") {
		p.next()
		b, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		a = &andNode{a, b}
	}
	return a, nil
}

func isKeyword(t token) bool {
	for _, kw := range [...]string{"and", "or", "not", "in", "matches", "missing", "true", "false"} {
		if t.is(kw) {
			return true
		}
	}
	return false
}

func (p *parser) unary(depth int) (cnode, error) {
	if depth > maxDepth {
		return nil, p.errf(p.tok.pos, "nested more than %d deep", maxDepth)
	}
	switch {
	case p.tok.is("not"):
		p.next()
		a, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{a}, nil
	case p.tok.kind == tLParen:
		p.next()
		a, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.fail(`")"`)
		}
		p.next()
		return a, nil
	case p.tok.kind == tIdent && !isKeyword(p.tok):
		field := p.tok.text
		p.next()
		return p.test(field)
	}
	return nil, p.fail("a field name, \"not\" or \"(\"")
}

func (p *parser) test(field string) (cnode, error) {
	pr := &pred{field: field}
	if p.tok.kind == tOp {
		pr.op = map[string]int{"==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}[p.tok.text]
		p.next()
		l, err := p.value()
		if err != nil {
			return nil, err
		}
		if l.kind == 'b' && pr.op != opEq && pr.op != opNe {
			return nil, p.errf(p.tok.pos, "%s cannot order booleans", opNames[pr.op])
		}
		pr.lit = l
		p.next()
		return pr, nil
	}
	neg := false
	if p.tok.is("not") {
		neg = true
		p.next()
	}
	switch {
	case p.tok.is("missing"):
		pr.op = opMissing
		if neg {
			pr.op = opPresent
		}
		p.next()
	case p.tok.is("in"):
		pr.op = opIn
		if neg {
			pr.op = opNotIn
		}
		p.next()
		if p.tok.kind != tLBrack {
			return nil, p.fail(`"[" after in`)
		}
		p.next()
		for {
			l, err := p.value()
			if err != nil {
				return nil, err
			}
			pr.list = append(pr.list, l)
			p.next()
			if p.tok.kind == tRBrack {
				p.next()
				break
			}
			if p.tok.kind != tComma {
				return nil, p.fail(`"," or "]"`)
			}
			p.next()
		}
	case p.tok.is("matches"):
		pr.op = opMatches
		if neg {
			pr.op = opNotMatches
		}
		p.next()
		if p.tok.kind != tStr {
			return nil, p.fail("a quoted regular expression after matches")
		}
		re, err := regexp.Compile(p.tok.text)
		if err != nil {
			return nil, p.errf(p.tok.pos, "bad regular expression: %v", err)
		}
		pr.re = re
		p.next()
	default:
		want := "a comparison (<, <=, >, >=, ==, !=), in, matches or missing"
		if neg {
			want = "in, matches or missing after not"
		}
		return nil, p.fail(want)
	}
	return pr, nil
}

// value reads the literal at the current token without advancing.
func (p *parser) value() (literal, error) {
	switch {
	case p.tok.kind == tNum:
		return literal{kind: 'n', num: p.tok.num}, nil
	case p.tok.kind == tStr:
		return strLit(p.tok.text), nil
	case p.tok.is("true"):
		return literal{kind: 'b', b: true}, nil
	case p.tok.is("false"):
		return literal{kind: 'b', b: false}, nil
	}
	return literal{}, p.fail("a number, a quoted string, true or false")
}
