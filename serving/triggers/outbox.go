package triggers

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Outbox is the durable store of deliveries. The caller writes new Deliveries in the same
// transaction as the data that caused them (a transactional outbox); the Dispatcher reads and
// updates them through this interface. serving/store implements it on pebble; MemOutbox is an
// in-memory one.
type Outbox interface {
	// Due returns up to limit pending records with NextAttempt <= now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// Update persists a record's state after an attempt; it returns once the write is
	// durable. Updating a record that is gone (its contact erased) must not bring it back.
	Update(ctx context.Context, d Delivery) error
	// List returns up to limit records in that state ("" for all), oldest first; a limit of
	// 0 or less means no limit.
	List(ctx context.Context, state string, limit int) ([]Delivery, error)
	// Get returns the record of that id, and whether there is one.
	Get(ctx context.Context, id string) (Delivery, bool, error)
}

// Counter is implemented by outboxes that count records without listing them; the
// dispatcher's outbox depth gauge uses it when it is there.
type Counter interface {
	Count(ctx context.Context, state string) (int, error)
}

// MemOutbox is an Outbox in memory, for tests and for running without a store (deliveries
// are then lost on restart). The zero value is ready to use; it is safe for concurrent use.
type MemOutbox struct {
	mu sync.Mutex
	m  map[string]Delivery
}

// Add stores new records (or replaces records of the same id).
func (o *MemOutbox) Add(ds ...Delivery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]Delivery{}
	}
	for _, d := range ds {
		o.m[d.ID] = clone(d)
	}
}

// DeleteContact removes every record of a contact, for erasure, and returns how many.
func (o *MemOutbox) DeleteContact(contactID string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for id, d := range o.m {
		if d.ContactID == contactID {
			delete(o.m, id)
			n++
		}
	}
	return n
}

func clone(d Delivery) Delivery {
	d.Body = slices.Clone(d.Body)
	return d
}

// sorted returns the records that keep, ordered by key then id.
func (o *MemOutbox) sorted(keep func(Delivery) bool, key func(Delivery) time.Time, limit int) []Delivery {
	o.mu.Lock()
	var out []Delivery
	for _, d := range o.m {
		if keep(d) {
			out = append(out, clone(d))
		}
	}
	o.mu.Unlock()
	slices.SortFunc(out, func(a, b Delivery) int {
		return cmp.Or(key(a).Compare(key(b)), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Due implements Outbox.
func (o *MemOutbox) Due(_ context.Context, now time.Time, limit int) ([]Delivery, error) {
	return o.sorted(func(d Delivery) bool { return d.State == StatePending && !d.NextAttempt.After(now) },
		func(d Delivery) time.Time { return d.NextAttempt }, limit), nil
}

// Update implements Outbox. Updating a record that is gone (erased meanwhile) is a no-op.
func (o *MemOutbox) Update(_ context.Context, d Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.m[d.ID]; ok {
		o.m[d.ID] = clone(d)
	}
	return nil
}

// List implements Outbox.
func (o *MemOutbox) List(_ context.Context, state string, limit int) ([]Delivery, error) {
	return o.sorted(func(d Delivery) bool { return state == "" || d.State == state },
		func(d Delivery) time.Time { return d.CreatedAt }, limit), nil
}

// Get implements Outbox.
func (o *MemOutbox) Get(_ context.Context, id string) (Delivery, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.m[id]
	return clone(d), ok, nil
}

// Count implements Counter.
func (o *MemOutbox) Count(_ context.Context, state string) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, d := range o.m {
		if state == "" || d.State == state {
			n++
		}
	}
	return n, nil
}
