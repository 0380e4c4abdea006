package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/serving/store"
)

// Kinds of record, as in the ingestion routes.
const (
	KindEvents       = "events"
	KindContacts     = "contacts"
	KindTransactions = "transactions"
	KindIdentities   = "identities"
)

// ErrBadRecord: a record that is refused. Errors of refused records wrap it.
var ErrBadRecord = errors.New("live: bad record")

// RecordError says why one record was refused.
type RecordError struct {
	Field string // the field at fault, "" for the record as a whole
	Msg   string
}

func (e *RecordError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func (e *RecordError) Unwrap() error { return ErrBadRecord }

func refuse(field, format string, a ...any) error {
	return &RecordError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// rawRecord is one record of a request body, with where it was.
type rawRecord struct {
	index int    // 0-based position in the body
	line  int    // 1-based line of NDJSON bodies, 0 otherwise
	data  []byte // the record's JSON
	err   error  // framing error of this record
}

// splitBody cuts a body into records: one JSON object, a JSON array of objects, or NDJSON
// (one object per line; blank lines skipped). A body that is none of them is an error.
func splitBody(body []byte) ([]rawRecord, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return nil, errors.New("empty body (want a JSON object, an array of objects or NDJSON)")
	}
	switch t[0] {
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(t, &arr); err != nil {
			return nil, fmt.Errorf("body is not a JSON array: %v", err)
		}
		out := make([]rawRecord, len(arr))
		for i, r := range arr {
			out[i] = rawRecord{index: i, data: r}
		}
		return out, nil
	case '{':
		if json.Valid(t) {
			return []rawRecord{{index: 0, data: t}}, nil
		}
		var out []rawRecord
		line := 0
		for len(body) > 0 {
			line++
			l := body
			if i := bytes.IndexByte(body, '\n'); i >= 0 {
				l, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			l = bytes.TrimSpace(l)
			if len(l) == 0 {
				continue
			}
			r := rawRecord{index: len(out), line: line, data: l}
			if !json.Valid(l) {
				r.err = refuse("", "line %d is not a JSON object", line)
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, errors.New("body must start with { or [ (a JSON object, an array of objects or NDJSON)")
}

// decodeStrict decodes one JSON object into v, refusing unknown fields, wrong types and
// invalid UTF-8, with errors naming the field.
func decodeStrict(data []byte, v any) error {
	if !utf8.Valid(data) {
		return refuse("", "not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refuse("", "data after the record object")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return refuse("", "expected a JSON object, got JSON %s", te.Value)
		}
		return refuse(te.Field, "expected %s, got JSON %s", jsonType(te.Type.String()), te.Value)
	case errors.As(err, &se):
		return refuse("", "invalid JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return refuse(f, "unknown field")
	}
	return refuse("", "%v", err)
}

func jsonType(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "a string"
	case "json.Number", "float64":
		return "a number"
	case "int64":
		return "an integer"
	}
	return goType
}

// checkString validates an identifier or text field: at most store.MaxIDBytes bytes, no NUL.
func checkString(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return refuse(field, "required")
	case len(s) > store.MaxIDBytes:
		return refuse(field, "longer than %d bytes", store.MaxIDBytes)
	case strings.IndexByte(s, 0) >= 0:
		return refuse(field, "contains a NUL character")
	}
	return nil
}

// parseTime reads RFC 3339 or YYYY-MM-DD (midnight UTC) and checks the range.
func parseTime(field string, s *string, required bool) (time.Time, error) {
	if s == nil || *s == "" {
		if required {
			return time.Time{}, refuse(field, "required")
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t, err = time.Parse("2006-01-02", *s)
	}
	if err != nil {
		return time.Time{}, refuse(field, "%q is not a time (want RFC 3339 or YYYY-MM-DD)", *s)
	}
	t = t.UTC()
	if features.CheckTime(t) != nil { // the range every reader of histories accepts
		return time.Time{}, refuse(field, "%s is outside 1900-01-01..2200-12-31", t.Format(time.RFC3339))
	}
	return t, nil
}

func finite(field string, n json.Number) (float64, error) {
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, refuse(field, "%s is not a finite number", n)
	}
	return f, nil
}

// amount is finite with the bound every reader of histories applies to amounts and values.
func amount(field string, n json.Number) (float64, error) {
	f, err := finite(field, n)
	if err == nil && features.CheckAmount(f) != nil {
		return 0, refuse(field, "%s is beyond ±1e15", n)
	}
	return f, err
}

type eventJSON struct {
	EventID     string       `json:"event_id"`
	TS          *string      `json:"ts"`
	Type        string       `json:"type"`
	ContactID   string       `json:"contact_id"`
	AnonymousID string       `json:"anonymous_id"`
	Email       string       `json:"email"`
	Page        string       `json:"page"`
	Channel     string       `json:"channel"`
	Campaign    string       `json:"campaign"`
	Value       *json.Number `json:"value"`
}

// DecodeEvent decodes and validates one event record.
func DecodeEvent(data []byte) (store.Event, error) {
	var j eventJSON
	if err := decodeStrict(data, &j); err != nil {
		return store.Event{}, err
	}
	ts, err := parseTime("ts", j.TS, true)
	if err != nil {
		return store.Event{}, err
	}
	e := store.Event{EventID: j.EventID, TS: ts, Type: j.Type, ContactID: j.ContactID, AnonymousID: j.AnonymousID,
		Email: j.Email, Page: j.Page, Channel: j.Channel, Campaign: j.Campaign}
	errs := []error{checkString("type", j.Type, true), checkString("event_id", j.EventID, false),
		checkString("contact_id", j.ContactID, false), checkString("anonymous_id", j.AnonymousID, false),
		checkString("email", j.Email, false), checkString("page", j.Page, false),
		checkString("channel", j.Channel, false), checkString("campaign", j.Campaign, false)}
	for _, err := range errs {
		if err != nil {
			return store.Event{}, err
		}
	}
	if e.Key() == "" {
		return store.Event{}, refuse("contact_id", "an event needs contact_id, anonymous_id or email")
	}
	if j.Value != nil {
		v, err := amount("value", *j.Value)
		if err != nil {
			return store.Event{}, err
		}
		e.Value = &v
	}
	return e, nil
}

type transactionJSON struct {
	ContactID string       `json:"contact_id"`
	TS        *string      `json:"ts"`
	Amount    *json.Number `json:"amount"`
	Product   string       `json:"product"`
	Category  string       `json:"category"`
	Quantity  *json.Number `json:"quantity"`
}

// DecodeTransaction decodes and validates one transaction record.
func DecodeTransaction(data []byte) (store.Transaction, error) {
	var j transactionJSON
	if err := decodeStrict(data, &j); err != nil {
		return store.Transaction{}, err
	}
	for _, err := range []error{checkString("contact_id", j.ContactID, true),
		checkString("product", j.Product, false), checkString("category", j.Category, false)} {
		if err != nil {
			return store.Transaction{}, err
		}
	}
	ts, err := parseTime("ts", j.TS, true)
	if err != nil {
		return store.Transaction{}, err
	}
	if j.Amount == nil {
		return store.Transaction{}, refuse("amount", "required")
	}
	a, err := amount("amount", *j.Amount)
	if err != nil {
		return store.Transaction{}, err
	}
	x := store.Transaction{ContactID: j.ContactID, TS: ts, Amount: a, Product: j.Product, Category: j.Category}
	if j.Quantity != nil {
		q, err := j.Quantity.Int64()
		if err != nil {
			return store.Transaction{}, refuse("quantity", "%s is not an integer", *j.Quantity)
		}
		x.Quantity = q
	}
	return x, nil
}

type identityJSON struct {
	IDA string  `json:"id_a"`
	IDB string  `json:"id_b"`
	TS  *string `json:"ts"`
}

// DecodeIdentity decodes and validates one identity record.
func DecodeIdentity(data []byte) (store.Identity, error) {
	var j identityJSON
	if err := decodeStrict(data, &j); err != nil {
		return store.Identity{}, err
	}
	for _, err := range []error{checkString("id_a", j.IDA, true), checkString("id_b", j.IDB, true)} {
		if err != nil {
			return store.Identity{}, err
		}
	}
	ts, err := parseTime("ts", j.TS, false)
	if err != nil {
		return store.Identity{}, err
	}
	return store.Identity{IDA: j.IDA, IDB: j.IDB, TS: ts}, nil
}

// DecodeContact decodes and validates one contact record: a flat object with contact_id
// (required), created_at, email, stage and stage_since, every other key an attribute whose
// value is a number, a string, a boolean or null (null removes the attribute).
func DecodeContact(data []byte) (store.Contact, error) {
	if !utf8.Valid(data) {
		return store.Contact{}, refuse("", "not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return store.Contact{}, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return store.Contact{}, refuse("", "data after the record object")
	}
	if m == nil {
		return store.Contact{}, refuse("", "expected a JSON object, got null")
	}
	str := func(k string) (string, error) {
		v, ok := m[k]
		delete(m, k)
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", refuse(k, "expected a string")
		}
		return s, nil
	}
	var c store.Contact
	var err error
	if c.ContactID, err = str("contact_id"); err != nil {
		return c, err
	}
	if err := checkString("contact_id", c.ContactID, true); err != nil {
		return c, err
	}
	if c.Email, err = str("email"); err != nil {
		return c, err
	}
	if c.Stage, err = str("stage"); err != nil {
		return c, err
	}
	for _, err := range []error{checkString("email", c.Email, false), checkString("stage", c.Stage, false)} {
		if err != nil {
			return c, err
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"created_at", &c.CreatedAt}, {"stage_since", &c.StageSince}} {
		s, err := str(f.name)
		if err != nil {
			return c, err
		}
		if *f.dst, err = parseTime(f.name, &s, false); err != nil {
			return c, err
		}
	}
	c.Attributes = make(map[string]any, len(m))
	for k, v := range m {
		if err := checkString("attribute name", k, true); err != nil {
			return c, refuse(k, "attribute name longer than %d bytes or with a NUL character", store.MaxIDBytes)
		}
		switch x := v.(type) {
		case nil, bool:
			c.Attributes[k] = x
		case string:
			if len(x) > 4096 {
				return c, refuse(k, "longer than 4096 bytes")
			}
			c.Attributes[k] = x
		case json.Number:
			f, err := finite(k, x)
			if err != nil {
				return c, err
			}
			c.Attributes[k] = f
		default:
			return c, refuse(k, "expected a number, string, boolean or null")
		}
	}
	return c, nil
}
