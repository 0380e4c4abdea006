package v1

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/propensity-dev/propensity/serving/servingtest"
)

// heapLimit is the most live heap an Arrow attack may cause in these tests.
const heapLimit = 256 << 20

// schemaMessage returns the metadata of the first message of an IPC stream.
func schemaMessage(t *testing.T, stream []byte) []byte {
	t.Helper()
	if len(stream) < 8 || binary.LittleEndian.Uint32(stream) != 0xFFFFFFFF {
		t.Fatal("not an IPC stream with continuation markers")
	}
	n := binary.LittleEndian.Uint32(stream[4:])
	return stream[8 : 8+n]
}

// maxSchemaSteps bounds the work of one schema check: per field, its own step and one for
// each of its two vectors; per key-value pair, one step.
const maxSchemaSteps = 3*(maxSchemaFields+1) + maxSchemaPairs + 4

// TestArrowSharedSchemaFanOutIsRefused is issue 17, defect 1: a 608-byte schema whose 8-entry
// vectors all point at one table, 9 levels deep, stands for 8^9 fields; arrow-go builds every
// one and runs out of memory. It must be refused as bad_data before arrow-go reads it, with
// the work bounded and the heap small.
func TestArrowSharedSchemaFanOutIsRefused(t *testing.T) {
	stream := servingtest.SharedSchemaStream(8, 9, servingtest.ArrowTypeUtf8)
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
	w, err := walkSchema(context.Background(), schemaMessage(t, stream))
	if !errors.Is(err, errSchemaBounds) {
		t.Fatalf("walkSchema: %v", err)
	}
	if w.steps > maxSchemaSteps {
		t.Errorf("the check took %d steps, want at most %d", w.steps, maxSchemaSteps)
	}
}

// TestArrowSchemaGuardWorkIsBounded is issue 17, defect 2: with fan-out 40 and an invalid leaf
// type, arrow-go gives up at the first leaf, but a schema check that follows every path
// walks 40^8 of them. The check must stop within its counted budget.
func TestArrowSchemaGuardWorkIsBounded(t *testing.T) {
	stream := servingtest.SharedSchemaStream(40, 8, servingtest.ArrowTypeInvalid)
	w, err := walkSchema(t.Context(), schemaMessage(t, stream))
	if !errors.Is(err, errSchemaBounds) || !strings.Contains(err.Error(), "more than 1024 fields") {
		t.Fatalf("walkSchema: %v, want the field bound", err)
	}
	if w.steps > maxSchemaSteps {
		t.Errorf("the check took %d steps, want at most %d", w.steps, maxSchemaSteps)
	}
	_, err = decodeArrow(t.Context(), bytes.NewReader(stream), fuzzNow, 50, 1<<20)
	var ae *apiError
	if !errors.As(err, &ae) || ae.typ != ErrBadData {
		t.Fatalf("decodeArrow: %v, want bad_data", err)
	}
}

// TestArrowSchemaGuardHonoursCancellation is issue 17, defect 2: the check must stop once the
// request is gone, and say so rather than blame the data.
func TestArrowSchemaGuardHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stream := servingtest.SharedSchemaStream(40, 8, servingtest.ArrowTypeInvalid)
	if err := checkArrowFraming(ctx, stream); !errors.Is(err, context.Canceled) {
		t.Errorf("checkArrowFraming: %v, want context.Canceled", err)
	}
	if _, err := decodeArrow(ctx, bytes.NewReader(stream), fuzzNow, 50, 1<<20); !errors.Is(err, context.Canceled) {
		t.Errorf("decodeArrow: %v, want context.Canceled", err)
	}
	// Within the budget, the walk itself looks at ctx (every 64 steps).
	w, err := walkSchema(ctx, schemaMessage(t, servingtest.SharedSchemaStream(30, 1, servingtest.ArrowTypeUtf8)))
	if !errors.Is(err, context.Canceled) || w.steps > 64 {
		t.Errorf("walkSchema: %v after %d steps, want context.Canceled within 64", err, w.steps)
	}
}

// TestArrowSchemaBounds checks each bound at and past its edge; shared tables count once per
// path that reaches them.
func TestArrowSchemaBounds(t *testing.T) {
	utf8 := servingtest.ArrowTypeUtf8
	for _, tt := range []struct {
		name   string
		stream []byte
		want   string // "" when accepted
	}{
		{"input schema", arrowStream(t, ArrowInputSchema()), ""},
		{"shared 3x3", servingtest.SharedSchemaStream(3, 3, utf8), ""},
		{"1024 fields", servingtest.SharedSchemaStream(1024, 1, utf8), ""},
		{"1025 fields", servingtest.SharedSchemaStream(1025, 1, utf8), "more than 1024 fields"},
		{"32x32 shared", servingtest.SharedSchemaStream(32, 2, utf8), "more than 1024 fields"},
		{"32 deep", servingtest.SharedSchemaStream(1, 32, utf8), ""},
		{"33 deep", servingtest.SharedSchemaStream(1, 33, utf8), "nested more than 32 deep"},
		{"1024 pairs", servingtest.SharedMetadataStream(1024, 8), ""},
		{"1025 pairs", servingtest.SharedMetadataStream(1025, 8), "more than 1024 custom metadata pairs"},
		{"shared 2 KiB value", servingtest.SharedMetadataStream(1000, 2<<10), "more than 1048576 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkArrowFraming(t.Context(), tt.stream)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, errSchemaBounds) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestArrowSharedSchemaWithinBoundsIsWhatArrowGoReads checks the attack streams on a small
// scale: arrow-go expands a shared schema into fanout^levels leaves, which is what the
// bounds count.
func TestArrowSharedSchemaWithinBoundsIsWhatArrowGoReads(t *testing.T) {
	stream := servingtest.SharedSchemaStream(3, 4, servingtest.ArrowTypeUtf8)
	w, err := walkSchema(t.Context(), schemaMessage(t, stream))
	if err != nil {
		t.Fatal(err)
	}
	rd, err := ipc.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	var count func(fs []arrow.Field) int
	count = func(fs []arrow.Field) int {
		n := len(fs)
		for _, f := range fs {
			if st, ok := f.Type.(*arrow.StructType); ok {
				n += count(st.Fields())
			}
		}
		return n
	}
	if got, want := count(rd.Schema().Fields()), 3+9+27+81; got != want || w.fields != want || w.depth != 4 {
		t.Errorf("arrow-go built %d fields, the check counted %d at depth %d; want %d at depth 4", got, w.fields, w.depth, want)
	}
}

func arrowStream(t *testing.T, schema *arrow.Schema, rows ...func(b *array.RecordBuilder)) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range rows {
		row(b)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestArrowDuplicateColumnIsRefused is issue 17, defect 11: with two columns of one name, one
// of them was silently ignored.
func TestArrowDuplicateColumnIsRefused(t *testing.T) {
	str := arrow.BinaryTypes.String
	schema := arrow.NewSchema([]arrow.Field{{Name: "contact_id", Type: str}, {Name: "attributes", Type: str, Nullable: true},
		{Name: "attributes", Type: str, Nullable: true}}, nil)
	stream := arrowStream(t, schema, func(b *array.RecordBuilder) {
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
			stream := arrowStream(t, schema, row(func(b *array.StringBuilder) { b.Append("c-1") }), row(tt.id))
			_, err := decodeArrow(t.Context(), bytes.NewReader(stream), fuzzNow, 50, 1<<20)
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != ErrBadData || !strings.HasPrefix(ae.msg, `profile 1: column "contact_id" is null or empty`) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
