package scorecard

import (
	"fmt"
	"regexp"
)

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

type parser struct {
	src string
	pos int
	tok token
	err error
}

func (p *parser) errf(pos int, format string, a ...any) error {
	return &SyntaxError{Expr: p.src, Offset: pos, Msg: fmt.Sprintf(format, a...)}
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
