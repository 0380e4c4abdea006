package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Contact is one row of the contacts history file.
type Contact struct {
	ContactID string `json:"contact_id"`
	// CreatedAt is zero when unknown.
	CreatedAt time.Time `json:"created_at,omitzero"`
	Email     string    `json:"email,omitempty"`
	Stage     string    `json:"stage,omitempty"`
	// StageSince is zero when unknown.
	StageSince time.Time `json:"stage_since,omitzero"`
	// Attributes holds the other columns: float64, string or bool values.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Event is one row of the events history file, with its optional id.
type Event struct {
	// EventID, when set, makes ingestion idempotent: a second event with the same id is
	// acknowledged and not stored. Without it, events are deduplicated on their content.
	EventID     string    `json:"event_id,omitempty"`
	TS          time.Time `json:"ts"`
	Type        string    `json:"type"`
	ContactID   string    `json:"contact_id,omitempty"`
	AnonymousID string    `json:"anonymous_id,omitempty"`
	Email       string    `json:"email,omitempty"`
	Page        string    `json:"page,omitempty"`
	Channel     string    `json:"channel,omitempty"`
	Campaign    string    `json:"campaign,omitempty"`
	// Value is nil when the event has none.
	Value *float64 `json:"value,omitempty"`
}

// Key returns the identifier the event is attributed through: the first non-empty of
// contact_id, anonymous_id and email ("" when it has none).
func (e *Event) Key() string {
	switch {
	case e.ContactID != "":
		return e.ContactID
	case e.AnonymousID != "":
		return e.AnonymousID
	}
	return e.Email
}

// Transaction is one row of the transactions history file. Two rows with the same
// contact, time, amount, product, category and quantity are one transaction.
type Transaction struct {
	ContactID string    `json:"contact_id"`
	TS        time.Time `json:"ts"`
	Amount    float64   `json:"amount"`
	Product   string    `json:"product,omitempty"`
	Category  string    `json:"category,omitempty"`
	Quantity  int64     `json:"quantity,omitempty"`
}

// Identity is one row of the identities history file: two identifiers of one person.
type Identity struct {
	IDA string `json:"id_a"`
	IDB string `json:"id_b"`
	// TS is zero when unknown.
	TS time.Time `json:"ts,omitzero"`
}

// contentHash is the first 8 bytes of the SHA-256 of the parts, each length-prefixed.
func contentHash(parts ...string) [8]byte {
	// SHA-256 of each part's length (8 bytes, big-endian) and bytes, in one buffer: the same
	// digest as writing them to a hash.Hash one by one, without its allocations.
	var arr [512]byte
	b := arr[:0]
	for _, p := range parts {
		b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
		b = append(b, p...)
	}
	sum := sha256.Sum256(b)
	return [8]byte(sum[:8])
}

func (e *Event) hash() [8]byte {
	if e.EventID != "" {
		return contentHash("id", e.EventID)
	}
	v := ""
	if e.Value != nil {
		v = strconv.FormatUint(math.Float64bits(*e.Value), 16)
	}
	return contentHash("ev", strconv.FormatInt(e.TS.UnixNano(), 10), e.Type, e.ContactID, e.AnonymousID,
		e.Email, e.Page, e.Channel, e.Campaign, v)
}

func (t *Transaction) hash() [8]byte {
	return contentHash("tx", strconv.FormatUint(math.Float64bits(t.Amount), 16), t.Product, t.Category,
		strconv.FormatInt(t.Quantity, 10))
}

// timeKey encodes t (unix nanoseconds) so that keys sort by time, negative times first.
func timeKey(t time.Time) [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^(1<<63))
	return b
}

func fromTimeKey(b []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)^(1<<63))).UTC()
}

// marshal encodes a record; the record types always marshal.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: " + err.Error())
	}
	return b
}
