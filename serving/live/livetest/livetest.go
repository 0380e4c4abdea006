// Package livetest turns a history directory into the records an application would send to
// the live service's ingestion routes, for the tests that ingest a history record by record
// and compare the live answers with the batch jobs' (serving/live, serving/e2e).
package livetest

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/serving/live"
)

// Record is one ingestion request: its route's kind (live.KindEvents, ...) and JSON body.
type Record struct {
	Kind string
	Body []byte
}

// Path is the record's route, "/v1/" + its kind.
func (r Record) Path() string { return "/v1/" + r.Kind }

// HistoryRecords reads every row of the history directory dir (docs/contract.md §1 names)
// as one ingestion record, in file order: contacts, events, transactions, identities.
func HistoryRecords(ctx context.Context, dir string) ([]Record, error) {
	var out []Record
	add := func(kind string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out = append(out, Record{kind, b})
		return nil
	}
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.Format(time.RFC3339Nano)
	}
	_, err := history.ReadRows(ctx, dir, features.Mapping{}, history.RowVisitor{
		Contact: func(r history.ContactRow) error {
			m := map[string]any{"contact_id": r.ContactID, "created_at": ts(r.CreatedAt), "stage_since": ts(r.StageSince)}
			if r.Email != "" {
				m["email"] = r.Email
			}
			if r.Stage != "" {
				m["stage"] = r.Stage
			}
			for k, v := range r.Attributes {
				m[k] = v
			}
			return add(live.KindContacts, m)
		},
		Event: func(r history.EventRow) error {
			m := map[string]any{"ts": ts(r.TS), "type": r.Type, "contact_id": r.ContactID, "anonymous_id": r.AnonymousID,
				"email": r.Email, "page": r.Page, "channel": r.Channel, "campaign": r.Campaign}
			if !math.IsNaN(r.Value) {
				m["value"] = r.Value
			}
			return add(live.KindEvents, m)
		},
		Transaction: func(r history.CustomerTransaction) error {
			return add(live.KindTransactions, map[string]any{"contact_id": r.Customer, "ts": ts(r.TS), "amount": r.Amount,
				"product": r.Product, "category": r.Category, "quantity": r.Quantity})
		},
		Identity: func(r history.IdentityRow) error {
			return add(live.KindIdentities, map[string]any{"id_a": r.IDA, "id_b": r.IDB, "ts": ts(r.TS)})
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ShuffleResend returns recs with one record in 20 (drawn at random) sent a second time, all
// in a random order: how a client that retries and a log without ordering deliver them.
func ShuffleResend(recs []Record, rng *rand.Rand) []Record {
	out := append([]Record(nil), recs...)
	for range len(recs) / 20 {
		out = append(out, recs[rng.IntN(len(recs))])
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
