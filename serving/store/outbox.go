package store

import (
	"context"
	"encoding/hex"
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
		if err := t.b.Set(stateKey(d), nil, nil); err != nil {
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
			t.b.Delete(key(pOutboxP, d.ContactID, d.ID), nil), t.b.Delete(stateKey(&d), nil))
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
	if err := errors.Join(t.b.Delete(dueKey(&old), nil), t.b.Delete(stateKey(&old), nil)); err != nil {
		return t.abort(err)
	}
	if err := t.AddDeliveries([]triggers.Delivery{d}); err != nil {
		return t.abort(err)
	}
	return t.commitSynced()
}

// stateKey is a delivery's entry in the outbox-by-state index: its state, then its
// creation time and id, so that a state's deliveries are listed oldest first from the index
// alone.
func stateKey(d *triggers.Delivery) []byte {
	tk := timeKey(d.CreatedAt)
	return key(pOutboxS, d.State, string(tk[:])+d.ID)
}

// indexStates builds the outbox-by-state index of a store created before it, once.
func (s *Store) indexStates() error {
	v, err := s.get(s.db, []byte(stateIndexKey))
	if err != nil || v != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	err = forEach(s, pOutbox, jsonDecode, func(d triggers.Delivery) error { return b.Set(stateKey(&d), nil, nil) })
	if err == nil {
		err = b.Set([]byte(stateIndexKey), nil, nil)
	}
	if err != nil {
		return fmt.Errorf("store: indexing the outbox by state: %w", err)
	}
	return b.Commit(pebble.Sync)
}

// List returns up to limit deliveries in that state ("" for all), oldest first.
func (s *Store) List(ctx context.Context, state string, limit int) ([]triggers.Delivery, error) {
	if state != "" {
		ds, _, err := s.Page(ctx, state, "", limit)
		return ds, err
	}
	var out []triggers.Delivery
	err := forEach(s, pOutbox, jsonDecode, func(d triggers.Delivery) error {
		out = append(out, d)
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

// ErrBadCursor: a page cursor that Page did not return.
var ErrBadCursor = errors.New("store: bad page cursor")

// Page returns up to limit deliveries in state (which must be given), oldest first, starting
// after cursor ("" for the first page), read through the outbox-by-state index: a page
// costs its own deliveries, whatever the size of the outbox. next is the cursor of the
// following page, "" after the last one. A limit of 0 or less means no limit.
func (s *Store) Page(ctx context.Context, state, cursor string, limit int) (ds []triggers.Delivery, next string, err error) {
	prefix := key(pOutboxS, state, "")
	lower := prefix
	if cursor != "" {
		c, err := hex.DecodeString(cursor)
		if err != nil || len(c) < 9 {
			return nil, "", ErrBadCursor
		}
		lower = append(slices.Clone(prefix), c...)
		lower = append(lower, 0) // the first key after the cursor's
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, "", err
	}
	defer it.Close()
	var last []byte
	for ok := it.First(); ok; ok = it.Next() {
		if limit > 0 && len(ds) == limit {
			return ds, hex.EncodeToString(last), it.Error()
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		k := it.Key()
		if len(k) < len(prefix)+8 {
			continue
		}
		id := string(k[len(prefix)+8:])
		v, err := s.get(snap, key(pOutbox, id))
		if err != nil {
			return nil, "", err
		}
		if v == nil {
			continue
		}
		var d triggers.Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return nil, "", fmt.Errorf("store: outbox record: %w", err)
		}
		last = slices.Clone(k[len(prefix):])
		ds = append(ds, d)
	}
	return ds, "", it.Error()
}

// Count returns the number of deliveries in that state ("" for all), from the index.
func (s *Store) Count(ctx context.Context, state string) (int, error) {
	if state == "" {
		n := 0
		for _, st := range []string{triggers.StatePending, triggers.StateDelivered, triggers.StateDead} {
			c, err := s.Count(ctx, st)
			if err != nil {
				return 0, err
			}
			n += c
		}
		return n, nil
	}
	prefix := key(pOutboxS, state, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				it.Close()
				return 0, err
			}
		}
	}
	return n, errors.Join(it.Error(), it.Close())
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

func sortDeliveries(ds []triggers.Delivery) {
	slices.SortFunc(ds, func(a, b triggers.Delivery) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
