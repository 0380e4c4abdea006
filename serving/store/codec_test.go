package store

import (
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	v := -3.5
	for _, e := range []Event{
		{TS: time.Date(1901, 2, 3, 4, 5, 6, 7, time.UTC), Type: "page_view"},
		{EventID: "e-1", TS: time.Date(2199, 1, 1, 0, 0, 0, 0, time.UTC), Type: "survey", ContactID: "c", AnonymousID: "a",
			Email: "x@example.com", Page: "/p", Channel: "email", Campaign: "spring", Value: &v},
	} {
		var got Event
		if err := decodeEvent(encodeEvent(&e), &got); err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("event %+v round-trips to %+v (%v)", e, got, err)
		}
		// Scoring's reading leaves out the event and contact ids, and only them.
		want := e
		want.EventID, want.ContactID = "", ""
		if err := decodeEventIn(encodeEvent(&e), &got, interner{}, true); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("event %+v read for scoring as %+v (%v)", e, got, err)
		}
	}
	x := Transaction{ContactID: "c", TS: time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC), Amount: 12.25, Product: "p", Category: "k", Quantity: -2}
	var got Transaction
	if err := decodeTransaction(encodeTransaction(&x), &got); err != nil || got != x {
		t.Fatalf("transaction %+v round-trips to %+v (%v)", x, got, err)
	}
}

// FuzzDecode: no input makes the decoders panic, and what decodes re-encodes to itself.
func FuzzDecode(f *testing.F) {
	v := 1.0
	f.Add(encodeEvent(&Event{TS: time.Unix(5, 0), Type: "t", ContactID: "c", Value: &v}))
	f.Add(encodeTransaction(&Transaction{ContactID: "c", TS: time.Unix(5, 0), Amount: 3}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e, scored Event
		full := decodeEvent(b, &e) == nil
		if full != (decodeEventIn(b, &scored, interner{}, true) == nil) {
			t.Fatal("the reading for scoring accepts what the full reading refuses, or the reverse")
		}
		if full {
			if got := encodeEvent(&e); string(got) != string(b) {
				// A value may decode from a non-canonical varint; it must decode the same.
				var again Event
				if err := decodeEvent(got, &again); err != nil || !reflect.DeepEqual(again, e) {
					t.Fatalf("event %+v does not round-trip", e)
				}
			}
		}
		var x Transaction
		if decodeTransaction(b, &x) == nil {
			var again Transaction
			if err := decodeTransaction(encodeTransaction(&x), &again); err != nil || (again != x && x.Amount == x.Amount) {
				t.Fatalf("transaction %+v does not round-trip", x)
			}
		}
	})
}
