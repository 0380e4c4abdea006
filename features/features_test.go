package features

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSchemaNamesUnique(t *testing.T) {
	s := SchemaFor(Options{Horizon: 1, ProductCategories: []string{"a b", "a_b", "age"},
		Attributes: []Attribute{{Name: "age"}, {Name: "stage"}, {Name: "spend_age"}, {Name: "n_events_30d"}}})
	seen := map[string]bool{}
	for _, c := range s.Columns {
		if seen[c.Name] {
			t.Errorf("column %s twice", c.Name)
		}
		seen[c.Name] = true
	}
}

func TestParseMapping(t *testing.T) {
	m, err := ParseMapping([]byte("transactions:\n  file: orders.parquet\n  contact_id: customer_id\n  ts: date\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Transactions.File != "orders.parquet" || m.Transactions.ContactID != "customer_id" || m.Transactions.Amount != "amount" || m.Events.TS != "ts" {
		t.Errorf("mapping %+v", m)
	}
	if _, err := ParseMapping([]byte("transactions:\n  customer: x\n")); !errors.Is(err, ErrBadMapping) {
		t.Errorf("unknown key: %v", err)
	}
	if m, err := ParseMapping(nil); err != nil || m.Contacts.File != "contacts.parquet" {
		t.Errorf("empty config: %v", err)
	}
}

func TestDecodeProfile(t *testing.T) {
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	good := `{"contact_id":"c-1","attributes":{"age":62,"occupation":"retired"},
	  "events":[{"type":"form_submit","ts":"2026-03-01T10:00:00Z","page":"/models/suv-x"},{"type":"survey","ts":"2026-03-02","value":8}],
	  "transactions":[{"ts":"2025-11-02T12:00:00Z","amount":129.5,"product":"service"}]}`
	p, err := DecodeProfile(strings.NewReader(good), now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.AsOf.Equal(now) || len(p.Events) != 2 || p.Events[1].Value != 8 || !math.IsNaN(p.Events[0].Value) || p.Transactions[0].Amount != 129.5 {
		t.Errorf("profile %+v", p)
	}
	row, err := ComputeProfile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := row.Float("n_form_submit_30d"); v != 1 {
		t.Errorf("n_form_submit_30d = %v", v)
	}
	if v, _ := row.Float("age"); v != 62 {
		t.Errorf("age = %v", v)
	}
	bad := []struct{ body, field string }{
		{`{"contact_id":1}`, "contact_id"},
		{`{"nope":1}`, "nope"},
		{`{"events":[{"type":"x","ts":"yesterday"}]}`, "events[0].ts"},
		{`{"events":[{"ts":"2026-01-01"}]}`, "events[0].type"},
		{`{"transactions":[{"ts":"2026-01-01"}]}`, "transactions[0].amount"},
		{`{"attributes":{"a":[1]}}`, "attributes.a"},
		{`{"as_of":"soon"}`, "as_of"},
		{`{} {}`, "(body)"},
		{``, "(body)"},
	}
	for _, b := range bad {
		_, err := DecodeProfile(strings.NewReader(b.body), now)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != b.field || !errors.Is(err, ErrBadProfile) {
			t.Errorf("%s: error %v, want field %s", b.body, err, b.field)
		}
	}
}

func FuzzDecodeProfile(f *testing.F) {
	f.Add([]byte(`{"contact_id":"c","as_of":"2026-01-01","events":[{"type":"page_view","ts":"2025-12-01T00:00:00Z","page":"/pricing","value":1}],"transactions":[{"ts":"2025-01-01","amount":3}]}`))
	f.Add([]byte(`{"attributes":{"x":null,"y":true}}`))
	// Edges of the accepted values (issue 17): times, amounts, text.
	f.Add([]byte(`{"contact_id":"c","as_of":"2200-12-31","events":[{"type":"x","ts":"1900-01-01"}],"transactions":[{"ts":"1900-01-02","amount":1e15},{"ts":"1900-01-03","amount":-1e15}]}`))
	f.Add([]byte(`{"contact_id":"c \ud83d\ude00","events":[{"type":"x","ts":"9999-12-31","page":"\udc00"}],"transactions":[{"ts":"2025-01-01","amount":1e308}]}`))
	f.Add([]byte("{\"contact_id\":\"c\xff\",\"attributes\":{\"\xc3\":\"Infinity\",\"created_at\":\"1899-12-31\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeProfile(bytes.NewReader(data), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			return
		}
		if err := CheckProfile(&p, ContactColumns{}); err != nil {
			t.Fatalf("DecodeProfile accepted a profile CheckProfile refuses: %v", err)
		}
		row, err := ComputeProfile(p, Options{Horizon: 24 * time.Hour})
		if err != nil {
			return
		}
		for i, c := range row.Schema.Columns {
			if c.Kind == KindCount && (math.IsNaN(row.Nums[i]) || row.Nums[i] < 0) {
				t.Fatalf("%s = %v", c.Name, row.Nums[i])
			}
			if math.IsInf(row.Nums[i], 0) {
				t.Fatalf("%s = %v: an aggregate overflowed", c.Name, row.Nums[i])
			}
			if !utf8.ValidString(row.Strs[i]) {
				t.Fatalf("%s = %q: not UTF-8", c.Name, row.Strs[i])
			}
		}
	})
}

func FuzzParseMapping(f *testing.F) {
	f.Add([]byte("events:\n  ts: when\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMapping(data)
		if err == nil && m.Events.TS == "" {
			t.Fatal("defaults not applied")
		}
	})
}

// checkText skips an event string equal to the last one checked in its field; a string
// sharing the bytes of a valid one but longer (here, with half a rune more), one as long
// as a valid one but not equal to it, and a field other than the one that was valid are
// still checked.
func TestCheckTextRepeats(t *testing.T) {
	full := "/a\xc3"
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		events []Event
		want   string
	}{
		{"same bytes, longer", []Event{{Type: "x", TS: ts, Page: full[:2]}, {Type: "x", TS: ts, Page: full}}, "events[1].page"},
		{"same length, other bytes", []Event{{Type: "x", TS: ts, Page: "/ab"}, {Type: "x", TS: ts, Page: full}}, "events[1].page"},
		{"repeat after a valid one", []Event{{Type: "x", TS: ts, Page: "/a"}, {Type: "x", TS: ts, Page: "/a"}, {Type: "x", TS: ts, Channel: full}}, "events[2].channel"},
		{"valid repeats", []Event{{Type: "x", TS: ts, Page: "/a"}, {Type: "x", TS: ts, Page: "/a"}, {Type: "x", TS: ts}}, ""},
	} {
		p := Profile{ContactID: "c", AsOf: ts.AddDate(0, 1, 0), Events: c.events}
		err := CheckProfile(&p, ContactColumns{})
		var fe *FieldError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.As(err, &fe) || fe.Field != c.want):
			t.Errorf("%s: err = %v, want one naming %s", c.name, err, c.want)
		}
	}
}
