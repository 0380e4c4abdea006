package arrowipc

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

	"github.com/propensity-dev/propensity/serving/internal/arrowipc/arrowipctest"
)

// schemaMessage returns the metadata of the first message of an IPC stream.
func schemaMessage(t testing.TB, stream []byte) []byte {
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

// TestArrowSharedSchemaFanOutWorkIsBounded is issue 17, defect 1: the 608-byte schema whose
// 8-entry vectors all point at one table, 9 levels deep, stands for 8^9 fields. The check
// refuses it within its counted budget.
func TestArrowSharedSchemaFanOutWorkIsBounded(t *testing.T) {
	stream := arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8)
	w, err := walkSchema(t.Context(), schemaMessage(t, stream))
	if !errors.Is(err, ErrBounds) || !strings.Contains(err.Error(), "more than 1024 fields") {
		t.Fatalf("walkSchema: %v, want the field bound", err)
	}
	if w.steps > maxSchemaSteps {
		t.Errorf("the check took %d steps, want at most %d", w.steps, maxSchemaSteps)
	}
}

// TestArrowSchemaGuardWorkIsBounded is issue 17, defect 2: with fan-out 40 and an invalid leaf
// type, arrow-go gives up at the first leaf, but a schema check that follows every path
// walks 40^8 of them. The check must stop within its counted budget.
func TestArrowSchemaGuardWorkIsBounded(t *testing.T) {
	stream := arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid)
	w, err := walkSchema(t.Context(), schemaMessage(t, stream))
	if !errors.Is(err, ErrBounds) || !strings.Contains(err.Error(), "more than 1024 fields") {
		t.Fatalf("walkSchema: %v, want the field bound", err)
	}
	if w.steps > maxSchemaSteps {
		t.Errorf("the check took %d steps, want at most %d", w.steps, maxSchemaSteps)
	}
}

// TestArrowSchemaGuardHonoursCancellation is issue 17, defect 2: the check must stop once the
// request is gone, and say so rather than blame the data.
func TestArrowSchemaGuardHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stream := arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid)
	if err := Check(ctx, stream); !errors.Is(err, context.Canceled) {
		t.Errorf("Check: %v, want context.Canceled", err)
	}
	// Within the budget, the walk itself looks at ctx (every 64 steps).
	w, err := walkSchema(ctx, schemaMessage(t, arrowipctest.SharedSchemaStream(30, 1, arrowipctest.ArrowTypeUtf8)))
	if !errors.Is(err, context.Canceled) || w.steps > 64 {
		t.Errorf("walkSchema: %v after %d steps, want context.Canceled within 64", err, w.steps)
	}
}

// flatStream is a one-row stream of five flat utf8 columns, written by arrow-go.
func flatStream(t testing.TB) []byte {
	t.Helper()
	var fs []arrow.Field
	for _, n := range []string{"contact_id", "as_of", "attributes", "events", "transactions"} {
		fs = append(fs, arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	return arrowipctest.RecordStream(t, arrow.NewSchema(fs, nil), func(b *array.RecordBuilder) {
		for i := range fs {
			b.Field(i).(*array.StringBuilder).Append("x")
		}
	})
}

// TestArrowSchemaBounds checks each bound at and past its edge; shared tables count once per
// path that reaches them.
func TestArrowSchemaBounds(t *testing.T) {
	utf8 := arrowipctest.ArrowTypeUtf8
	for _, tt := range []struct {
		name   string
		stream []byte
		want   string // "" when accepted
	}{
		{"five flat columns", flatStream(t), ""},
		{"shared 3x3", arrowipctest.SharedSchemaStream(3, 3, utf8), ""},
		{"1024 fields", arrowipctest.SharedSchemaStream(1024, 1, utf8), ""},
		{"1025 fields", arrowipctest.SharedSchemaStream(1025, 1, utf8), "more than 1024 fields"},
		{"32x32 shared", arrowipctest.SharedSchemaStream(32, 2, utf8), "more than 1024 fields"},
		{"32 deep", arrowipctest.SharedSchemaStream(1, 32, utf8), ""},
		{"33 deep", arrowipctest.SharedSchemaStream(1, 33, utf8), "nested more than 32 deep"},
		{"1024 pairs", arrowipctest.SharedMetadataStream(1024, 8), ""},
		{"1025 pairs", arrowipctest.SharedMetadataStream(1025, 8), "more than 1024 custom metadata pairs"},
		{"shared 2 KiB value", arrowipctest.SharedMetadataStream(1000, 2<<10), "more than 1048576 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(t.Context(), tt.stream)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBounds) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// countFields counts fields as arrow-go built them, nested ones included.
func countFields(fs []arrow.Field) int {
	n := len(fs)
	for _, f := range fs {
		if nt, ok := f.Type.(arrow.NestedType); ok {
			n += countFields(nt.Fields())
		}
	}
	return n
}

// TestArrowSharedSchemaWithinBoundsIsWhatArrowGoReads checks the attack streams on a small
// scale: arrow-go expands a shared schema into fanout^levels leaves, which is what the
// bounds count.
func TestArrowSharedSchemaWithinBoundsIsWhatArrowGoReads(t *testing.T) {
	stream := arrowipctest.SharedSchemaStream(3, 4, arrowipctest.ArrowTypeUtf8)
	w, err := walkSchema(t.Context(), schemaMessage(t, stream))
	if err != nil {
		t.Fatal(err)
	}
	rd, err := ipc.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if got, want := countFields(rd.Schema().Fields()), 3+9+27+81; got != want || w.fields != want || w.depth != 4 {
		t.Errorf("arrow-go built %d fields, the check counted %d at depth %d; want %d at depth 4", got, w.fields, w.depth, want)
	}
}

// FuzzArrowSchema checks the schema bounds on arbitrary message metadata: the check never
// panics, its work stays within maxSchemaSteps, and a schema it accepts is one that arrow-go
// reads into at most maxSchemaFields fields (an accepted schema that arrow-go expands past
// memory ends the fuzzing process, which reports it).
func FuzzArrowSchema(f *testing.F) {
	for _, s := range [][]byte{
		arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8),
		arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid),
		arrowipctest.SharedSchemaStream(3, 3, arrowipctest.ArrowTypeUtf8),
		arrowipctest.SharedSchemaStream(1, 40, arrowipctest.ArrowTypeUtf8),
		arrowipctest.SharedMetadataStream(1000, 2<<10),
		flatStream(f),
	} {
		f.Add(schemaMessage(f, s))
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		w, err := walkSchema(context.Background(), meta)
		if w.steps > maxSchemaSteps {
			t.Fatalf("%d steps, past %d", w.steps, maxSchemaSteps)
		}
		if err != nil {
			return
		}
		stream := binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF)
		stream = binary.LittleEndian.AppendUint32(stream, uint32(len(meta)))
		stream = append(stream, meta...)
		stream = append(stream, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0)
		if Check(context.Background(), stream) != nil {
			return
		}
		schema := func() (s *arrow.Schema) {
			defer func() { _ = recover() }() // arrow-go's own panics on malformed input are its callers' business
			rd, err := ipc.NewReader(bytes.NewReader(stream))
			if err != nil {
				return nil
			}
			defer rd.Release()
			return rd.Schema()
		}()
		if schema != nil && countFields(schema.Fields()) > maxSchemaFields {
			t.Fatalf("accepted a schema that arrow-go reads as %d fields", countFields(schema.Fields()))
		}
	})
}
