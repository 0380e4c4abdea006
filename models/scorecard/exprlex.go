package scorecard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The scanner of the condition language: tokens and keywords.

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

func isKeyword(t token) bool {
	for _, kw := range [...]string{"and", "or", "not", "in", "matches", "missing", "true", "false"} {
		if t.is(kw) {
			return true
		}
	}
	return false
}
