package v1

import (
	"encoding/binary"
	"fmt"
)

// checkArrowFraming walks the messages of an Arrow IPC stream held in b and checks that every
// declared metadata and body length fits in what remains of b. The Arrow reader allocates
// what a message declares before reading it, so without this check an 8-byte body could
// make the server allocate gigabytes. See the Arrow columnar format, "Encapsulated message
// format": [0xFFFFFFFF] int32 metadata length, Message flatbuffer, body.
func checkArrowFraming(b []byte) error {
	o := 0
	for o < len(b) {
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
			err = checkSchemaVectors(meta)
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
	if vtLen < field+2 {
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
	if vtLen < at+2 {
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

// checkSchemaVectors checks, when the message is a schema, that the declared lengths of its
// field vectors (and their children's, a few levels down) fit in the metadata: the Arrow
// reader allocates one Field per declared entry before looking at them.
func checkSchemaVectors(m []byte) error {
	bad := fmt.Errorf("malformed schema metadata")
	root := int64(binary.LittleEndian.Uint32(m))
	typ, ok := fbField(m, root, 1) // header_type
	if !ok {
		return bad
	}
	if typ == 0 || typ >= int64(len(m)) || m[typ] != 1 { // 1: Schema
		return nil
	}
	h, ok := fbField(m, root, 2) // header
	if !ok || h == 0 {
		return bad
	}
	schema, ok := fbDeref(m, h)
	if !ok {
		return bad
	}
	// vecLen checks the length of the vector (of 4-byte offsets) in field i of table.
	vecLen := func(table int64, i int) (vec, n int64, err error) {
		f, ok := fbField(m, table, i)
		if !ok {
			return 0, 0, bad
		}
		if f == 0 {
			return 0, 0, nil
		}
		vec, ok = fbDeref(m, f)
		if !ok || vec+4 > int64(len(m)) {
			return 0, 0, bad
		}
		n = int64(binary.LittleEndian.Uint32(m[vec:]))
		if n*4 > int64(len(m))-vec-4 {
			return 0, 0, fmt.Errorf("schema metadata declares a vector of %d entries, more than it holds", n)
		}
		return vec, n, nil
	}
	if _, _, err := vecLen(root, 4); err != nil { // Message.custom_metadata
		return err
	}
	if _, _, err := vecLen(schema, 2); err != nil { // Schema.custom_metadata
		return err
	}
	var walk func(table int64, vecField, depth int) error
	walk = func(table int64, vecField, depth int) error {
		vec, n, err := vecLen(table, vecField)
		if err != nil || n == 0 {
			return err
		}
		if depth >= 8 {
			return nil
		}
		for j := range n {
			child, ok := fbDeref(m, vec+4+4*j)
			if !ok {
				return bad
			}
			if _, _, err := vecLen(child, 6); err != nil { // Field.custom_metadata
				return err
			}
			if err := walk(child, 5, depth+1); err != nil { // Field.children
				return err
			}
		}
		return nil
	}
	return walk(schema, 1, 0) // Schema.fields
}
