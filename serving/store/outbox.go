package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/propensity-dev/propensity/serving/triggers"
)

// The store is the triggers' durable outbox.
var (
	_ triggers.Outbox  = (*Store)(nil)
	_ triggers.Counter = (*Store)(nil)
)

func dueKey(d *triggers.Delivery) []byte {
	tk := timeKey(d.NextAttempt)
	return key(pDue, string(tk[:]), d.ID)
}

// AddDeliveries stages new outbox records in the change's batch (the transactional outbox).
func (t *Txn) AddDeliveries(ds []triggers.Delivery) error {
	t.added = t.added || len(ds) > 0
	for i := range ds {
		d := &ds[i]
		if err := checkID("delivery id", d.ID); err != nil || d.ID == "" {
			return fmt.Errorf("%w: delivery id %q", ErrBadRecord, d.ID)
		}
		if err := t.b.Set(key(pOutbox, d.ID), marshal(d), nil); err != nil {
			return err
		}
		if err := t.b.Set(key(pOutboxP, d.ContactID, d.ID), nil, nil); err != nil {
			return err
		}
		if d.State == triggers.StatePending {
			if err := t.b.Set(dueKey(d), nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteDeliveries deletes every delivery of the given contacts (erasure): through the
// outbox-by-person index, or in a store older than it, by reading the whole outbox.
func (t *Txn) deleteDeliveries(contacts map[string]bool) (int, error) {
	n := 0
	del := func(v []byte) error {
		var d triggers.Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("store: outbox record: %w", err)
		}
		if !contacts[d.ContactID] {
			return nil
		}
		n++
		return errors.Join(t.b.Delete(key(pOutbox, d.ID), nil), t.b.Delete(dueKey(&d), nil),
			t.b.Delete(key(pOutboxP, d.ContactID, d.ID), nil))
	}
	indexed, err := t.s.get(t.b, []byte(indexedKey))
	if err != nil {
		return 0, err
	}
	if indexed == nil {
		err := iterPrefix(t.b, []byte(pOutbox), func(_, v []byte) error { return del(v) })
		return n, err
	}
	for c := range contacts {
		p := key(pOutboxP, c, "")
		var ids []string
		if err := iterPrefix(t.b, p, func(k, _ []byte) error { ids = append(ids, string(k[len(p):])); return nil }); err != nil {
			return n, err
		}
		for _, id := range ids {
			v, err := t.s.get(t.b, key(pOutbox, id))
			if err != nil {
				return n, err
			}
			if v == nil {
				continue
			}
			if err := del(v); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Due returns up to limit pending deliveries with NextAttempt <= now, earliest first.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]triggers.Delivery, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	hi := timeKey(now)
	upper := key(pDue, string(hi[:])+"\xff")
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte(pDue), UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []triggers.Delivery
	for ok := it.First(); ok && (limit <= 0 || len(out) < limit); ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := it.Key()
		if len(k) < len(pDue)+9 {
			continue
		}
		id := string(k[len(pDue)+9:])
		v, err := s.get(snap, key(pOutbox, id))
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		var d triggers.Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, fmt.Errorf("store: outbox record: %w", err)
		}
		if d.State == triggers.StatePending {
			out = append(out, d)
		}
	}
	return out, it.Error()
}

// Update persists a delivery's state after an attempt; it returns once the write is synced.
// A delivery that no longer exists (erased meanwhile) is not written back.
func (s *Store) Update(ctx context.Context, d triggers.Delivery) error {
	t, err := s.begin()
	if err != nil {
		return err
	}
	v, err := s.get(t.b, key(pOutbox, d.ID))
	if err != nil {
		return t.abort(err)
	}
	if v == nil {
		return t.abort(nil)
	}
	var old triggers.Delivery
	if err := json.Unmarshal(v, &old); err != nil {
		return t.abort(fmt.Errorf("store: outbox record: %w", err))
	}
	if err := t.b.Delete(dueKey(&old), nil); err != nil {
		return t.abort(err)
	}
	if err := t.AddDeliveries([]triggers.Delivery{d}); err != nil {
		return t.abort(err)
	}
	return t.commitSynced()
}

// List returns up to limit deliveries in that state ("" for all), oldest first.
func (s *Store) List(ctx context.Context, state string, limit int) ([]triggers.Delivery, error) {
	var out []triggers.Delivery
	err := forEach(s, pOutbox, jsonDecode, func(d triggers.Delivery) error {
		if state == "" || d.State == state {
			out = append(out, d)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	sortDeliveries(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func sortDeliveries(ds []triggers.Delivery) {
	slices.SortFunc(ds, func(a, b triggers.Delivery) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Count returns the number of deliveries in that state ("" for all).
func (s *Store) Count(ctx context.Context, state string) (int, error) {
	n := 0
	err := forEach(s, pOutbox, jsonDecode, func(d triggers.Delivery) error {
		if state == "" || d.State == state {
			n++
		}
		return ctx.Err()
	})
	return n, err
}

// Get returns the delivery of that id.
func (s *Store) Get(ctx context.Context, id string) (triggers.Delivery, bool, error) {
	if checkID("id", id) != nil {
		return triggers.Delivery{}, false, nil
	}
	v, err := s.get(s.db, key(pOutbox, id))
	if err != nil || v == nil {
		return triggers.Delivery{}, false, err
	}
	var d triggers.Delivery
	if err := json.Unmarshal(v, &d); err != nil {
		return d, false, fmt.Errorf("store: outbox record: %w", err)
	}
	return d, true, nil
}
