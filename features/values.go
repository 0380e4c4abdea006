package features

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The accepted values: one definition for every reader (the Parquet and CSV history files
// of package features/history, profiles) and for the callers that check dates of their own
// (command-line flags, the HTTP service, the LTV job). docs/operations.md states them for
// users.
//
// Times are kept as int64 Unix nanoseconds, which reach only 1677-09-21 to 2262-04-11; a time
// outside them wrapped around silently (an event in 9999 counted as a past one) or made the
// event accumulator index out of range. The accepted range keeps well inside, and the
// arithmetic on two accepted times (as-of minus an event time) saturates where the 301 years
// between its ends exceed int64 nanoseconds (292 years).
const (
	// MinTimeUnix is the first accepted time, 1900-01-01T00:00:00Z, in Unix seconds.
	MinTimeUnix = -2208988800
	// EndTimeUnix is the first time after the accepted range, 2201-01-01T00:00:00Z, in Unix
	// seconds: 2200-12-31 is the last accepted day, to its end.
	EndTimeUnix = 7289654400

	MinTimeNanos = MinTimeUnix * int64(time.Second)
	EndTimeNanos = EndTimeUnix * int64(time.Second)
	MinTimeDays  = MinTimeUnix / 86400
	EndTimeDays  = EndTimeUnix / 86400

	// timeRangeText names the range in messages.
	timeRangeText = "1900-01-01 to 2200-12-31 (UTC)"
	// textMsg is the message of a profile field that is not UTF-8.
	textMsg = "text is not valid UTF-8"

	// MaxAmount bounds the magnitude of a transaction amount and of an event value. With it,
	// no sum a person's history can make overflows float64 (a sum of n accepted amounts is at
	// most n·1e15), so an aggregate is never infinite; 1e15 is ten times the world's yearly
	// product in dollars, and more than any amount in cents a CRM records.
	MaxAmount = 1e15
)

// Errors of a value outside what this package accepts. The typed errors that report them
// (*FieldError for a profile, a bad row's reason in a Report) name the field or column.
var (
	ErrTimeRange = errors.New("features: time outside the accepted range " + timeRangeText)
	ErrNonFinite = errors.New("features: number not finite or beyond ±1e15")
)

// TimeRange returns the accepted times: from first (inclusive) to end (exclusive), that is
// 1900-01-01T00:00:00Z to the end of 2200-12-31.
func TimeRange() (first, end time.Time) {
	return time.Unix(MinTimeUnix, 0).UTC(), time.Unix(EndTimeUnix, 0).UTC()
}

// CheckTime reports, wrapping ErrTimeRange, a time outside TimeRange.
func CheckTime(t time.Time) error {
	if TimeInRange(t) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrTimeRange, t.UTC().Format(time.RFC3339Nano))
}

// TimeInRange reports whether t lies in the accepted range of times.
func TimeInRange(t time.Time) bool {
	s := t.Unix()
	return s >= MinTimeUnix && s < EndTimeUnix
}

// CheckAmount reports, wrapping ErrNonFinite, an amount (or event value) that is NaN,
// infinite or larger in magnitude than MaxAmount.
func CheckAmount(x float64) error {
	if math.Abs(x) <= MaxAmount {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrNonFinite, x)
}

// isFinite reports whether x is neither NaN nor infinite.
func isFinite(x float64) bool { return x-x == 0 }

// Nanos returns t in Unix nanoseconds, saturating outside the int64 range (so that a horizon
// end after 2262 compares as later than every accepted time instead of wrapping).
func Nanos(t time.Time) int64 {
	s := t.Unix()
	switch {
	case s >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case s <= math.MinInt64/int64(time.Second)+1:
		return math.MinInt64 + 1 // NoTS is MinInt64
	}
	return t.UnixNano()
}

// AgeNanos returns asOf − ts for ts < asOf, saturating at MaxInt64: two accepted times can be
// 301 years apart, more than int64 nanoseconds hold.
func AgeNanos(asOf, ts int64) int64 {
	d := asOf - ts
	if d < 0 {
		return math.MaxInt64
	}
	return d
}

// daysBetween returns (a − b) in days without overflowing int64.
func daysBetween(a, b int64) float64 {
	d := a - b
	if (d < 0) != (a < b) { // wrapped: the exact difference is beyond int64
		return (float64(a) - float64(b)) / float64(dayNanos)
	}
	return float64(d) / float64(dayNanos)
}

// CheckProfile reports the first value of p this package does not accept, as a *FieldError
// naming its field: a time outside TimeRange (as_of, events[i].ts, transactions[i].ts, and
// the created_at and stage_since attributes named by m), an amount or event value that is
// not finite or beyond MaxAmount, an infinite numeric attribute, or text that is not valid
// UTF-8. A NaN event value or attribute means "none" and is accepted. Serving checks every
// profile with it before scoring; DecodeProfile checks what it decodes.
func CheckProfile(p *Profile, m ContactColumns) error {
	if err := checkText(p); err != nil {
		return err
	}
	return checkValues(p, m)
}

// eventTextFields names an event's text fields in the order checkText reads them.
var eventTextFields = [...]string{"type", "page", "channel", "campaign", "anonymous_id", "email"}

// checkText reports the first string of p that is not valid UTF-8.
func checkText(p *Profile) error {
	if !utf8.ValidString(p.ContactID) {
		return &FieldError{Field: "contact_id", Msg: textMsg}
	}
	for k, v := range p.Attributes {
		if !utf8.ValidString(k) {
			return &FieldError{Field: "attributes", Msg: "a key is not valid UTF-8"}
		}
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			return &FieldError{Field: "attributes." + k, Msg: textMsg}
		}
	}
	// An event's strings mostly repeat those of the event before it, and a profile read from
	// a history shares one string for every repeat. A string equal to the last one checked
	// in its field was valid then: comparing the two costs a length and a pointer when they
	// share their bytes, and is exact when they do not.
	var last [6]string
	for i := range p.Events {
		e := &p.Events[i]
		for j, v := range [...]string{e.Type, e.Page, e.Channel, e.Campaign, e.AnonymousID, e.Email} {
			if v == last[j] {
				continue
			}
			if !utf8.ValidString(v) {
				return &FieldError{Field: fmt.Sprintf("events[%d].%s", i, eventTextFields[j]), Msg: textMsg}
			}
			last[j] = v
		}
	}
	for i := range p.Transactions {
		t := &p.Transactions[i]
		if !utf8.ValidString(t.Product) {
			return &FieldError{Field: fmt.Sprintf("transactions[%d].product", i), Msg: textMsg}
		}
		if !utf8.ValidString(t.Category) {
			return &FieldError{Field: fmt.Sprintf("transactions[%d].category", i), Msg: textMsg}
		}
	}
	return nil
}

// checkValues reports the first time or number of p outside what is accepted; the feature
// computation relies on it.
func checkValues(p *Profile, m ContactColumns) error {
	m = Mapping{Contacts: m}.WithDefaults().Contacts
	if !p.AsOf.IsZero() && !TimeInRange(p.AsOf) {
		return timeField("as_of", p.AsOf)
	}
	for k, v := range p.Attributes {
		if err := checkAttribute("attributes."+k, v, k == m.CreatedAt || k == m.StageSince); err != nil {
			return err
		}
	}
	for i := range p.Events {
		e := &p.Events[i]
		f := func(name string) string { return fmt.Sprintf("events[%d].%s", i, name) }
		if !TimeInRange(e.TS) {
			return timeField(f("ts"), e.TS)
		}
		if !math.IsNaN(e.Value) && CheckAmount(e.Value) != nil {
			return &FieldError{Field: f("value"), Msg: fmt.Sprintf("%v is not a finite number within ±%g", e.Value, MaxAmount)}
		}
	}
	for i := range p.Transactions {
		t := &p.Transactions[i]
		f := func(name string) string { return fmt.Sprintf("transactions[%d].%s", i, name) }
		if !TimeInRange(t.TS) {
			return timeField(f("ts"), t.TS)
		}
		if CheckAmount(t.Amount) != nil {
			return &FieldError{Field: f("amount"), Msg: fmt.Sprintf("%v is not a finite number within ±%g", t.Amount, MaxAmount)}
		}
	}
	return nil
}

// checkAttribute checks one attribute value; isTime marks created_at and stage_since, whose
// strings that parse as times must lie in TimeRange (other strings are left to attrTime).
func checkAttribute(field string, v any, isTime bool) error {
	switch x := v.(type) {
	case string:
		if isTime {
			if t, err := ParseTime(x); err == nil && !TimeInRange(t) {
				return timeField(field, t)
			}
		}
	case time.Time:
		if !x.IsZero() && !TimeInRange(x) {
			return timeField(field, x)
		}
	case float64:
		if math.IsInf(x, 0) {
			return &FieldError{Field: field, Msg: fmt.Sprintf("%v is not a finite number", x)}
		}
	case float32:
		if math.IsInf(float64(x), 0) {
			return &FieldError{Field: field, Msg: fmt.Sprintf("%v is not a finite number", x)}
		}
	}
	return nil
}

func timeField(field string, t time.Time) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf("%s is outside the accepted range %s",
		t.UTC().Format(time.RFC3339Nano), timeRangeText)}
}

// textField returns the JSON path (as FieldError names it: "events[2].page") of the first
// string of the JSON document data, key or value, that is not valid UTF-8 or holds a lone
// surrogate escape ("\ud800"). encoding/json turns both into U+FFFD without a word, so the
// raw bytes are looked at. ok is false when every string is valid (or data is not JSON).
func textField(data []byte) (field string, ok bool) {
	type frame struct {
		array   bool
		idx     int
		key     string
		wantKey bool
	}
	var st []frame
	path := func(st []frame) string {
		var b []byte
		for _, f := range st {
			switch {
			case f.array:
				b = fmt.Appendf(b, "[%d]", f.idx)
			case len(b) > 0:
				b = append(append(b, '.'), f.key...)
			default:
				b = append(b, f.key...)
			}
		}
		if len(b) == 0 {
			return "(body)"
		}
		return string(b)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		end := dec.InputOffset()
		if d, isDelim := tok.(json.Delim); isDelim && (d == '}' || d == ']') {
			st = st[:len(st)-1]
			if len(st) > 0 && !st[len(st)-1].array {
				st[len(st)-1].wantKey = true
			}
			continue
		}
		var top *frame
		if len(st) > 0 {
			top = &st[len(st)-1]
		}
		isKey := top != nil && !top.array && top.wantKey
		if top != nil && top.array {
			top.idx++
		}
		if s, isStr := tok.(string); isStr {
			if !validJSONString(data[start:end]) {
				if isKey {
					return path(st[:len(st)-1]) + " (a key)", true
				}
				return path(st), true
			}
			if isKey {
				top.key, top.wantKey = s, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			st = append(st, frame{wantKey: true})
		case json.Delim('['):
			st = append(st, frame{array: true, idx: -1})
		default:
			if top != nil && !top.array {
				top.wantKey = true
			}
		}
	}
}

// suspectText reports whether data may hold a string textField would name: bytes that are
// not UTF-8, or a \u escape of a surrogate (valid pairs included; textField tells them apart).
func suspectText(data []byte) bool {
	if !utf8.Valid(data) {
		return true
	}
	for i := 0; ; {
		k := bytes.Index(data[i:], []byte(`\u`))
		if k < 0 || i+k+3 >= len(data) {
			return false
		}
		i += k + 2
		if c := data[i]; (c == 'd' || c == 'D') && strings.IndexByte("89abcdefABCDEF", data[i+1]) >= 0 {
			return true
		}
	}
}

// validJSONString reports whether raw (white space or separators, then a JSON string with
// its quotes) is valid UTF-8 without lone surrogate escapes.
func validJSONString(raw []byte) bool {
	q := bytes.IndexByte(raw, '"')
	if q < 0 {
		return true
	}
	s := raw[q:]
	if !utf8.Valid(s) {
		return false
	}
	hex := func(i int) (rune, bool) {
		if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
			return 0, false
		}
		r, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 16)
		return rune(r), err == nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		r, ok := hex(i)
		if !ok {
			i++ // a one-character escape
			continue
		}
		switch {
		case 0xD800 <= r && r < 0xDC00:
			lo, ok := hex(i + 6)
			if !ok || lo < 0xDC00 || lo >= 0xE000 {
				return false
			}
			i += 11
		case 0xDC00 <= r && r < 0xE000:
			return false
		default:
			i += 5
		}
	}
	return true
}
