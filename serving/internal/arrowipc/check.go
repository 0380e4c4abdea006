// Package arrowipc checks Arrow IPC bytes before arrow-go reads them: framing lengths, and
// schemas bounded as arrow-go would expand them (shared FlatBuffers tables counted per use).
package arrowipc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// Bounds on the schema of an Arrow stream, as arrow-go expands it. A FlatBuffers vector holds
// offsets, so its entries may all point at one table: a schema of a few hundred bytes can
// stand for billions of fields (8 entries sharing one child, nine levels down, is 8^9 fields,
// and arrow-go builds every one). The bounds therefore count every field and key-value pair
// once per path that reaches it, not once per table, and the check stops as soon as one is
// passed, so it costs at most about maxSchemaFields + maxSchemaPairs steps whatever the input.
// A stream written by an Arrow library never shares tables and is far inside them: the input
// schema of a batch has five flat columns.
const (
	maxSchemaFields  = 1024    // fields, nested ones included
	maxSchemaDepth   = 32      // nesting levels below the schema
	maxSchemaPairs   = 1024    // custom metadata key-value pairs, of the message, schema and fields
	maxSchemaStrings = 1 << 20 // bytes of field names, metadata keys and values
)

// ErrBounds is wrapped by the error of a schema past one of the bounds above.
var ErrBounds = errors.New("schema exceeds the bounds on Arrow input")

// Check walks the messages of an Arrow IPC stream held in b and checks that every
// declared metadata and body length fits in what remains of b. The Arrow reader allocates
// what a message declares before reading it, so without this check an 8-byte body could
// make the server allocate gigabytes. See the Arrow columnar format, "Encapsulated message
// format": [0xFFFFFFFF] int32 metadata length, Message flatbuffer, body.
//
// Schema messages are also checked against the bounds above (see schemaWalk). ctx is looked
// at between messages and while walking a schema.
func Check(ctx context.Context, b []byte) error {
	o := 0
	for msg := 0; o < len(b); msg++ {
		if msg%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(b)-o < 4 {
			return fmt.Errorf("truncated message at byte %d", o)
		}
		n := binary.LittleEndian.Uint32(b[o:])
		o += 4
		if n == 0xFFFFFFFF {
			if len(b)-o < 4 {
				return fmt.Errorf("truncated message at byte %d", o)
			}
			n = binary.LittleEndian.Uint32(b[o:])
			o += 4
		}
		if n == 0 {
			return nil // end of stream
		}
		if int64(n) > int64(len(b)-o) {
			return fmt.Errorf("message at byte %d declares %d bytes of metadata, more than the body holds", o-4, n)
		}
		meta := b[o : o+int(n)]
		o += int(n)
		body, err := messageBodyLength(meta)
		if err == nil {
			_, err = walkSchema(ctx, meta)
		}
		if err != nil {
			return fmt.Errorf("message at byte %d: %w", o-int(n), err)
		}
		if body < 0 || body > int64(len(b)-o) {
			return fmt.Errorf("message at byte %d declares a body of %d bytes, more than the request holds", o-int(n), body)
		}
		o += int(body)
	}
	return nil
}

// messageBodyLength reads field bodyLength (field 3: version, header_type, header,
// bodyLength) of a Message flatbuffer, with bounds checks at every step.
func messageBodyLength(m []byte) (int64, error) {
	bad := fmt.Errorf("malformed message metadata")
	if len(m) < 4 {
		return 0, bad
	}
	root := int64(binary.LittleEndian.Uint32(m))
	if root+4 > int64(len(m)) {
		return 0, bad
	}
	vt := root - int64(int32(binary.LittleEndian.Uint32(m[root:])))
	if vt < 0 || vt+4 > int64(len(m)) {
		return 0, bad
	}
	vtLen := int64(binary.LittleEndian.Uint16(m[vt:]))
	const field = 4 + 2*3
	if vtLen <= field { // as the FlatBuffers runtime decides presence (a field may straddle the vtable's end)
		return 0, nil // absent: zero
	}
	if vt+field+2 > int64(len(m)) {
		return 0, bad
	}
	off := int64(binary.LittleEndian.Uint16(m[vt+field:]))
	if off == 0 {
		return 0, nil
	}
	p := root + off
	if p+8 > int64(len(m)) {
		return 0, bad
	}
	return int64(binary.LittleEndian.Uint64(m[p:])), nil
}

// fbField returns the absolute position of field i of the table at pos, 0 when absent.
func fbField(m []byte, pos int64, i int) (int64, bool) {
	if pos < 0 || pos+4 > int64(len(m)) {
		return 0, false
	}
	vt := pos - int64(int32(binary.LittleEndian.Uint32(m[pos:])))
	if vt < 0 || vt+4 > int64(len(m)) {
		return 0, false
	}
	vtLen := int64(binary.LittleEndian.Uint16(m[vt:]))
	at := int64(4 + 2*i)
	if vtLen <= at { // the FlatBuffers runtime's rule: a field may straddle the vtable's end
		return 0, true
	}
	if vt+at+2 > int64(len(m)) {
		return 0, false
	}
	off := int64(binary.LittleEndian.Uint16(m[vt+at:]))
	if off == 0 {
		return 0, true
	}
	return pos + off, true
}

// fbDeref follows the offset stored at pos (to a table or a vector).
func fbDeref(m []byte, pos int64) (int64, bool) {
	if pos+4 > int64(len(m)) {
		return 0, false
	}
	return pos + int64(binary.LittleEndian.Uint32(m[pos:])), true
}

// fbString returns the length of the string whose offset is field i of the table at pos (0
// when absent), checking that it lies inside m.
func fbString(m []byte, pos int64, i int) (int64, bool) {
	f, ok := fbField(m, pos, i)
	if !ok || f == 0 {
		return 0, ok
	}
	s, ok := fbDeref(m, f)
	if !ok || s < 0 || s+4 > int64(len(m)) {
		return 0, false
	}
	n := int64(binary.LittleEndian.Uint32(m[s:]))
	if n > int64(len(m))-s-4 {
		return 0, false
	}
	return n, true
}

// schemaWalk checks the schema of one message against the bounds on Arrow input, counting
// every field and key-value pair once per path that reaches it (see maxSchemaFields).
type schemaWalk struct {
	ctx context.Context
	m   []byte

	fields, pairs, depth int   // counted so far; depth is the deepest level reached
	strs                 int64 // bytes of names, keys and values counted so far
	steps                int   // tables and vectors looked at: the work done
}

var errMalformedSchema = errors.New("malformed schema metadata")

// walkSchema checks, when the message m is a schema, that the vectors it declares fit in it
// and that its expansion stays within the bounds on Arrow input. It returns what it counted.
func walkSchema(ctx context.Context, m []byte) (*schemaWalk, error) {
	w := &schemaWalk{ctx: ctx, m: m}
	if len(m) < 4 {
		return w, errMalformedSchema
	}
	root := int64(binary.LittleEndian.Uint32(m))
	typ, ok := fbField(m, root, 1) // Message.header_type
	if !ok {
		return w, errMalformedSchema
	}
	if typ == 0 || typ >= int64(len(m)) || m[typ] != 1 { // 1: Schema
		return w, nil
	}
	h, ok := fbField(m, root, 2) // Message.header
	if !ok || h == 0 {
		return w, errMalformedSchema
	}
	schema, ok := fbDeref(m, h)
	if !ok {
		return w, errMalformedSchema
	}
	if err := w.metadata(root, 4); err != nil { // Message.custom_metadata
		return w, err
	}
	if err := w.metadata(schema, 2); err != nil { // Schema.custom_metadata
		return w, err
	}
	return w, w.children(schema, 1, 1) // Schema.fields
}

// step counts one unit of work and looks at ctx every 64 of them.
func (w *schemaWalk) step() error {
	w.steps++
	if w.steps%64 == 0 {
		return w.ctx.Err()
	}
	return nil
}

// vector returns the position and length of the vector of offsets in field i of table,
// checking that its entries fit in the metadata.
func (w *schemaWalk) vector(table int64, i int) (vec, n int64, err error) {
	if err := w.step(); err != nil {
		return 0, 0, err
	}
	f, ok := fbField(w.m, table, i)
	if !ok {
		return 0, 0, errMalformedSchema
	}
	if f == 0 {
		return 0, 0, nil
	}
	vec, ok = fbDeref(w.m, f)
	if !ok || vec < 0 || vec+4 > int64(len(w.m)) {
		return 0, 0, errMalformedSchema
	}
	n = int64(binary.LittleEndian.Uint32(w.m[vec:]))
	if n*4 > int64(len(w.m))-vec-4 {
		return 0, 0, fmt.Errorf("schema metadata declares a vector of %d entries, more than it holds", n)
	}
	return vec, n, nil
}

// str counts the string in field i of table.
func (w *schemaWalk) str(table int64, i int) error {
	n, ok := fbString(w.m, table, i)
	if !ok {
		return errMalformedSchema
	}
	w.strs += n
	if w.strs > maxSchemaStrings {
		return fmt.Errorf("%w: names and metadata total more than %d bytes (a table shared by several fields counts once per field)",
			ErrBounds, maxSchemaStrings)
	}
	return nil
}

// metadata counts the custom_metadata vector (of KeyValue tables) in field i of table.
func (w *schemaWalk) metadata(table int64, i int) error {
	vec, n, err := w.vector(table, i)
	if err != nil || n == 0 {
		return err
	}
	if w.pairs += int(n); w.pairs > maxSchemaPairs {
		return fmt.Errorf("%w: more than %d custom metadata pairs (a table shared by several fields counts once per field)",
			ErrBounds, maxSchemaPairs)
	}
	for j := range n {
		if err := w.step(); err != nil {
			return err
		}
		kv, ok := fbDeref(w.m, vec+4+4*j)
		if !ok {
			return errMalformedSchema
		}
		if err := w.str(kv, 0); err != nil { // KeyValue.key
			return err
		}
		if err := w.str(kv, 1); err != nil { // KeyValue.value
			return err
		}
	}
	return nil
}

// children counts the vector of Field tables in field i of table (Schema.fields or
// Field.children), whose fields sit at the given depth, and everything below them. Every
// field is counted before its children are looked at, so the walk stops within the bounds.
func (w *schemaWalk) children(table int64, i, depth int) error {
	vec, n, err := w.vector(table, i)
	if err != nil || n == 0 {
		return err
	}
	if depth > maxSchemaDepth {
		return fmt.Errorf("%w: fields nested more than %d deep", ErrBounds, maxSchemaDepth)
	}
	w.depth = max(w.depth, depth)
	if w.fields += int(n); w.fields > maxSchemaFields {
		return fmt.Errorf("%w: more than %d fields (a table shared by several fields counts once per field)",
			ErrBounds, maxSchemaFields)
	}
	for j := range n {
		if err := w.step(); err != nil {
			return err
		}
		field, ok := fbDeref(w.m, vec+4+4*j)
		if !ok {
			return errMalformedSchema
		}
		if err := w.str(field, 0); err != nil { // Field.name
			return err
		}
		if err := w.metadata(field, 6); err != nil { // Field.custom_metadata
			return err
		}
		if err := w.children(field, 5, depth+1); err != nil { // Field.children
			return err
		}
	}
	return nil
}
