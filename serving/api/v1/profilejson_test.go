package v1

import (
	"bytes"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/features"
)

// loadBody is the profile of scripts/load_serve.lua.
func loadBody(tb testing.TB) []byte {
	tb.Helper()
	lua, err := os.ReadFile("../../../scripts/load_serve.lua")
	if err != nil {
		tb.Fatal(err)
	}
	s := string(lua)
	return []byte(s[strings.Index(s, "[[")+2 : strings.Index(s, "]]")])
}

// fastSeeds are bodies at the edges of what the fast decoder handles.
var fastSeeds = []string{
	`{"contact_id":"c-1","as_of":"2026-03-10T00:00:00Z","attributes":{"age":62,"vip":true,"x":null,"plan":"pro","neg":-1.5e-3},
	  "events":[{"type":"form_submit","ts":"2026-03-01T10:00:00Z","page":"/a","value":3},
	            {"type":"email_open","ts":"2026-03-02","channel":null,"campaign":"c","anonymous_id":"a","email":"e@x","value":null}],
	  "transactions":[{"ts":"2025-11-02","amount":129.5,"product":"service","category":"s","quantity":2},{"ts":"2025-11-03T00:00:00+02:00","amount":-0,"quantity":null}]}`,
	`{}`, ` { } `, `{"events":[],"transactions":[],"attributes":{}}`, `{"events":null,"transactions":null,"attributes":null,"as_of":null,"contact_id":null}`,
	`{"contact_id":"\u00e9\n\t\"\\\/\b\f\r"}`, `{"contact_id":"caf` + "\xc3\xa9" + `"}`, `{"contact_id":"\ud83d\ude00"}`, `{"contact_id":"\ud800"}`,
	`{"contact_id":"` + "\xff" + `"}`, `{"contact_id":"a` + "\x01" + `"}`, `{"contact_\u0069d":"x"}`, `{"Contact_ID":"x"}`, `{"CONTACT_ID":"x"}`,
	`{"contact_id":"a","contact_id":"b"}`, `{"attributes":{"a":1},"attributes":{"b":2}}`, `{"attributes":{"a":1,"a":"x"}}`,
	`{"contact_id":"c","attributes":{"a":1,"a":"x"}}`, `{"contact_id":"c","attributes":{"a":1,"b":2,"a":1}}`,
	`{"contact_id":"c","events":[{"type":"a","ts":"2026-01-01","type":"b"}]}`, `{"contact_id":"c","Contact_ID":"d"}`,
	`{"contact_id":"c"}}`, `null`, `{"contact_id":""}`,
	`{"attributes":{"a":[1],"a":1}}`, `{"attributes":{"a":{"b":1}}}`, `{"attributes":{"a":1e999}}`, `{"attributes":{"\u0061":1,"a":2}}`,
	`{"events":[{"type":"a","ts":"2026-01-01","type":"b"}]}`, `{"events":[{"type":"a","page":"p"}],"events":[{"type":"b","ts":"2026-01-01"}]}`,
	`{"events":[null]}`, `{"events":[{"type":"","ts":"2026-01-01"}]}`, `{"events":[{"type":"a"}]}`, `{"events":[{"type":"a","ts":"yesterday"}]}`,
	`{"events":[{"type":"a","ts":"2026-01-01","value":"3"}]}`, `{"events":[{"type":"a","ts":"2026-01-01","Value":3}]}`,
	`{"transactions":[{"ts":"2025-01-01"}]}`, `{"transactions":[{"ts":"2025-01-01","amount":1,"quantity":1.0}]}`,
	`{"transactions":[{"ts":"2025-01-01","amount":1,"quantity":1e2}]}`, `{"transactions":[{"ts":"2025-01-01","amount":1,"quantity":-0}]}`,
	`{"transactions":[{"ts":"2025-01-01","amount":1,"quantity":99999999999999999999}]}`, `{"transactions":[null]}`,
	`{"as_of":"2026-02-30"}`, `{"as_of":5}`, `{"as_of":"2026-03-10T00:00:00.123456789-07:00"}`,
	`null`, ` null `, `[]`, `"x"`, `5`, `{}}`, `{}]`, `{} {}`, `{}x`, "{}\x00", `{"a":1}`, `{"contact_id":01}`, `{"contact_id":"a",}`,
	`{"contact_id" "a"}`, `{,}`, `{"events":[{"type":"a","ts":"2026-01-01"},]}`, `{"attributes":{"a":-}}`, `{"attributes":{"a":1.}}`,
	`{"attributes":{"a":.5}}`, `{"attributes":{"a":1e}}`, `{"attributes":{"a":1E+2,"b":-0.0e-0}}`, `{"attributes":{"a":tru}}`,
	`{"attributes":{"a":nullx}}`, `{"contact_id":"\x"}`, `{"contact_id":"\u12"}`, `{"contact_id":"\u00zz"}`, `{"contact_id":"\'"}`,
	"\ufeff{}", "", "   ", `{"contact_id":"a"`, `{"contact_id":`, `{"events":[{"type":"a","ts":"2026-01-01"}`,
}

// sameProfile compares profiles field by field, floats by their bits (NaN is "no value").
func sameProfile(a, b features.Profile) bool {
	sameF := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	if a.ContactID != b.ContactID || a.AsOf != b.AsOf || (a.Attributes == nil) != (b.Attributes == nil) ||
		!reflect.DeepEqual(a.Attributes, b.Attributes) || (a.Events == nil) != (b.Events == nil) ||
		(a.Transactions == nil) != (b.Transactions == nil) || len(a.Events) != len(b.Events) ||
		len(a.Transactions) != len(b.Transactions) {
		return false
	}
	for i, e := range a.Events {
		f := b.Events[i]
		if e.TS != f.TS || e.Type != f.Type || e.Page != f.Page || e.Channel != f.Channel || e.Campaign != f.Campaign ||
			e.AnonymousID != f.AnonymousID || e.Email != f.Email || !sameF(e.Value, f.Value) {
			return false
		}
	}
	for i, t := range a.Transactions {
		u := b.Transactions[i]
		if t.TS != u.TS || !sameF(t.Amount, u.Amount) || t.Product != u.Product || t.Category != u.Category || t.Quantity != u.Quantity {
			return false
		}
	}
	return true
}

// checkFast checks the fast decoder's promise on body: what it accepts, features.DecodeProfile
// accepts with the same profile; what it leaves as invalid, features.DecodeProfile refuses;
// and decodeProfile answers exactly as features.DecodeProfile.
func checkFast(t *testing.T, body []byte) {
	t.Helper()
	fast, why := fastProfile(body, fuzzNow)
	strict, err := features.DecodeProfile(bytes.NewReader(body), fuzzNow)
	switch {
	case why == accepted && err != nil:
		t.Fatalf("%q: fast decoder accepts, strict refuses: %v", body, err)
	case why == accepted && !sameProfile(fast, strict):
		t.Fatalf("%q: profiles differ:\nfast   %#v\nstrict %#v", body, fast, strict)
	case why == deferInvalid && err == nil:
		t.Fatalf("%q: fast decoder calls it invalid, strict accepts it: %#v", body, strict)
	}
	got, gerr := decodeProfile(body, fuzzNow)
	if (gerr == nil) != (err == nil) || (err != nil && gerr.Error() != err.Error()) || (err == nil && !sameProfile(got, strict)) {
		t.Fatalf("%q: decodeProfile %v %#v, strict %v %#v", body, gerr, got, err, strict)
	}
}

func TestFastProfile(t *testing.T) {
	body := loadBody(t)
	if _, why := fastProfile(body, fuzzNow); why != accepted {
		t.Fatalf("the load script's profile is deferred (%d)", why)
	}
	for _, s := range append(fastSeeds, string(body)) {
		checkFast(t, []byte(s))
	}
	// Each reason to defer, on an example.
	for _, c := range []struct {
		body string
		want deferral
	}{
		{fastSeeds[0], accepted},
		{`{"contact_id":"\u00e9"}`, accepted},
		{`{"events":[{"type":"a"}]}`, deferInvalid},
		{`null`, deferNotObject},
		{`{"contact_id":"a"}}`, deferTrailing},
		{`{"contact_id":"a","contact_id":"b"}`, deferDuplicate},
		{`{"contact_id":"a","attributes":{"x":1,"x":2}}`, deferDuplicate},
		{`{"Contact_ID":"x"}`, deferKey},
		{`{"contact_id":"\ud83d\ude00"}`, deferText},
		{`{"attributes":{"a":[1]}}`, deferAttribute},
	} {
		if _, why := fastProfile([]byte(c.body), fuzzNow); why != c.want {
			t.Errorf("%s: deferral %d, want %d", c.body, why, c.want)
		}
	}
}

// FuzzFastProfile checks the fast decoder against features.DecodeProfile (encoding/json,
// strict) on arbitrary bodies: same acceptance, same values, same errors.
func FuzzFastProfile(f *testing.F) {
	fuzzSeeds(f)
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Add(loadBody(f))
	f.Fuzz(func(t *testing.T, body []byte) { checkFast(t, body) })
}

// BenchmarkDecodeProfile decodes the load script's profile with both decoders.
func BenchmarkDecodeProfile(b *testing.B) {
	body := loadBody(b)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, why := fastProfile(body, fuzzNow); why != accepted {
				b.Fatal(why)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := features.DecodeProfile(bytes.NewReader(body), fuzzNow); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
	})
}
