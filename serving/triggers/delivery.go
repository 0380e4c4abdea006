package triggers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// States of a Delivery.
const (
	StatePending   = "pending"
	StateDelivered = "delivered"
	StateDead      = "dead"
)

// Headers of a webhook request.
const (
	HeaderDeliveryID = "Propensity-Delivery-Id"
	HeaderSignature  = "Propensity-Signature"
	HeaderTrigger    = "Propensity-Trigger"
)

// Delivery is one outbox record: one transition for one contact to one endpoint.
type Delivery struct {
	ID          string    `json:"id"`       // unique, random 128-bit hex; the idempotency id
	Endpoint    string    `json:"endpoint"` // endpoint name as in the YAML
	URL         string    `json:"url"`      // the endpoint's URL when created; sends use the file's current one
	ContactID   string    `json:"contact_id"`
	Trigger     string    `json:"trigger"`
	Body        []byte    `json:"body"` // the JSON body, see Body
	CreatedAt   time.Time `json:"created_at"`
	Attempts    int       `json:"attempts"` // attempts made so far
	NextAttempt time.Time `json:"next_attempt"`
	State       string    `json:"state"` // StatePending, StateDelivered or StateDead
	LastError   string    `json:"last_error,omitempty"`
	DeliveredAt time.Time `json:"delivered_at"`
}

// Body is the JSON body of a webhook request.
type Body struct {
	DeliveryID string    `json:"delivery_id"`
	ContactID  string    `json:"contact_id"`
	Trigger    string    `json:"trigger"`
	Kind       string    `json:"kind"`
	Old        any       `json:"old"` // null when the old side was unavailable
	New        any       `json:"new"`
	Value      *float64  `json:"value,omitempty"` // the crossing value of *_crossed_* kinds
	OccurredAt time.Time `json:"occurred_at"`
	// Score is the full score response after the change, contributions included.
	Score json.RawMessage `json:"score"`
}

// NewID returns a random 128-bit id in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b[:])
}

// NewDeliveries builds the outbox records, with their bodies, for the transitions of one
// re-score: one per transition and endpoint, pending and due at now. scoreResponse is the
// full score response (JSON); nil is sent as null. A transition to an endpoint the config
// does not define is skipped.
func (c *Config) NewDeliveries(contactID string, ts []Transition, scoreResponse json.RawMessage, now time.Time) []Delivery {
	if len(scoreResponse) == 0 || !json.Valid(scoreResponse) {
		scoreResponse = json.RawMessage("null")
	}
	var out []Delivery
	for _, t := range ts {
		for _, name := range t.Endpoints {
			ep, ok := c.Endpoint(name)
			if !ok {
				continue
			}
			id := NewID()
			body, err := json.Marshal(Body{
				DeliveryID: id, ContactID: contactID, Trigger: t.Trigger, Kind: t.Kind,
				Old: t.Old, New: t.New, Value: t.Value, OccurredAt: now.UTC(), Score: scoreResponse,
			})
			if err != nil {
				// Old and New are numbers, strings, bools and string lists, so only a
				// non-finite number gets here; send it as null rather than lose the record.
				body, _ = json.Marshal(Body{
					DeliveryID: id, ContactID: contactID, Trigger: t.Trigger, Kind: t.Kind,
					Old: finiteOrNil(t.Old), New: finiteOrNil(t.New), Value: t.Value, OccurredAt: now.UTC(), Score: scoreResponse,
				})
			}
			out = append(out, Delivery{
				ID: id, Endpoint: ep.Name, URL: ep.URL, ContactID: contactID, Trigger: t.Trigger,
				Body: body, CreatedAt: now, NextAttempt: now, State: StatePending,
			})
		}
	}
	return out
}

func finiteOrNil(v any) any {
	if f, ok := v.(float64); ok {
		if _, err := json.Marshal(f); err != nil {
			return nil
		}
	}
	return v
}

// Sign returns the signature header value for body at time t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>", after the signed-webhook
// scheme of Stripe.
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrSignatureFormat = errors.New("triggers: malformed signature header")
	ErrSignature       = errors.New("triggers: signature does not match")
	ErrSignatureAge    = errors.New("triggers: signature timestamp outside tolerance")
)

// Verify checks a signature header against body for a receiver: one of its v1 signatures
// must match, and its timestamp must be within tolerance of now (either way), so that a
// recorded request cannot be replayed later. A tolerance of 0 skips the time check.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %q has no =", ErrSignatureFormat, part)
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("%w: v1 is not hex", ErrSignatureFormat)
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrSignatureFormat)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: t is not a whole number", ErrSignatureFormat)
	}
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignature
	}
	if tolerance > 0 {
		age := now.Sub(time.Unix(sec, 0))
		if age > tolerance || age < -tolerance {
			return fmt.Errorf("%w: signed %v ago, tolerance %v", ErrSignatureAge, age.Round(time.Second), tolerance)
		}
	}
	return nil
}
