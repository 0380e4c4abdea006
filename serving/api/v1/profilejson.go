package v1

import (
	"bytes"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/features"
)

// A hand-written decoder for the profiles of POST /v1/score, several times faster than
// features.DecodeProfile (encoding/json with reflection) and with a few allocations instead of
// one per value. It does not replace the strict decoder, it steps aside for it: it accepts a
// body only when it is sure that features.DecodeProfile accepts it and yields the same
// profile, and defers every other body (every error, and a few rare forms encoding/json
// treats in its own way) to features.DecodeProfile, which then gives the answer and the
// error naming the field. FuzzFastProfile checks both halves of that promise.

// deferral says why the fast decoder left a body to features.DecodeProfile.
type deferral uint8

const (
	accepted deferral = iota
	// deferInvalid: bad syntax, a wrong type, a missing or unparsable required value. The
	// strict decoder refuses such a body.
	deferInvalid
	// The strict decoder may accept the bodies below; the fast one leaves them to it.
	deferNotObject // the body is not an object (null included, which the strict decoder refuses)
	deferTrailing  // data after the object (encoding/json ignores a stray '}' or ']')
	deferDuplicate // a key given twice (the strict decoder refuses it, naming the key)
	deferKey       // an unknown key (or a known one in another case, which the strict decoder refuses)
	deferText      // invalid UTF-8 or a surrogate escape (encoding/json substitutes U+FFFD)
	deferAttribute // an object or array attribute value (refused unless a later duplicate replaces it)
	deferLarge     // a body over features.DecodeProfile's limit
)

// maxFastProfileBytes is features.DecodeProfile's own limit (maxProfileBytes).
const maxFastProfileBytes = 32 << 20

// decodeProfile decodes one profile body: by the fast decoder when it can, else by
// features.DecodeProfile.
func decodeProfile(body []byte, now time.Time) (features.Profile, error) {
	if p, d := fastProfile(body, now); d == accepted {
		return p, nil
	}
	return features.DecodeProfile(bytes.NewReader(body), now)
}

// fastProfile decodes body as features.DecodeProfile would, or says why it leaves it to it.
func fastProfile(body []byte, now time.Time) (features.Profile, deferral) {
	if len(body) > maxFastProfileBytes {
		return features.Profile{}, deferLarge
	}
	d := profileDecoder{data: body}
	p := d.profile(now)
	if d.why != accepted {
		return features.Profile{}, d.why
	}
	if features.CheckProfile(&p, features.ContactColumns{}) != nil {
		return features.Profile{}, deferInvalid // a value out of range: the strict decoder names it
	}
	return p, accepted
}

// profileDecoder reads one body. Strings without escapes are substrings of src, a single
// copy of the body, so that decoding does not allocate per string.
type profileDecoder struct {
	data []byte
	src  string
	pos  int
	why  deferral // first reason to defer; decoding stops at it
	// bad is set by a missing or unparsable required value. Decoding goes on: encoding/json
	// checks these after decoding, so a later duplicate key could still mend the value.
	bad     bool
	scratch []byte // unescaping buffer
}

func (d *profileDecoder) fail(why deferral) {
	if d.why == accepted {
		d.why = why
	}
}

func (d *profileDecoder) ok() bool { return d.why == accepted }

func (d *profileDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *profileDecoder) peek() byte {
	d.skipSpace()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// consume skips white space and the byte c, or fails.
func (d *profileDecoder) consume(c byte) bool {
	if d.peek() != c {
		d.fail(deferInvalid)
		return false
	}
	d.pos++
	return true
}

// literal consumes the word w (true, false, null) after white space, or fails.
func (d *profileDecoder) literal(w string) bool {
	d.skipSpace()
	if len(d.data)-d.pos < len(w) || string(d.data[d.pos:d.pos+len(w)]) != w {
		d.fail(deferInvalid)
		return false
	}
	d.pos += len(w)
	return true
}

// null consumes a null if one comes next.
func (d *profileDecoder) null() bool {
	if d.peek() == 'n' {
		return d.literal("null")
	}
	return false
}

// object reads '{' members '}', calling member with each key (the decoder positioned at its
// value, which member must consume). member returns false to stop.
func (d *profileDecoder) object(member func(key string) bool) {
	if !d.consume('{') {
		return
	}
	if d.peek() == '}' {
		d.pos++
		return
	}
	for d.ok() {
		if d.peek() != '"' {
			d.fail(deferInvalid)
			return
		}
		key := d.str()
		if !d.ok() || !d.consume(':') || !member(key) || !d.ok() {
			return
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return
		default:
			d.fail(deferInvalid)
		}
	}
}

// array reads '[' elements ']', calling elem for each (positioned at it).
func (d *profileDecoder) array(elem func()) {
	if !d.consume('[') {
		return
	}
	if d.peek() == ']' {
		d.pos++
		return
	}
	for d.ok() {
		elem()
		if !d.ok() {
			return
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return
		default:
			d.fail(deferInvalid)
		}
	}
}

// str reads a JSON string (after white space) and returns its value.
func (d *profileDecoder) str() string {
	if d.peek() != '"' {
		d.fail(deferInvalid)
		return ""
	}
	start := d.pos + 1
	escaped, ascii := false, true
	i := start
	for ; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			escaped = true
			i++ // the escaped byte is checked by unescape
		case c < 0x20:
			d.fail(deferInvalid)
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if i >= len(d.data) {
		d.fail(deferInvalid)
		return ""
	}
	raw := d.data[start:i]
	d.pos = i + 1
	if !ascii && !utf8.Valid(raw) {
		d.fail(deferText)
		return ""
	}
	if !escaped {
		if d.src == "" {
			d.src = string(d.data)
		}
		return d.src[start:i]
	}
	return d.unescape(raw)
}

// unescape decodes the escapes of raw (a string's bytes between its quotes).
func (d *profileDecoder) unescape(raw []byte) string {
	b := d.scratch[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(raw) {
			d.fail(deferInvalid)
			return ""
		}
		switch raw[i] {
		case '"', '\\', '/':
			b = append(b, raw[i])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if i+4 >= len(raw) {
				d.fail(deferInvalid)
				return ""
			}
			var r rune
			for _, h := range raw[i+1 : i+5] {
				switch {
				case '0' <= h && h <= '9':
					r = r<<4 | rune(h-'0')
				case 'a' <= h && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case 'A' <= h && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					d.fail(deferInvalid)
					return ""
				}
			}
			if utf16.IsSurrogate(r) {
				d.fail(deferText)
				return ""
			}
			b = utf8.AppendRune(b, r)
			i += 4
		default:
			d.fail(deferInvalid)
			return ""
		}
	}
	d.scratch = b
	return string(b)
}

// number reads a JSON number (after white space) and returns its text.
func (d *profileDecoder) number() string {
	d.skipSpace()
	start, i, n := d.pos, d.pos, len(d.data)
	digits := func() bool {
		j := i
		for i < n && '0' <= d.data[i] && d.data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < n && d.data[i] == '-' {
		i++
	}
	switch {
	case i < n && d.data[i] == '0':
		i++
	case i < n && '1' <= d.data[i] && d.data[i] <= '9':
		digits()
	default:
		d.fail(deferInvalid)
		return ""
	}
	if i < n && d.data[i] == '.' {
		i++
		if !digits() {
			d.fail(deferInvalid)
			return ""
		}
	}
	if i < n && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < n && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			d.fail(deferInvalid)
			return ""
		}
	}
	d.pos = i
	if d.src == "" {
		d.src = string(d.data)
	}
	return d.src[start:i]
}

// float reads a number into a float64 as encoding/json does (out of range: refused).
func (d *profileDecoder) float() float64 {
	s := d.number()
	if !d.ok() {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		d.fail(deferInvalid)
		return 0
	}
	return v
}

// optString reads a string or null (which leaves a string field as it is: "").
func (d *profileDecoder) optString() string {
	if d.null() {
		return ""
	}
	return d.str()
}

// keys tracks the keys of one object, to defer duplicates.
type keys uint16

func (d *profileDecoder) seen(k *keys, bit int) bool {
	if *k&(1<<bit) != 0 {
		d.fail(deferDuplicate)
		return true
	}
	*k |= 1 << bit
	return false
}

func (d *profileDecoder) profile(now time.Time) features.Profile {
	if d.peek() != '{' {
		d.fail(deferNotObject)
		return features.Profile{}
	}
	var (
		p       features.Profile
		asOf    string
		hasAsOf bool
		k       keys
	)
	d.object(func(key string) bool {
		switch key {
		case "contact_id":
			if !d.seen(&k, 0) {
				p.ContactID = d.optString()
			}
		case "as_of":
			if !d.seen(&k, 1) && !d.null() {
				asOf, hasAsOf = d.str(), true
			}
		case "attributes":
			if !d.seen(&k, 2) && !d.null() {
				p.Attributes = d.attributes()
			}
		case "events":
			if !d.seen(&k, 3) && !d.null() {
				// Room for a typical profile's events (the objects of the body, at most
				// 64: a body cannot make it allocate more than it holds).
				p.Events = d.events(make([]features.Event, 0, min(64, bytes.Count(d.data, []byte{'{'}))))
			}
		case "transactions":
			if !d.seen(&k, 4) && !d.null() {
				p.Transactions = d.transactions()
			}
		default:
			d.fail(deferKey)
		}
		return d.ok()
	})
	if !d.ok() {
		return p
	}
	if d.bad || p.ContactID == "" { // contact_id is required
		d.fail(deferInvalid)
		return p
	}
	if d.skipSpace(); d.pos < len(d.data) {
		d.fail(deferTrailing)
		return p
	}
	p.AsOf = now.UTC()
	if hasAsOf {
		t, ok := parseTime(asOf)
		if !ok {
			d.fail(deferInvalid)
			return p
		}
		p.AsOf = t
	}
	if p.Events == nil {
		p.Events = []features.Event{}
	}
	if p.Transactions == nil {
		p.Transactions = []features.Transaction{}
	}
	return p
}

// attributes reads the attributes object: numbers, strings, booleans and nulls.
func (d *profileDecoder) attributes() map[string]any {
	m := map[string]any{}
	d.object(func(key string) bool {
		if _, dup := m[key]; dup {
			d.fail(deferDuplicate) // the strict decoder refuses it, naming the key
			return false
		}
		switch d.peek() {
		case '"':
			m[key] = d.str()
		case 'n':
			d.literal("null")
			m[key] = nil
		case 't':
			d.literal("true")
			m[key] = true
		case 'f':
			d.literal("false")
			m[key] = false
		case '{', '[':
			d.fail(deferAttribute)
		default:
			m[key] = d.float()
		}
		return d.ok()
	})
	return m
}

func (d *profileDecoder) events(out []features.Event) []features.Event {
	d.array(func() {
		e := features.Event{Value: math.NaN()}
		var (
			typ, ts       string
			hasTyp, hasTS bool
			k             keys
		)
		if d.null() {
			d.bad = true // an event without a type
			return
		}
		if d.peek() != '{' {
			d.fail(deferInvalid)
			return
		}
		d.object(func(key string) bool {
			switch key {
			case "type":
				if !d.seen(&k, 0) && !d.null() {
					typ, hasTyp = d.str(), true
				}
			case "ts":
				if !d.seen(&k, 1) && !d.null() {
					ts, hasTS = d.str(), true
				}
			case "page":
				if !d.seen(&k, 2) {
					e.Page = d.optString()
				}
			case "channel":
				if !d.seen(&k, 3) {
					e.Channel = d.optString()
				}
			case "campaign":
				if !d.seen(&k, 4) {
					e.Campaign = d.optString()
				}
			case "anonymous_id":
				if !d.seen(&k, 5) {
					e.AnonymousID = d.optString()
				}
			case "email":
				if !d.seen(&k, 6) {
					e.Email = d.optString()
				}
			case "value":
				if !d.seen(&k, 7) && !d.null() {
					e.Value = d.float()
				}
			default:
				d.fail(deferKey)
			}
			return d.ok()
		})
		if !d.ok() {
			return
		}
		t, ok := parseTime(ts)
		if !hasTyp || typ == "" || !hasTS || !ok {
			d.bad = true
			return
		}
		e.Type, e.TS = typ, t
		out = append(out, e)
	})
	return out
}

func (d *profileDecoder) transactions() []features.Transaction {
	var out []features.Transaction
	d.array(func() {
		var (
			t                features.Transaction
			ts               string
			hasTS, hasAmount bool
			k                keys
		)
		if d.null() {
			d.bad = true // a transaction without a time
			return
		}
		if d.peek() != '{' {
			d.fail(deferInvalid)
			return
		}
		d.object(func(key string) bool {
			switch key {
			case "ts":
				if !d.seen(&k, 0) && !d.null() {
					ts, hasTS = d.str(), true
				}
			case "amount":
				if !d.seen(&k, 1) && !d.null() {
					t.Amount, hasAmount = d.float(), true
				}
			case "product":
				if !d.seen(&k, 2) {
					t.Product = d.optString()
				}
			case "category":
				if !d.seen(&k, 3) {
					t.Category = d.optString()
				}
			case "quantity":
				if !d.seen(&k, 4) && !d.null() {
					s := d.number()
					if !d.ok() {
						return false
					}
					q, err := strconv.ParseInt(s, 10, 64)
					if err != nil {
						d.fail(deferInvalid) // encoding/json refuses a fraction or exponent for an int64
						return false
					}
					t.Quantity = q
				}
			default:
				d.fail(deferKey)
			}
			return d.ok()
		})
		if !d.ok() {
			return
		}
		ts2, ok := parseTime(ts)
		if !hasTS || !hasAmount || !ok {
			d.bad = true
			return
		}
		t.TS = ts2
		out = append(out, t)
	})
	return out
}

// parseTime is features' parseTime (RFC 3339, or YYYY-MM-DD at midnight UTC) without its
// error: the strict decoder reports a bad time.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}
