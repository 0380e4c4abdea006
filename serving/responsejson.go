package serving

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// JSONEncoder writes score responses as encoding/json.Marshal does, byte for byte, without
// reflection: on the API's hot path json.Marshal costs as much as a model. It writes only
// what it knows: the response types as they were when it was written (checked by
// reflection when it is made) and the values encoding/json writes plainly. For anything else
// Append says so, and the caller falls back to json.Marshal, which then also reports the
// errors (a non-finite number). TestJSONEncoder compares the two on random responses.
type JSONEncoder struct {
	known bool // the response types have the layout written below
}

// NewJSONEncoder returns an encoder; it is safe for concurrent use.
func NewJSONEncoder() *JSONEncoder {
	return &JSONEncoder{known: responseLayout() == knownResponseLayout}
}

// Append appends the JSON of r to dst; ok is false when r must go through json.Marshal.
func (e *JSONEncoder) Append(dst []byte, r *Response) (out []byte, ok bool) {
	if !e.known {
		return dst, false
	}
	w := jsonWriter{b: dst, ok: true}
	w.response(r)
	return w.b, w.ok
}

// knownResponseLayout is responseLayout() of the types Append writes.
const knownResponseLayout = `serving.Response{ContactID string "contact_id"; AsOf time.Time "as_of"; ` +
	`Rules *scorecard.Result "rules,omitempty"; Conversion *serving.Prediction "conversion,omitempty"; ` +
	`Churn *serving.Prediction "churn,omitempty"; LTV *btyd.LTVScore "ltv,omitempty"; ` +
	`Persona *serving.Persona "persona,omitempty"; Uplift *serving.Uplift "uplift,omitempty"; Unavailable []string "unavailable"; ` +
	`UnavailableReasons []serving.Unavailability "unavailable_reasons"; Warnings []serving.Warning "warnings"} ` +
	`scorecard.Result{Scorecard string "scorecard"; Version string "version"; Total int "total"; Fit int "fit"; ` +
	`Engagement int "engagement"; Lifecycle int "lifecycle"; Grade string "grade"; Stage string "stage"; MQL bool "mql"; ` +
	`Disqualified bool "disqualified"; DisqualifiedBy string "disqualified_by"; ` +
	`Contributions []scorecard.Contribution "contributions"} ` +
	`scorecard.Contribution{Rule string "rule"; Dimension string "dimension"; Points int "points"; Count int "count"} ` +
	`serving.Prediction{Probability float64 "probability"; Decile int "decile,omitempty"; ` +
	`ModelVersion string "model_version"; Reasons []serving.Reason "reasons"} ` +
	`serving.Reason{Feature string "feature"; Value interface {} "value"; Effect float64 "effect"} ` +
	`btyd.LTVScore{PAlive float64 "p_alive"; ExpectedPurchases float64 "expected_purchases"; ` +
	`ExpectedSpendPerPurchase float64 "expected_spend_per_purchase"; CLV float64 "clv"; ` +
	`HorizonDays float64 "horizon_days"; ModelVersion string "model_version"} ` +
	`serving.Persona{ID int "id"; Name string "name"; Distance float64 "distance"} ` +
	`serving.Uplift{Effect float64 "effect"; Decile int "decile"; Group string "group,omitempty"; ModelVersion string "model_version"} ` +
	`serving.Unavailability{Block string "block"; Reason string "reason"; Message string "message"} ` +
	`serving.Warning{Field string "field"; Code string "code"; Message string "message"} `

// responseLayout describes the fields of the response types: names, types and JSON tags,
// and which of them have methods encoding/json would call.
func responseLayout() string {
	var b strings.Builder
	for _, t := range []reflect.Type{
		reflect.TypeFor[Response](), reflect.TypeFor[scorecard.Result](), reflect.TypeFor[scorecard.Contribution](),
		reflect.TypeFor[Prediction](), reflect.TypeFor[Reason](), reflect.TypeFor[btyd.LTVScore](), reflect.TypeFor[Persona](),
		reflect.TypeFor[Uplift](),
		reflect.TypeFor[Unavailability](), reflect.TypeFor[Warning](),
	} {
		fmt.Fprintf(&b, "%s{", t)
		for i := range t.NumField() {
			f := t.Field(i)
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s %q", f.Name, f.Type, f.Tag.Get("json"))
		}
		b.WriteString("} ")
		for _, m := range []string{"MarshalJSON", "MarshalText"} {
			if _, ok := t.MethodByName(m); ok {
				fmt.Fprintf(&b, "%s.%s ", t, m)
			}
			if _, ok := reflect.PointerTo(t).MethodByName(m); ok {
				fmt.Fprintf(&b, "*%s.%s ", t, m)
			}
		}
	}
	return b.String()
}

// jsonWriter appends JSON to b; ok turns false at the first value it leaves to json.Marshal.
type jsonWriter struct {
	b  []byte
	ok bool
}

func (w *jsonWriter) key(k string) { // k: a plain ASCII name, with its leading comma
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) response(r *Response) {
	w.b = append(w.b, `{"contact_id":`...)
	w.str(r.ContactID)
	w.key(`,"as_of`)
	w.time(r.AsOf)
	if r.Rules != nil {
		w.key(`,"rules`)
		w.rules(r.Rules)
	}
	if r.Conversion != nil {
		w.key(`,"conversion`)
		w.prediction(r.Conversion)
	}
	if r.Churn != nil {
		w.key(`,"churn`)
		w.prediction(r.Churn)
	}
	if r.LTV != nil {
		w.key(`,"ltv`)
		w.ltv(r.LTV)
	}
	if r.Persona != nil {
		w.key(`,"persona`)
		w.b = append(w.b, `{"id":`...)
		w.b = strconv.AppendInt(w.b, int64(r.Persona.ID), 10)
		w.key(`,"name`)
		w.str(r.Persona.Name)
		w.key(`,"distance`)
		w.float(r.Persona.Distance)
		w.b = append(w.b, '}')
	}
	if u := r.Uplift; u != nil {
		w.key(`,"uplift`)
		w.b = append(w.b, `{"effect":`...)
		w.float(u.Effect)
		w.key(`,"decile`)
		w.b = strconv.AppendInt(w.b, int64(u.Decile), 10)
		if u.Group != "" {
			w.key(`,"group`)
			w.str(u.Group)
		}
		w.key(`,"model_version`)
		w.str(u.ModelVersion)
		w.b = append(w.b, '}')
	}
	w.key(`,"unavailable`)
	if r.Unavailable == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = append(w.b, '[')
		for i, u := range r.Unavailable {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.str(u)
		}
		w.b = append(w.b, ']')
	}
	w.key(`,"unavailable_reasons`)
	w.stringTriples(r.UnavailableReasons == nil, len(r.UnavailableReasons), `{"block":`, `,"reason`, `,"message`, func(i int) (string, string, string) {
		u := r.UnavailableReasons[i]
		return u.Block, u.Reason, u.Message
	})
	w.key(`,"warnings`)
	w.stringTriples(r.Warnings == nil, len(r.Warnings), `{"field":`, `,"code`, `,"message`, func(i int) (string, string, string) {
		x := r.Warnings[i]
		return x.Field, x.Code, x.Message
	})
	w.b = append(w.b, '}')
}

func (w *jsonWriter) rules(r *Rules) {
	w.b = append(w.b, `{"scorecard":`...)
	w.str(r.Scorecard)
	w.key(`,"version`)
	w.str(r.Version)
	w.key(`,"total`)
	w.b = strconv.AppendInt(w.b, int64(r.Total), 10)
	w.key(`,"fit`)
	w.b = strconv.AppendInt(w.b, int64(r.Fit), 10)
	w.key(`,"engagement`)
	w.b = strconv.AppendInt(w.b, int64(r.Engagement), 10)
	w.key(`,"lifecycle`)
	w.b = strconv.AppendInt(w.b, int64(r.Lifecycle), 10)
	w.key(`,"grade`)
	w.str(r.Grade)
	w.key(`,"stage`)
	w.str(r.Stage)
	w.key(`,"mql`)
	w.b = strconv.AppendBool(w.b, r.MQL)
	w.key(`,"disqualified`)
	w.b = strconv.AppendBool(w.b, r.Disqualified)
	w.key(`,"disqualified_by`)
	w.str(r.DisqualifiedBy)
	w.key(`,"contributions`)
	if r.Contributions == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = append(w.b, '[')
		for i, c := range r.Contributions {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, `{"rule":`...)
			w.str(c.Rule)
			w.key(`,"dimension`)
			w.str(c.Dimension)
			w.key(`,"points`)
			w.b = strconv.AppendInt(w.b, int64(c.Points), 10)
			w.key(`,"count`)
			w.b = strconv.AppendInt(w.b, int64(c.Count), 10)
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ']')
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) prediction(p *Prediction) {
	w.b = append(w.b, `{"probability":`...)
	w.float(p.Probability)
	if p.Decile != 0 {
		w.key(`,"decile`)
		w.b = strconv.AppendInt(w.b, int64(p.Decile), 10)
	}
	w.key(`,"model_version`)
	w.str(p.ModelVersion)
	w.key(`,"reasons`)
	if p.Reasons == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = append(w.b, '[')
		for i, r := range p.Reasons {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, `{"feature":`...)
			w.str(r.Feature)
			w.key(`,"value`)
			switch v := r.Value.(type) {
			case nil:
				w.b = append(w.b, "null"...)
			case float64:
				w.float(v)
			case string:
				w.str(v)
			case bool:
				w.b = strconv.AppendBool(w.b, v)
			case int:
				w.b = strconv.AppendInt(w.b, int64(v), 10)
			default:
				w.ok = false // json.Marshal knows the other types
			}
			w.key(`,"effect`)
			w.float(r.Effect)
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ']')
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) ltv(l *LTV) {
	w.b = append(w.b, `{"p_alive":`...)
	w.float(l.PAlive)
	w.key(`,"expected_purchases`)
	w.float(l.ExpectedPurchases)
	w.key(`,"expected_spend_per_purchase`)
	w.float(l.ExpectedSpendPerPurchase)
	w.key(`,"clv`)
	w.float(l.CLV)
	w.key(`,"horizon_days`)
	w.float(l.HorizonDays)
	w.key(`,"model_version`)
	w.str(l.ModelVersion)
	w.b = append(w.b, '}')
}

// float writes f as encoding/json does: like %g with the exponent cut-offs of ES6
// (decimal for 1e-6 <= |f| < 1e21) and an unpadded exponent. NaN and infinities are errors
// there, left to it.
func (w *jsonWriter) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.ok = false
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	w.b = strconv.AppendFloat(w.b, f, format, -1, 64)
	if format == 'e' {
		if n := len(w.b); n >= 4 && w.b[n-4] == 'e' && w.b[n-3] == '-' && w.b[n-2] == '0' {
			w.b[n-2] = w.b[n-1]
			w.b = w.b[:n-1]
		}
	}
}

// time writes t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds). Times it would
// refuse, or not in UTC, are left to it.
func (w *jsonWriter) time(t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 || t.Location() != time.UTC {
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

const hexDigits = "0123456789abcdef"

// str writes s as a JSON string the way encoding/json.Marshal does: with <, > and &
// escaped for HTML, U+2028 and U+2029 escaped, and invalid UTF-8 as U+FFFD.
func (w *jsonWriter) str(s string) {
	b := append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}

// stringTriples writes a list of n objects of three string fields (null when isNil), as
// encoding/json writes a slice of such structs: open is `{"first":`, and k2, k3 are the
// keys of the other two fields in w.key's form.
func (w *jsonWriter) stringTriples(isNil bool, n int, open, k2, k3 string, get func(i int) (string, string, string)) {
	if isNil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		a, b, c := get(i)
		w.b = append(w.b, open...)
		w.str(a)
		w.key(k2)
		w.str(b)
		w.key(k3)
		w.str(c)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}
