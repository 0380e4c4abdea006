// Package arrowipctest builds Arrow IPC streams for tests of arrowipc's bounds: schemas whose
// FlatBuffers tables are shared, as an attacker would write them.
package arrowipctest

import (
	"encoding/binary"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Arrow type ids of the FlatBuffers union Type (format/Schema.fbs in the Arrow repository).
const (
	ArrowTypeUtf8    byte = 5
	ArrowTypeStruct  byte = 13
	ArrowTypeInvalid byte = 200 // no such type
)

// SharedSchemaStream returns an Arrow IPC stream (a Schema message and the end-of-stream
// marker) whose schema shares FlatBuffers tables: Schema.fields has fanout entries that all
// point at one Struct field, whose children vector has fanout entries that all point at one
// field of the next level, and so on; the field at level levels has type leaf and no
// children. The bytes grow with fanout × levels, while a reader that builds every field it
// is pointed at builds fanout^levels leaves. (8, 9, ArrowTypeUtf8) is the 608-byte attack of
// issue 17, defect 1; (40, 8, ArrowTypeInvalid) that of defect 2.
func SharedSchemaStream(fanout, levels int, leaf byte) []byte {
	return sharedSchema(fanout, levels, leaf, 0, 0, "f")
}

// SharedMetadataStream is a one-column Utf8 schema whose field has a custom_metadata vector
// of n entries all pointing at one key-value pair with a value of size bytes: small on the
// wire, n × size bytes once a reader copies every entry.
func SharedMetadataStream(n, size int) []byte {
	return sharedSchema(1, 1, ArrowTypeUtf8, n, size, "f")
}

func sharedSchema(fanout, levels int, leaf byte, kvs, kvSize int, name string) []byte {
	b := flatbuffers.NewBuilder(1024)
	vector := func(off flatbuffers.UOffsetT, n int) flatbuffers.UOffsetT {
		b.StartVector(4, n, 4)
		for range n {
			b.PrependUOffsetT(off)
		}
		return b.EndVector(n)
	}
	var meta flatbuffers.UOffsetT
	if kvs > 0 {
		k := b.CreateString("k")
		v := b.CreateByteString(make([]byte, kvSize))
		b.StartObject(2) // KeyValue
		b.PrependUOffsetTSlot(0, k, 0)
		b.PrependUOffsetTSlot(1, v, 0)
		meta = vector(b.EndObject(), kvs)
	}
	n := b.CreateString(name) // one name and one type table, shared by every level
	b.StartObject(0)          // Utf8 and Struct_ tables have no fields
	t := b.EndObject()
	var below flatbuffers.UOffsetT // the field of the level below
	for level := levels; level >= 1; level-- {
		typ := ArrowTypeStruct
		if level == levels {
			typ = leaf
		}
		var children flatbuffers.UOffsetT
		if level < levels {
			children = vector(below, fanout)
		}
		b.StartObject(7) // Field
		b.PrependUOffsetTSlot(0, n, 0)
		b.PrependBoolSlot(1, true, false)
		b.PrependByteSlot(2, typ, 0)
		b.PrependUOffsetTSlot(3, t, 0)
		if children != 0 {
			b.PrependUOffsetTSlot(5, children, 0)
		}
		if meta != 0 && level == levels {
			b.PrependUOffsetTSlot(6, meta, 0)
		}
		below = b.EndObject()
	}
	fields := vector(below, fanout)
	b.StartObject(4) // Schema
	b.PrependUOffsetTSlot(1, fields, 0)
	schema := b.EndObject()
	b.StartObject(5)            // Message
	b.PrependInt16Slot(0, 4, 0) // MetadataVersion V5
	b.PrependByteSlot(1, 1, 0)  // MessageHeader Schema
	b.PrependUOffsetTSlot(2, schema, 0)
	b.Finish(b.EndObject())
	msg := b.FinishedBytes()
	pad := (8 - len(msg)%8) % 8
	out := make([]byte, 0, 8+len(msg)+pad+8)
	out = binary.LittleEndian.AppendUint32(out, 0xFFFFFFFF)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(msg)+pad))
	out = append(out, msg...)
	out = append(out, make([]byte, pad)...)
	out = binary.LittleEndian.AppendUint32(out, 0xFFFFFFFF)
	return binary.LittleEndian.AppendUint32(out, 0)
}
