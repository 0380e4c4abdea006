package store

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Events and transactions, the bulk of a store, are encoded in a compact binary form (JSON
// repeated every field name in every record, and decoding it was most of the time of a
// score by id). Each value starts with its encoding version, 1:
//
//	event:       1, flags (bit 0: has value), varint ts (unix ns), 8 strings (uvarint length
//	             and bytes: event_id, type, contact_id, anonymous_id, email, page, channel,
//	             campaign), then the value's IEEE 754 bits (8 bytes, big-endian) when flagged
//	transaction: 1, varint ts, amount bits (8 bytes), varint quantity, 3 strings
//	             (contact_id, product, category)

var errCodec = errors.New("store: corrupt record encoding")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type reader struct {
	b   []byte
	err bool
	in  interner // nil: strings are not shared
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.err = true
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) str() string {
	b := r.bytes()
	switch {
	case len(b) == 0:
		return ""
	case r.in != nil:
		return r.in.str(b)
	}
	return string(b)
}

// bytes returns the next string's bytes, in r's buffer.
func (r *reader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = true
		return nil
	}
	b := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return b
}

func encodeEvent(e *Event) []byte {
	b := make([]byte, 0, 64+len(e.EventID)+len(e.Type)+len(e.ContactID)+len(e.AnonymousID)+len(e.Email)+len(e.Page)+len(e.Channel)+len(e.Campaign))
	var flags byte
	if e.Value != nil {
		flags |= 1
	}
	b = append(b, 1, flags)
	b = binary.AppendVarint(b, e.TS.UnixNano())
	for _, s := range [...]string{e.EventID, e.Type, e.ContactID, e.AnonymousID, e.Email, e.Page, e.Channel, e.Campaign} {
		b = appendString(b, s)
	}
	if e.Value != nil {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(*e.Value))
	}
	return b
}

func decodeEvent(b []byte, e *Event) error { return decodeEventIn(b, e, nil, false) }

// decodeEventIn is decodeEvent taking its strings from in (nil: none). With forScore it
// leaves EventID and ContactID empty: scoring reads neither (History.Profile), and an
// event id, unique to its event, would only fill in.
func decodeEventIn(b []byte, e *Event, in interner, forScore bool) error {
	r := reader{b: b, in: in}
	if r.byte() != 1 {
		return errCodec
	}
	flags := r.byte()
	*e = Event{TS: time.Unix(0, r.varint()).UTC()}
	for i, p := range [...]*string{&e.EventID, &e.Type, &e.ContactID, &e.AnonymousID, &e.Email, &e.Page, &e.Channel, &e.Campaign} {
		if forScore && (i == 0 || i == 2) {
			r.bytes()
			continue
		}
		*p = r.str()
	}
	if flags&1 != 0 {
		v := math.Float64frombits(r.u64())
		e.Value = &v
	}
	if r.err || len(r.b) != 0 {
		return errCodec
	}
	return nil
}

func encodeTransaction(x *Transaction) []byte {
	b := make([]byte, 0, 32+len(x.ContactID)+len(x.Product)+len(x.Category))
	b = append(b, 1)
	b = binary.AppendVarint(b, x.TS.UnixNano())
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(x.Amount))
	b = binary.AppendVarint(b, x.Quantity)
	for _, s := range [...]string{x.ContactID, x.Product, x.Category} {
		b = appendString(b, s)
	}
	return b
}

func decodeTransaction(b []byte, x *Transaction) error {
	r := reader{b: b}
	if r.byte() != 1 {
		return errCodec
	}
	*x = Transaction{TS: time.Unix(0, r.varint()).UTC()}
	x.Amount = math.Float64frombits(r.u64())
	x.Quantity = r.varint()
	x.ContactID, x.Product, x.Category = r.str(), r.str(), r.str()
	if r.err || len(r.b) != 0 {
		return errCodec
	}
	return nil
}
