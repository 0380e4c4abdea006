package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/propensity-dev/propensity/serving/triggers"
)

func day(d int) time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }

func openMem(t *testing.T, fs vfs.FS) *Store {
	t.Helper()
	s, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPut[T any](t *testing.T, put func(T, Hook) (Result, error), r T) Result {
	t.Helper()
	res, err := put(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestStitching(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	// Anonymous browsing first, then a contact, then an event carrying both ids.
	mustPut(t, s.PutEvent, Event{TS: day(1), Type: "page_view", AnonymousID: "anon-1", Page: "/pricing"})
	mustPut(t, s.PutEvent, Event{TS: day(2), Type: "page_view", AnonymousID: "anon-1"})
	if _, err := s.History("anon-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("anonymous id without a contact: got %v, want ErrNotFound", err)
	}
	mustPut(t, s.PutContact, Contact{ContactID: "c2", CreatedAt: day(5), Email: "b@example.com"})
	mustPut(t, s.PutEvent, Event{TS: day(6), Type: "form_submit", ContactID: "c2", AnonymousID: "anon-1"})
	h, err := s.History("anon-1")
	if err != nil {
		t.Fatal(err)
	}
	if h.Person != "c2" || len(h.Events) != 3 {
		t.Fatalf("person %q with %d events, want c2 with 3", h.Person, len(h.Events))
	}
	// An older contact joined through an identity row becomes the person's key.
	mustPut(t, s.PutContact, Contact{ContactID: "c1", CreatedAt: day(0)})
	mustPut(t, s.PutEvent, Event{TS: day(3), Type: "email_open", ContactID: "c1"})
	mustPut(t, s.PutIdentity, Identity{IDA: "c1", IDB: "b@example.com"})
	for _, id := range []string{"c1", "c2", "anon-1", "b@example.com"} {
		h, err := s.History(id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Person != "c1" || len(h.Events) != 4 || len(h.Contacts) != 2 {
			t.Fatalf("%s: person %q, %d events, %d contacts; want c1, 4, 2", id, h.Person, len(h.Events), len(h.Contacts))
		}
		if !slices.IsSortedFunc(h.Events, func(a, b Event) int { return a.TS.Compare(b.TS) }) {
			t.Fatalf("%s: events not in time order", id)
		}
	}
	// Resending is idempotent: by event_id, else by content.
	if r := mustPut(t, s.PutEvent, Event{TS: day(3), Type: "email_open", ContactID: "c1"}); !r.Duplicate {
		t.Error("identical event without id: not a duplicate")
	}
	mustPut(t, s.PutEvent, Event{EventID: "e-9", TS: day(7), Type: "email_click", ContactID: "c1"})
	if r := mustPut(t, s.PutEvent, Event{EventID: "e-9", TS: day(8), Type: "email_click", ContactID: "c1"}); !r.Duplicate {
		t.Error("event with a stored event_id: not a duplicate")
	}
	h, _ = s.History("c1")
	if len(h.Events) != 5 {
		t.Fatalf("%d events after resends, want 5", len(h.Events))
	}
}

func TestContactUpsert(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	mustPut(t, s.PutContact, Contact{ContactID: "c1", CreatedAt: day(0), Stage: "lead", Attributes: map[string]any{"age": 30.0, "job": "cto"}})
	mustPut(t, s.PutContact, Contact{ContactID: "c1", Stage: "mql", Attributes: map[string]any{"age": 31.0, "job": nil}})
	h, err := s.History("c1")
	if err != nil {
		t.Fatal(err)
	}
	c := h.Contact
	if !c.CreatedAt.Equal(day(0)) || c.Stage != "mql" || c.Attributes["age"] != 31.0 || c.Attributes["job"] != nil {
		t.Fatalf("after upsert: %+v", c)
	}
	if r := mustPut(t, s.PutContact, Contact{ContactID: "c1", Stage: "mql"}); !r.Duplicate {
		t.Error("an upsert that changes nothing is not reported as a duplicate")
	}
}

func TestFormatVersion(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)
	if err := s.db.Set([]byte(formatKey), []byte("99"), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open("db", Options{FS: fs})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format version 99") {
		t.Fatalf("opening a version-99 store: %v", err)
	}
}

// TestErase erases a person with a pending delivery, in a store with the outbox-by-person
// index and in one created before it (which finds the deliveries by reading the outbox).
func TestErase(t *testing.T) {
	for _, indexed := range []bool{true, false} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) { testErase(t, indexed) })
	}
}

func testErase(t *testing.T, indexed bool) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	if !indexed {
		if err := s.db.Delete([]byte(indexedKey), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s.PutContact, Contact{ContactID: "c1", CreatedAt: day(0), Email: "a@example.com"})
	mustPut(t, s.PutContact, Contact{ContactID: "c9", CreatedAt: day(0)})
	mustPut(t, s.PutEvent, Event{EventID: "e1", TS: day(1), Type: "page_view", AnonymousID: "anon-1", Email: "a@example.com"})
	mustPut(t, s.PutEvent, Event{TS: day(1), Type: "page_view", ContactID: "c9"})
	mustPut(t, s.PutTransaction, Transaction{ContactID: "c1", TS: day(2), Amount: 10})
	mustPut(t, s.PutIdentity, Identity{IDA: "c1", IDB: "crm-1"})
	ctx := context.Background()
	hook := func(t *Txn, id string) error {
		return t.AddDeliveries([]triggers.Delivery{{ID: "d-" + id, ContactID: "c1", State: triggers.StatePending, NextAttempt: day(3)}})
	}
	if _, err := s.PutEvent(Event{TS: day(4), Type: "email_open", ContactID: "c1"}, hook); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, ""); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	e, err := s.Erase("anon-1")
	if err != nil {
		t.Fatal(err)
	}
	want := Erased{Person: "c1", IDs: 4, Contacts: 1, Events: 2, Transactions: 1, Identities: 1, Deliveries: 1}
	if e != want {
		t.Fatalf("erased %+v, want %+v", e, want)
	}
	for _, id := range []string{"c1", "a@example.com", "anon-1", "crm-1"} {
		if _, err := s.History(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s after erasure: %v", id, err)
		}
	}
	var left []string
	for _, fn := range []func() error{
		func() error {
			return s.ForEachContact(func(c Contact) error { left = append(left, c.ContactID); return nil })
		},
		func() error { return s.ForEachEvent(func(e Event) error { left = append(left, e.Key()); return nil }) },
		func() error {
			return s.ForEachTransaction(func(x Transaction) error { left = append(left, x.ContactID); return nil })
		},
		func() error {
			return s.ForEachIdentity(func(x Identity) error { left = append(left, x.IDA); return nil })
		},
	} {
		if err := fn(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(left, []string{"c9", "c9"}) {
		t.Fatalf("left after erasure: %v, want only c9's contact and event", left)
	}
	if n, _ := s.Count(ctx, ""); n != 0 {
		t.Fatalf("%d deliveries after erasure, want 0", n)
	}
	if err := iterPrefix(s.db, []byte(pOutboxP), func(k, _ []byte) error {
		t.Errorf("outbox index entry left: %q", k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// No key names an erased identifier any more, the record marks' included.
	if err := iterPrefix(s.db, []byte("1"), func(k, _ []byte) error {
		for _, part := range bytes.Split(k[3:], []byte{0}) {
			if slices.Contains([]string{"c1", "a@example.com", "anon-1", "crm-1"}, string(part)) {
				t.Errorf("key left after erasure: %q", k)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The erased event id can be ingested again (it names nothing any more).
	if r := mustPut(t, s.PutEvent, Event{EventID: "e1", TS: day(1), Type: "page_view", ContactID: "c9"}); r.Duplicate {
		t.Error("erased event id still deduplicates")
	}
}

// TestEraseUnlinked erases identifiers that never met another one: they have no graph node,
// yet own the events and transactions stored under their key (found by TestMetamorphic).
func TestEraseUnlinked(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	mustPut(t, s.PutTransaction, Transaction{ContactID: "c1", TS: day(2), Amount: 10})
	mustPut(t, s.PutTransaction, Transaction{ContactID: "c2", TS: day(2), Amount: 20})
	mustPut(t, s.PutEvent, Event{EventID: "e1", TS: day(1), Type: "page_view", AnonymousID: "anon-1"})
	for _, tc := range []struct {
		id   string
		want Erased
	}{
		{"c1", Erased{IDs: 1, Transactions: 1}},
		{"anon-1", Erased{IDs: 1, Events: 1}},
	} {
		e, err := s.Erase(tc.id)
		if err != nil || e != tc.want {
			t.Fatalf("Erase(%s) = %+v, %v; want %+v", tc.id, e, err, tc.want)
		}
		if _, err := s.Erase(tc.id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Erase(%s): %v, want ErrNotFound", tc.id, err)
		}
	}
	var left []string
	if err := s.ForEachTransaction(func(x Transaction) error { left = append(left, x.ContactID); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.ForEachEvent(func(e Event) error { left = append(left, e.Key()); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{"c2"}) {
		t.Fatalf("left after erasure: %v, want only c2's transaction", left)
	}
	if r := mustPut(t, s.PutEvent, Event{EventID: "e1", TS: day(1), Type: "page_view", AnonymousID: "anon-1"}); r.Duplicate {
		t.Error("erased event id still deduplicates")
	}
}

// TestCrashKeepsAcknowledged writes from several goroutines and takes crash clones of the
// filesystem (only synced data survives) while they run: every write acknowledged before a
// clone was taken is in the store reopened from it, exactly once. With a sync interval
// (Options.SyncInterval), commits wait for a shared sync: still none returns before it.
func TestCrashKeepsAcknowledged(t *testing.T) {
	for _, every := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprint("sync interval ", every), func(t *testing.T) { crashKeepsAcknowledged(t, every) })
	}
}

func crashKeepsAcknowledged(t *testing.T, syncInterval time.Duration) {
	fs := vfs.NewCrashableMem()
	s, err := Open("db", Options{FS: fs, SyncInterval: syncInterval})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 150
	var acked [writers]atomic.Int64 // writer w's first acked[w] events are acknowledged
	eventID := func(w, i int) string { return fmt.Sprintf("w%d-%d", w, i) }
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.PutEvent(Event{EventID: eventID(w, i), TS: day(i), Type: "page_view", ContactID: fmt.Sprintf("c%d", w)}, nil); err != nil {
					t.Error(err)
					return
				}
				acked[w].Add(1)
			}
		}()
	}
	var clones []*vfs.MemFS
	var ackedAt [][writers]int64
	rng := rand.New(rand.NewPCG(1, 2))
	total := func() (n int64) {
		for w := range writers {
			n += acked[w].Load()
		}
		return n
	}
	// A clone every 20 acknowledgements: what was acknowledged before it must be in it.
	for next := int64(0); next < writers*each; {
		if total() < next {
			runtime.Gosched()
			continue
		}
		var counts [writers]int64
		for w := range writers {
			counts[w] = acked[w].Load()
		}
		clones = append(clones, fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rng}))
		ackedAt = append(ackedAt, counts)
		next = total() + 20
	}
	wg.Wait()
	s.Close()
	for k, c := range clones {
		r, err := Open("db", Options{FS: c})
		if err != nil {
			t.Fatalf("clone %d: %v", k, err)
		}
		seen := map[string]int{}
		if err := r.ForEachEvent(func(e Event) error { seen[e.EventID]++; return nil }); err != nil {
			t.Fatal(err)
		}
		for w := range writers {
			for i := range int(ackedAt[k][w]) {
				if seen[eventID(w, i)] != 1 {
					t.Fatalf("clone %d: acknowledged event %s stored %d times", k, eventID(w, i), seen[eventID(w, i)])
				}
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("clone %d: event %s stored %d times", k, id, n)
			}
		}
		r.Close()
	}
	if len(clones) < 2 {
		t.Fatalf("only %d crash clones taken", len(clones))
	}
}

// TestEmailChangeKeepsLink: an upsert that changes a contact's email keeps the old email
// linked (its events stay the person's) and records the link as an identity row, which
// exports carry and erasure removes.
func TestEmailChangeKeepsLink(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	mustPut(t, s.PutContact, Contact{ContactID: "c1", CreatedAt: day(0), Email: "old@example.com"})
	mustPut(t, s.PutEvent, Event{TS: day(1), Type: "email_open", Email: "old@example.com"})
	mustPut(t, s.PutContact, Contact{ContactID: "c1", Email: "new@example.com"})
	mustPut(t, s.PutEvent, Event{TS: day(2), Type: "email_open", Email: "new@example.com"})
	for _, id := range []string{"old@example.com", "new@example.com", "c1"} {
		h, err := s.History(id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Person != "c1" || len(h.Events) != 2 || h.Contact.Email != "new@example.com" {
			t.Fatalf("%s: person %q, %d events, email %q; want c1, 2, new@example.com", id, h.Person, len(h.Events), h.Contact.Email)
		}
	}
	var rows []Identity
	if err := s.ForEachIdentity(func(r Identity) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (Identity{IDA: "c1", IDB: "old@example.com"}) {
		t.Fatalf("identity rows %+v, want the retained link c1 - old@example.com", rows)
	}
	// Sending the same link as a row is a duplicate; changing back retains the other one.
	if r := mustPut(t, s.PutIdentity, Identity{IDA: "c1", IDB: "old@example.com"}); !r.Duplicate {
		t.Error("the retained link sent as an identity row is not a duplicate")
	}
	mustPut(t, s.PutContact, Contact{ContactID: "c1", Email: "old@example.com"})
	rows = rows[:0]
	if err := s.ForEachIdentity(func(r Identity) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("after changing back: identity rows %+v, want both links", rows)
	}
	e, err := s.Erase("new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if e.Identities != 2 || e.Events != 2 || e.Contacts != 1 {
		t.Fatalf("erased %+v", e)
	}
	if err := s.ForEachIdentity(func(r Identity) error { t.Errorf("left after erasure: %+v", r); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestOutboxPages lists deliveries by state through the outbox-by-state index, page by
// page, follows a delivery whose state changes, and builds the index of a store created
// before it when it is opened.
func TestOutboxPages(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("d-%d", i)
		state := triggers.StatePending
		if i%2 == 1 {
			state = triggers.StateDead
		} else {
			want = append(want, id)
		}
		hook := func(t *Txn, _ string) error {
			return t.AddDeliveries([]triggers.Delivery{{ID: id, ContactID: "c1", State: state, CreatedAt: day(10 - i), NextAttempt: day(3)}})
		}
		if _, err := s.PutEvent(Event{TS: day(i), Type: "email_open", ContactID: "c1"}, hook); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(want) // oldest first: d-6 was created first
	pages := func(s *Store, state string) []string {
		var ids []string
		cursor := ""
		for range 10 {
			ds, next, err := s.Page(ctx, state, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			if cursor = next; next == "" {
				return ids
			}
		}
		t.Fatal("pages do not end")
		return nil
	}
	if got := pages(s, triggers.StatePending); !slices.Equal(got, want) {
		t.Fatalf("pending pages %v, want %v", got, want)
	}
	d, _, err := s.Get(ctx, "d-0")
	if err != nil {
		t.Fatal(err)
	}
	d.State = triggers.StateDelivered
	if err := s.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	want = want[:len(want)-1]
	for state, n := range map[string]int{triggers.StatePending: 3, triggers.StateDead: 3, triggers.StateDelivered: 1, "": 7} {
		if got, err := s.Count(ctx, state); err != nil || got != n {
			t.Errorf("count %q: %d (%v), want %d", state, got, err, n)
		}
	}
	if got := pages(s, triggers.StatePending); !slices.Equal(got, want) {
		t.Fatalf("pending pages after an update %v, want %v", got, want)
	}
	if _, _, err := s.Page(ctx, triggers.StateDead, "zz", 2); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	// A store from before the index: Open builds it.
	if err := errors.Join(s.db.DeleteRange([]byte(pOutboxS), prefixEnd([]byte(pOutboxS)), pebble.Sync),
		s.db.Delete([]byte(stateIndexKey), pebble.Sync)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pages(s, triggers.StatePending); !slices.Equal(got, want) {
		t.Fatalf("pending pages after re-indexing %v, want %v", got, want)
	}
}

// TestBatch stages a request's records in one batch: the hook runs once per person its
// records touched (not for an unscored event's), sees every record, and what it stages
// commits with them.
func TestBatch(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	var calls []string
	g := s.Batch(func(t *Txn, id string) error {
		h, err := t.History(id)
		if err != nil {
			return err
		}
		calls = append(calls, fmt.Sprintf("%s:%d", h.Person, len(h.Events)))
		return t.AddDeliveries([]triggers.Delivery{{ID: "d-" + h.Person, ContactID: h.Person, State: triggers.StatePending}})
	})
	for _, put := range []func() (Result, error){
		func() (Result, error) { return g.PutContact(Contact{ContactID: "c1", CreatedAt: day(0)}, nil) },
		func() (Result, error) {
			return g.PutEvent(Event{EventID: "e1", TS: day(1), Type: "form_submit", ContactID: "c1"}, nil)
		},
		func() (Result, error) {
			return g.PutEvent(Event{EventID: "e2", TS: day(2), Type: "page_view", ContactID: "c1"}, nil)
		},
		func() (Result, error) {
			return g.PutEventUnscored(Event{EventID: "e3", TS: day(2), Type: "page_view", ContactID: "c2"})
		},
	} {
		if _, err := put(); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := g.PutEvent(Event{EventID: "e1", TS: day(1), Type: "form_submit", ContactID: "c1"}, nil); err != nil || !r.Duplicate {
		t.Fatalf("resent event in the same batch: %+v %v", r, err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []string{"c1:2"}) || !g.Notified() {
		t.Fatalf("hook calls %v (notified %v), want [c1:2]", calls, g.Notified())
	}
	if n, _ := s.Count(context.Background(), triggers.StatePending); n != 1 {
		t.Fatalf("%d pending deliveries, want 1", n)
	}
	n := 0
	if err := s.ForEachEvent(func(Event) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("%d events stored (%v), want 3 (the unscored one too)", n, err)
	}
}

// TestMemTableBytes: Options.MemTableBytes sets pebble's memtable size (pebble's 4 MiB
// when zero), and records written across the flushes of a small memtable all read back.
func TestMemTableBytes(t *testing.T) {
	s, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.po.MemTableSize; got != 4<<20 {
		t.Errorf("default memtable %d bytes, want %d", got, 4<<20)
	}
	s.Close()
	s, err = Open("db", Options{FS: vfs.NewMem(), MemTableBytes: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.po.MemTableSize; got != 1<<20 {
		t.Errorf("memtable %d bytes, want %d", got, 1<<20)
	}
	if _, err := s.PutContact(Contact{ContactID: "c"}, nil); err != nil {
		t.Fatal(err)
	}
	page := "/" + strings.Repeat("p", 500)
	const n = 6000 // about 3 MiB of events: several flushes of a 1 MiB memtable
	for i := range n {
		if _, err := s.PutEvent(Event{TS: day(i % 300).Add(time.Duration(i)), Type: "page_view", ContactID: "c", Page: page}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if f := s.db.Metrics().Flush.Count; f == 0 {
		t.Error("no memtable flush: the test does not cover records written across flushes")
	}
	h, err := s.History("c")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != n {
		t.Errorf("%d events read back, want %d", len(h.Events), n)
	}
}
