package features

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParseTime accepts RFC 3339 or YYYY-MM-DD (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339 or YYYY-MM-DD)", s)
}

type eventJSON struct {
	Type        *string  `json:"type"`
	TS          *string  `json:"ts"`
	Page        string   `json:"page"`
	Channel     string   `json:"channel"`
	Campaign    string   `json:"campaign"`
	AnonymousID string   `json:"anonymous_id"`
	Email       string   `json:"email"`
	Value       *float64 `json:"value"`
}

type transactionJSON struct {
	TS       *string  `json:"ts"`
	Amount   *float64 `json:"amount"`
	Product  string   `json:"product"`
	Category string   `json:"category"`
	Quantity int64    `json:"quantity"`
}

type profileJSON struct {
	ContactID    string            `json:"contact_id"`
	AsOf         *string           `json:"as_of"`
	Attributes   map[string]any    `json:"attributes"`
	Events       []eventJSON       `json:"events"`
	Transactions []transactionJSON `json:"transactions"`
}

// maxProfileBytes bounds what DecodeProfile reads.
const maxProfileBytes = 32 << 20

// DecodeProfile decodes a profile (docs/contract.md §2) strictly: unknown fields, wrong types,
// missing or unparsable times and non-finite amounts are errors (*FieldError) naming the field.
// So are a body that is not a JSON object (null included), a missing or empty contact_id, a
// key given twice in one object, and a key in another case than the contract's (encoding/json
// would let the last duplicate win and match keys case-insensitively, silently).
// as_of defaults to now. Attribute values must be numbers, strings, booleans or null.
func DecodeProfile(r io.Reader, now time.Time) (Profile, error) {
	data, err := readBody(r)
	if err != nil {
		return Profile{}, fmt.Errorf("%w: reading: %v", ErrBadProfile, err)
	}
	if len(data) > maxProfileBytes {
		return Profile{}, &FieldError{Field: "(body)", Msg: fmt.Sprintf("larger than %d bytes", maxProfileBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	// Room for a typical profile's events up front: the decoder appends to the slice.
	pj := profileJSON{Events: make([]eventJSON, 0, min(64, bytes.Count(data, []byte(`"type"`))))}
	if err := dec.Decode(&pj); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return Profile{}, &FieldError{Field: "(body)", Msg: "expected a JSON object, got JSON " + te.Value}
		case errors.As(err, &te):
			return Profile{}, &FieldError{Field: te.Field, Msg: fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value)}
		case errors.As(err, &se):
			return Profile{}, &FieldError{Field: "(body)", Msg: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return Profile{}, &FieldError{Field: f, Msg: "unknown field"}
		case errors.Is(err, io.EOF):
			return Profile{}, &FieldError{Field: "(body)", Msg: "empty"}
		}
		return Profile{}, &FieldError{Field: "(body)", Msg: err.Error()}
	}
	if dec.More() {
		return Profile{}, &FieldError{Field: "(body)", Msg: "data after the profile object"}
	}
	if suspectText(data) {
		if f, bad := textField(data); bad {
			return Profile{}, &FieldError{Field: f, Msg: textMsg + " (or holds a lone surrogate escape)"}
		}
	}
	if i := bytes.IndexFunc(data, func(r rune) bool { return !isJSONSpace(r) }); i < 0 || data[i] != '{' {
		return Profile{}, &FieldError{Field: "(body)", Msg: "expected a JSON object, got " + jsonKind(data[max(i, 0):])}
	}
	if err := checkKeys(data); err != nil {
		return Profile{}, err
	}
	p := Profile{ContactID: pj.ContactID, AsOf: now.UTC(), Attributes: pj.Attributes}
	if pj.AsOf != nil {
		t, err := ParseTime(*pj.AsOf)
		if err != nil {
			return Profile{}, &FieldError{Field: "as_of", Msg: err.Error()}
		}
		p.AsOf = t
	}
	for k, v := range pj.Attributes {
		switch v.(type) {
		case nil, float64, string, bool:
		default:
			return Profile{}, &FieldError{Field: "attributes." + k, Msg: "expected a number, string, boolean or null"}
		}
	}
	p.Events = make([]Event, len(pj.Events))
	for i, e := range pj.Events {
		f := func(name string) string { return fmt.Sprintf("events[%d].%s", i, name) }
		if e.Type == nil || *e.Type == "" {
			return Profile{}, &FieldError{Field: f("type"), Msg: "required"}
		}
		if e.TS == nil {
			return Profile{}, &FieldError{Field: f("ts"), Msg: "required"}
		}
		ts, err := ParseTime(*e.TS)
		if err != nil {
			return Profile{}, &FieldError{Field: f("ts"), Msg: err.Error()}
		}
		v := math.NaN()
		if e.Value != nil {
			v = *e.Value
		}
		p.Events[i] = Event{TS: ts, Type: *e.Type, Page: e.Page, Channel: e.Channel, Campaign: e.Campaign,
			AnonymousID: e.AnonymousID, Email: e.Email, Value: v}
	}
	p.Transactions = make([]Transaction, len(pj.Transactions))
	for i, t := range pj.Transactions {
		f := func(name string) string { return fmt.Sprintf("transactions[%d].%s", i, name) }
		if t.TS == nil {
			return Profile{}, &FieldError{Field: f("ts"), Msg: "required"}
		}
		ts, err := ParseTime(*t.TS)
		if err != nil {
			return Profile{}, &FieldError{Field: f("ts"), Msg: err.Error()}
		}
		if t.Amount == nil {
			return Profile{}, &FieldError{Field: f("amount"), Msg: "required"}
		}
		p.Transactions[i] = Transaction{TS: ts, Amount: *t.Amount, Product: t.Product, Category: t.Category, Quantity: t.Quantity}
	}
	if err := CheckProfile(&p, ContactColumns{}); err != nil {
		return Profile{}, err
	}
	if pj.ContactID == "" {
		return Profile{}, &FieldError{Field: "contact_id", Msg: "required (a non-empty string)"}
	}
	return p, nil
}

func isJSONSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// jsonKind names the kind of the JSON value that b starts with, for error messages.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// profileKeys are the keys of the objects of a profile, by their place; attributes take any key.
var profileKeys = map[string][]string{
	"":             {"contact_id", "as_of", "attributes", "events", "transactions"},
	"events":       {"type", "ts", "page", "channel", "campaign", "anonymous_id", "email", "value"},
	"transactions": {"ts", "amount", "product", "category", "quantity"},
}

// checkKeys walks a syntactically valid profile body and refuses a key given twice in one
// object, and a contract key written in another case ("Contact_ID"), which encoding/json
// accepts for the field. The error names the key's path.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		path   string // of the container
		place  string // "", "events", "transactions", "attributes" or "other"
		index  int    // next element of an array
		key    string // last key of an object
		seen   map[string]bool
	}
	var stack []*frame
	// child returns the path and place of the value about to be read in the top frame.
	child := func() (string, string) {
		if len(stack) == 0 {
			return "", ""
		}
		f := stack[len(stack)-1]
		if !f.object {
			p := fmt.Sprintf("%s[%d]", f.path, f.index)
			f.index++
			return p, f.place
		}
		p := f.key
		if f.path != "" {
			p = f.path + "." + f.key
		}
		place := "other"
		if f.place == "" {
			switch f.key {
			case "events", "transactions", "attributes":
				place = f.key
			}
		}
		return p, place
	}
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // syntax is the decoder's to report
		}
		if expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				expectKey = len(stack) > 0 && stack[len(stack)-1].object
				continue
			}
			f := stack[len(stack)-1]
			k, _ := tok.(string)
			path := k
			if f.path != "" {
				path = f.path + "." + k
			}
			if f.seen[k] {
				return &FieldError{Field: path, Msg: "key given twice (each key may appear once)"}
			}
			f.seen[k] = true
			if known, ok := profileKeys[f.place]; ok && f.place != "other" && !slices.Contains(known, k) {
				for _, want := range known {
					if strings.EqualFold(want, k) {
						return &FieldError{Field: path, Msg: fmt.Sprintf("unknown field (keys are case-sensitive: %q)", want)}
					}
				}
			}
			f.key = k
			expectKey = false
			continue
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			p, place := child() // an element of events or transactions takes its array's place
			stack = append(stack, &frame{object: true, path: p, place: place, seen: map[string]bool{}})
			expectKey = true
		case '[':
			p, place := child()
			stack = append(stack, &frame{path: p, place: place})
		case ']':
			stack = stack[:len(stack)-1]
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
		default: // a scalar value
			child()
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
		}
	}
}

// readBody reads up to maxProfileBytes+1 bytes of r, in one allocation when r knows its
// length (a request body already read into memory).
func readBody(r io.Reader) ([]byte, error) {
	if br, ok := r.(*bytes.Reader); ok {
		data := make([]byte, min(br.Len(), maxProfileBytes+1))
		_, err := io.ReadFull(br, data)
		return data, err
	}
	return io.ReadAll(io.LimitReader(r, maxProfileBytes+1))
}

// MarshalJSON writes a profile in the docs/contract.md §2 shape.
func (p Profile) MarshalJSON() ([]byte, error) {
	pj := profileJSON{ContactID: p.ContactID, Attributes: map[string]any{}}
	if !p.AsOf.IsZero() {
		s := p.AsOf.UTC().Format(time.RFC3339Nano)
		pj.AsOf = &s
	}
	for k, v := range p.Attributes {
		switch x := v.(type) {
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		case float64:
			if math.IsNaN(x) {
				v = nil
			}
		}
		pj.Attributes[k] = v
	}
	pj.Events = make([]eventJSON, len(p.Events))
	for i, e := range p.Events {
		ty, ts := e.Type, e.TS.UTC().Format(time.RFC3339Nano)
		ej := eventJSON{Type: &ty, TS: &ts, Page: e.Page, Channel: e.Channel, Campaign: e.Campaign, AnonymousID: e.AnonymousID, Email: e.Email}
		if !math.IsNaN(e.Value) {
			v := e.Value
			ej.Value = &v
		}
		pj.Events[i] = ej
	}
	pj.Transactions = make([]transactionJSON, len(p.Transactions))
	for i, t := range p.Transactions {
		ts, a := t.TS.UTC().Format(time.RFC3339Nano), t.Amount
		pj.Transactions[i] = transactionJSON{TS: &ts, Amount: &a, Product: t.Product, Category: t.Category, Quantity: t.Quantity}
	}
	return json.Marshal(pj)
}

// attrTime reads a time attribute (time.Time, RFC 3339 or date string); NoTS otherwise.
// checkValues has refused times outside TimeRange.
func attrTime(v any) int64 {
	switch x := v.(type) {
	case time.Time:
		if !x.IsZero() {
			return Nanos(x)
		}
	case string:
		if t, err := ParseTime(x); err == nil {
			return Nanos(t)
		}
	}
	return NoTS
}

// attrValue turns an attribute value into the numeric or categorical form of the batch path.
// ok is false for a value of a numeric attribute that is a number, or a string that parses
// as one, but not a finite one ("Infinity", "-inf", "NaN"): bad input, not a missing value.
// Other strings ("lots") are missing (NaN).
func attrValue(v any, categorical bool) (num float64, str string, ok bool) {
	num, str = attrValueOf(v, categorical)
	if !categorical && !isFinite(num) {
		switch x := v.(type) {
		case nil:
			return num, str, true
		case float64:
			return num, str, math.IsNaN(x) // NaN: a missing value (Person.Attributes never has one)
		case float32:
			return num, str, math.IsNaN(float64(x))
		}
	}
	switch x := v.(type) {
	case string:
		return num, str, categorical || !ParsesNonFinite(x)
	case json.Number:
		return num, str, categorical || !ParsesNonFinite(string(x))
	}
	return num, str, true
}

// ParsesNonFinite reports whether s parses as a number that is not finite: "NaN", "Infinity",
// "-inf", or one beyond the float64 range such as "1e400".
func ParsesNonFinite(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return (err == nil || errors.Is(err, strconv.ErrRange)) && !isFinite(f)
}

func attrValueOf(v any, categorical bool) (float64, string) {
	if categorical {
		switch x := v.(type) {
		case string:
			return math.NaN(), x
		case bool:
			return math.NaN(), strconv.FormatBool(x)
		case float64:
			if math.IsNaN(x) {
				return math.NaN(), ""
			}
			return math.NaN(), strconv.FormatFloat(x, 'g', -1, 64)
		case int:
			return math.NaN(), strconv.Itoa(x)
		case int64:
			return math.NaN(), strconv.FormatInt(x, 10)
		}
		return math.NaN(), ""
	}
	switch x := v.(type) {
	case float64:
		return x, ""
	case float32:
		return float64(x), ""
	case int:
		return float64(x), ""
	case int64:
		return float64(x), ""
	case int32:
		return float64(x), ""
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f, ""
		}
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, ""
		}
	}
	return math.NaN(), ""
}

// reservedAttributes are contact columns with a meaning of their own, not attribute features.
func reservedAttributes(m ContactColumns) map[string]bool {
	return map[string]bool{m.ContactID: true, m.CreatedAt: true, m.Email: true, m.Stage: true, m.StageSince: true}
}

// ComputeProfile computes the feature row of one profile — the online path, through the same
// accumulator as Build. The as-of time is p.AsOf, or opts.AsOf when p.AsOf is zero. Labels are
// computed when opts.Horizon > 0 from the profile's transactions at or after as-of. With
// opts.Attributes nil the attribute columns are the profile's attribute keys (sorted); with
// opts.ProductCategories nil there are no spend_<category> columns: pass Table.Options() of
// the training table to get its exact columns.
func ComputeProfile(p Profile, opts Options) (Row, error) {
	return computeProfile(p, opts, nil, nil)
}

// Online computes the feature rows of single profiles with fixed options, as ComputeProfile
// does, but builds the schema once instead of for every profile when the options list the
// attributes. It is safe for concurrent use; its rows share one *Schema, which callers must
// not modify.
type Online struct {
	opts   Options
	schema *Schema    // nil when the attributes come from each profile
	filler *RowFiller // for schema, but for the as-of time of each row
}

// NewOnline returns an Online computing rows with opts.
func NewOnline(opts Options) *Online {
	o := &Online{opts: opts}
	if opts.Attributes != nil {
		d := opts.EnsureDefaults()
		if d.ProductCategories == nil {
			d.ProductCategories = []string{}
		}
		o.schema = SchemaFor(d)
		o.filler = NewRowFiller(o.schema, d)
	}
	return o
}

// Options returns the options o computes rows with.
func (o *Online) Options() Options { return o.opts }

// Compute returns ComputeProfile(p, opts) for o's options.
func (o *Online) Compute(p Profile) (Row, error) {
	return computeProfile(p, o.opts, o.schema, o.filler)
}

// computeProfile is ComputeProfile with the schema of opts and its row filler when they are
// known (nil: built here).
func computeProfile(p Profile, opts Options, schema *Schema, filler *RowFiller) (Row, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Row{}, err
	}
	if !p.AsOf.IsZero() {
		opts.AsOf = p.AsOf.UTC()
	}
	if err := opts.validate(); err != nil {
		return Row{}, err
	}
	cm := opts.Mapping.Contacts
	if err := checkValues(&p, cm); err != nil {
		return Row{}, err
	}
	if opts.Attributes == nil {
		reserved := reservedAttributes(cm)
		keys := make([]string, 0, len(p.Attributes))
		for k := range p.Attributes {
			if !reserved[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		opts.Attributes = []Attribute{}
		for _, k := range keys {
			_, cat := p.Attributes[k].(string)
			if _, b := p.Attributes[k].(bool); b {
				cat = true
			}
			opts.Attributes = append(opts.Attributes, Attribute{Name: k, Categorical: cat})
		}
	}
	if opts.ProductCategories == nil {
		opts.ProductCategories = []string{}
	}
	if schema == nil {
		schema = SchemaFor(opts)
	}
	var rf *RowFiller
	if filler != nil {
		f := *filler
		f.asOf = Nanos(opts.AsOf)
		rf = &f
	} else {
		rf = NewRowFiller(schema, opts)
	}
	row := NewRow(schema)
	asOf := Nanos(opts.AsOf)
	hEnd := Nanos(opts.AsOf.Add(opts.Horizon))
	var ev EventAcc
	ev.Reset()
	hl := float64(opts.HalfLife)
	for _, e := range p.Events {
		ts := Nanos(e.TS)
		if e.TS.IsZero() || ts >= asOf {
			continue
		}
		ev.Add(AgeNanos(asOf, ts), ts, TypeCode([]byte(e.Type)), PageCategory([]byte(e.Page)), e.Value, hl)
	}
	order := make([]int, 0, len(p.Transactions))
	for i, t := range p.Transactions {
		if !t.TS.IsZero() && !math.IsNaN(t.Amount) && !math.IsInf(t.Amount, 0) {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return p.Transactions[a].TS.Compare(p.Transactions[b].TS) })
	var tx TxAcc
	tx.Reset(len(opts.ProductCategories))
	prods := NewProducts()
	for _, i := range order {
		t := p.Transactions[i]
		key := t.Category
		if key == "" {
			key = t.Product
		}
		tx.Add(Nanos(t.TS), asOf, hEnd, t.Amount, slices.Index(opts.ProductCategories, key), prods.Code([]byte(key)))
	}
	ci := ContactInfo{ID: p.ContactID, Created: attrTime(p.Attributes[cm.CreatedAt]), StageSince: attrTime(p.Attributes[cm.StageSince])}
	if s, ok := p.Attributes[cm.Stage].(string); ok {
		ci.Stage = s
	}
	attrNum, attrStr := make([]float64, len(opts.Attributes)), make([]string, len(opts.Attributes))
	for i, a := range opts.Attributes {
		var ok bool
		if attrNum[i], attrStr[i], ok = attrValue(p.Attributes[a.Name], a.Categorical); !ok {
			return Row{}, &FieldError{Field: "attributes." + a.Name, Msg: fmt.Sprintf("%v is not a finite number", p.Attributes[a.Name])}
		}
	}
	rf.Fill(&row, &ci, &ev, &tx, attrNum, attrStr, func(c int32) string { return prods.Names[c] })
	return row, nil
}
