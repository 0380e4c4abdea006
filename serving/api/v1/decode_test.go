package v1

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/propensity-dev/propensity/serving/internal/arrowipc/arrowipctest"
)

var fuzzNow = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		`{"contact_id": "c-1", "as_of": "2026-03-10T00:00:00Z", "attributes": {"age": 62, "vip": true, "x": null},
		  "events": [{"type": "form_submit", "ts": "2026-03-01T10:00:00Z", "page": "/a", "value": 3}],
		  "transactions": [{"ts": "2025-11-02", "amount": 129.5, "product": "service", "quantity": 2}]}`,
		`[{"contact_id": "a"}, {"contact_id": "b"}]`,
		"{\"contact_id\": \"a\"}\n{\"contact_id\": \"b\"}\n",
		`{"contact_id": 5}`, `{"emial": "x"}`, `{"events": [{"ts": 1}]}`, `{"attributes": {"a": [1]}}`,
		`{"transactions": [{"ts": "2025-01-01", "amount": "1"}]}`, `[`, `]`, `{}{}`, ``, `null`, `[null]`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeProfile checks that no body makes the single-profile decoder panic, and that
// every refusal is a bad_data answer.
func FuzzDecodeProfile(f *testing.F) {
	fuzzSeeds(f)
	var pool sync.Pool
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeOne(&pool, bytes.NewReader(body), fuzzNow)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != ErrBadData || ae.msg == "" {
				t.Fatalf("decoding error is not bad_data: %#v", err)
			}
			return
		}
		if p.AsOf.IsZero() {
			t.Fatal("accepted profile without as-of time")
		}
	})
}

// FuzzDecodeBatch does the same for batches (JSON array or NDJSON).
func FuzzDecodeBatch(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ps, err := decodeBatch(bytes.NewReader(body), fuzzNow, 50, 1<<20)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != ErrBadData || ae.msg == "" {
				t.Fatalf("decoding error is not bad_data: %#v", err)
			}
			return
		}
		if len(ps) > 50 {
			t.Fatalf("%d profiles past the limit", len(ps))
		}
	})
}

// FuzzDecodeArrow feeds arbitrary bytes to the Arrow batch decoder.
func FuzzDecodeArrow(f *testing.F) {
	f.Add(validArrowStream(f))
	for _, s := range arrowAttackSeeds() {
		f.Add(s)
	}
	f.Add([]byte("ARROW1"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := decodeArrow(context.Background(), bytes.NewReader(body), fuzzNow, 50, 1<<20)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != ErrBadData {
				t.Fatalf("decoding error is not bad_data: %#v", err)
			}
		}
	})
}

// validArrowStream is a two-row stream laid out as ArrowInputSchema.
func validArrowStream(f *testing.F) []byte {
	return arrowipctest.RecordStream(f, ArrowInputSchema(), func(b *array.RecordBuilder) {
		for _, id := range []string{"a", "b"} {
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).AppendNull()
			b.Field(2).(*array.StringBuilder).Append(`{"age": 3}`)
			b.Field(3).(*array.StringBuilder).Append(`[{"type": "email_open", "ts": "2026-03-02T08:00:00Z"}]`)
			b.Field(4).AppendNull()
		}
	})
}

// arrowAttackSeeds are the shared-table schemas of issue 17 (defects 1 and 2) and smaller
// relatives, as whole streams.
func arrowAttackSeeds() [][]byte {
	return [][]byte{
		arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8),
		arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid),
		arrowipctest.SharedSchemaStream(3, 3, arrowipctest.ArrowTypeUtf8),
		arrowipctest.SharedSchemaStream(1, 40, arrowipctest.ArrowTypeUtf8),
		arrowipctest.SharedMetadataStream(1000, 2<<10),
	}
}
