package v1

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/propensity-dev/propensity/serving/internal/arrowipc/arrowipctest"
	"github.com/propensity-dev/propensity/serving/servingtest"
)

// heapLimit is the most live heap an Arrow attack may cause in these tests.
const heapLimit = 256 << 20

// TestArrowSharedSchemaFanOutIsRefused is issue 17, defect 1: a 608-byte schema whose 8-entry
// vectors all point at one table, 9 levels deep, stands for 8^9 fields; arrow-go builds every
// one and runs out of memory. It must be refused as bad_data before arrow-go reads it, with
// the work bounded and the heap small.
func TestArrowSharedSchemaFanOutIsRefused(t *testing.T) {
	stream := arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8)
	if len(stream) != 608 {
		t.Fatalf("the defect 1 stream is %d bytes, want the 608 of the report", len(stream))
	}
	var err error
	allocated := servingtest.UnderMemoryLimit(t, heapLimit, func() {
		_, err = decodeArrow(context.Background(), bytes.NewReader(stream), fuzzNow, 50, 1<<20)
	})
	var ae *apiError
	if !errors.As(err, &ae) || ae.typ != ErrBadData || !strings.Contains(ae.msg, "more than 1024 fields") {
		t.Fatalf("got %v, want bad_data naming the field bound", err)
	}
	if allocated > 1<<20 {
		t.Errorf("refusing a 608-byte stream allocated %d bytes", allocated)
	}
}

// TestArrowSharedSchemaFanOut40IsRefused is issue 17, defect 2, at the decoder: the 40-way,
// 8-level schema with an invalid leaf is bad_data (the bounded walk is tested in arrowipc).
func TestArrowSharedSchemaFanOut40IsRefused(t *testing.T) {
	stream := arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid)
	_, err := decodeArrow(t.Context(), bytes.NewReader(stream), fuzzNow, 50, 1<<20)
	var ae *apiError
	if !errors.As(err, &ae) || ae.typ != ErrBadData || !strings.Contains(ae.msg, "more than 1024 fields") {
		t.Fatalf("decodeArrow: %v, want bad_data naming the field bound", err)
	}
}

// TestArrowDecodeHonoursCancellation is issue 17, defect 2, at the decoder: once the request
// is gone, decoding stops with the context's error (503), not bad_data.
func TestArrowDecodeHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stream := arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid)
	if _, err := decodeArrow(ctx, bytes.NewReader(stream), fuzzNow, 50, 1<<20); !errors.Is(err, context.Canceled) {
		t.Errorf("decodeArrow: %v, want context.Canceled", err)
	}
}

// TestArrowDuplicateColumnIsRefused is issue 17, defect 11: with two columns of one name, one
// of them was silently ignored.
func TestArrowDuplicateColumnIsRefused(t *testing.T) {
	str := arrow.BinaryTypes.String
	schema := arrow.NewSchema([]arrow.Field{{Name: "contact_id", Type: str}, {Name: "attributes", Type: str, Nullable: true},
		{Name: "attributes", Type: str, Nullable: true}}, nil)
	stream := arrowipctest.RecordStream(t, schema, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("c-1")
		b.Field(1).(*array.StringBuilder).Append(`{"age": 30}`)
		b.Field(2).(*array.StringBuilder).Append(`{"age": 60}`)
	})
	_, err := decodeArrow(t.Context(), bytes.NewReader(stream), fuzzNow, 50, 1<<20)
	var ae *apiError
	if !errors.As(err, &ae) || ae.typ != ErrBadData || ae.msg != `arrow stream: column "attributes" appears more than once` {
		t.Fatalf("got %v", err)
	}
}

// TestArrowNullContactIDIsRefused is issue 17, defect 11: a null contact_id was scored as a
// profile without an id. The batch is refused, naming the row and column.
func TestArrowNullContactIDIsRefused(t *testing.T) {
	schema := ArrowInputSchema()
	for _, tt := range []struct {
		name string
		id   func(b *array.StringBuilder)
	}{
		{"null", func(b *array.StringBuilder) { b.AppendNull() }},
		{"empty", func(b *array.StringBuilder) { b.Append("") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			row := func(id func(b *array.StringBuilder)) func(b *array.RecordBuilder) {
				return func(b *array.RecordBuilder) {
					id(b.Field(0).(*array.StringBuilder))
					for i := 1; i < 5; i++ {
						b.Field(i).AppendNull()
					}
				}
			}
			stream := arrowipctest.RecordStream(t, schema, row(func(b *array.StringBuilder) { b.Append("c-1") }), row(tt.id))
			_, err := decodeArrow(t.Context(), bytes.NewReader(stream), fuzzNow, 50, 1<<20)
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != ErrBadData || !strings.HasPrefix(ae.msg, `profile 1: column "contact_id" is null or empty`) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
