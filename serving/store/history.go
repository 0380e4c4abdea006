package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/propensity-dev/propensity/features"
)

// History is everything stored for one person.
type History struct {
	// Person is the person's key: the surviving contact's id.
	Person string
	// IDs lists every identifier of the person (contact ids, emails, anonymous ids), sorted.
	IDs []string
	// Contact is the surviving contact's row; Contacts holds every contact row of the
	// person, sorted by id (the surviving one included).
	Contact  Contact
	Contacts []Contact
	// Events and Transactions are sorted by time.
	Events       []Event
	Transactions []Transaction
	Identities   []Identity
}

// iterPrefix calls fn for every key/value with prefix p (the slices are valid during the
// call only).
func iterPrefix(r pebble.Reader, p []byte, fn func(k, v []byte) error) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// scanner reads key ranges through one iterator (cheaper than an iterator per range).
type scanner struct {
	r  pebble.Reader
	it *pebble.Iterator
}

func (s *scanner) scan(p []byte, fn func(k, v []byte) error) error {
	if s.it == nil {
		it, err := s.r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return err
		}
		s.it = it
	} else {
		s.it.SetBounds(p, prefixEnd(p))
	}
	for ok := s.it.First(); ok; ok = s.it.Next() {
		if err := fn(s.it.Key(), s.it.Value()); err != nil {
			return err
		}
	}
	return s.it.Error()
}

func (s *scanner) close() error {
	if s.it == nil {
		return nil
	}
	return s.it.Close()
}

// interner shares the strings of one read (event types, pages, channels and a person's ids
// repeat from event to event).
type interner map[string]string

func (in interner) str(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in) < 4096 {
		in[s] = s
	}
	return s
}

// readHistory reads c's person. Only when full does it read the identity rows and the
// events' EventID and ContactID; scoring uses none of them (History.Profile).
func readHistory(r pebble.Reader, c *component, full bool) (h *History, err error) {
	pk := c.personKey()
	if pk == "" {
		return nil, ErrNotFound
	}
	// The members in id order (h.IDs): a person's records are read in the same order
	// whatever the order of their merges.
	order := make([]int, len(c.Members))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(c.Members[a], c.Members[b]) })
	h = &History{Person: pk, IDs: make([]string, len(order))}
	for i, m := range order {
		h.IDs[i] = c.Members[m]
	}
	for _, cc := range c.Contacts {
		v, c, err := r.Get(key(pContact, cc.ID))
		if err != nil {
			return nil, fmt.Errorf("store: contact of person %s: %w", pk, err)
		}
		var row Contact
		err = json.Unmarshal(v, &row)
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("store: contact record: %w", err)
		}
		h.Contacts = append(h.Contacts, row)
		if row.ContactID == pk {
			h.Contact = row
		}
	}
	slices.SortFunc(h.Contacts, func(a, b Contact) int { return cmp.Compare(a.ContactID, b.ContactID) })
	sc := &scanner{r: r}
	defer func() {
		if cerr := sc.close(); err == nil && cerr != nil {
			h, err = nil, cerr
		}
	}()
	in := interner{}
	reads := func(i int, bit byte) (bool, error) {
		if c.flagged(i, bit) {
			return true, nil
		}
		_, closer, err := r.Get(markKey(bit, c.Members[i]))
		if errors.Is(err, pebble.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, closer.Close()
	}
	for _, i := range order {
		m := c.Members[i]
		ev, err := reads(i, hasEvents)
		if err != nil {
			return nil, err
		}
		tx, err := reads(i, hasTx)
		if err != nil {
			return nil, err
		}
		if ev {
			err := sc.scan(key(pEvent, m, ""), func(_, v []byte) error {
				var e Event
				if err := decodeEventIn(v, &e, in, !full); err != nil {
					return fmt.Errorf("store: event record: %w", err)
				}
				h.Events = append(h.Events, e)
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		if tx {
			err := sc.scan(key(pTx, m, ""), func(_, v []byte) error {
				var x Transaction
				if err := decodeTransaction(v, &x); err != nil {
					return fmt.Errorf("store: transaction record: %w", err)
				}
				h.Transactions = append(h.Transactions, x)
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		if !full {
			continue
		}
		err = sc.scan(key(pIdentity, m, ""), func(_, v []byte) error {
			var x Identity
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("store: identity record: %w", err)
			}
			h.Identities = append(h.Identities, x)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(h.IDs) > 1 {
		slices.SortStableFunc(h.Events, func(a, b Event) int { return a.TS.Compare(b.TS) })
		slices.SortStableFunc(h.Transactions, func(a, b Transaction) int { return a.TS.Compare(b.TS) })
	}
	return h, nil
}

// History reads everything stored for the person that identifier id (a contact id, email or
// anonymous id) belongs to; ErrNotFound when none.
func (s *Store) History(id string) (*History, error) { return s.history(id, true) }

// ScoreHistory is History without what scoring does not read: Identities is nil, and the
// events' EventID and ContactID are empty.
func (s *Store) ScoreHistory(id string) (*History, error) { return s.history(id, false) }

func (s *Store) history(id string, full bool) (*History, error) {
	if id == "" || checkID("id", id) != nil {
		return nil, ErrNotFound
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	v, err := s.get(snap, key(pNode, id))
	if err != nil {
		return nil, err
	}
	if len(v) != 8 {
		return nil, ErrNotFound
	}
	cv, err := s.get(snap, compKey(binary.BigEndian.Uint64(v)))
	if err != nil {
		return nil, err
	}
	if cv == nil {
		return nil, ErrNotFound
	}
	var c component
	if err := json.Unmarshal(cv, &c); err != nil {
		return nil, fmt.Errorf("store: component record: %w", err)
	}
	return readHistory(snap, &c, full)
}

// Profile returns the person as an online profile as of asOf, built as the batch path builds
// it (history.Person): the surviving contact's columns as attributes, and every event and
// transaction of the person's identifiers.
func (h *History) Profile(asOf time.Time) features.Profile {
	c := h.Contact
	attrs := make(map[string]any, 4+len(c.Attributes))
	for k, v := range c.Attributes {
		switch x := v.(type) {
		case bool: // a boolean column is categorical in batch, read as "true"/"false"
			attrs[k] = strconv.FormatBool(x)
		case float64:
			if !math.IsNaN(x) {
				attrs[k] = x
			}
		case string:
			if x != "" {
				attrs[k] = x
			}
		}
	}
	if !c.CreatedAt.IsZero() {
		attrs["created_at"] = c.CreatedAt.UTC()
	}
	if c.Stage != "" {
		attrs["stage"] = c.Stage
	}
	if !c.StageSince.IsZero() {
		attrs["stage_since"] = c.StageSince.UTC()
	}
	if c.Email != "" {
		attrs["email"] = c.Email
	}
	p := features.Profile{ContactID: h.Person, AsOf: asOf, Attributes: attrs}
	if len(h.Events) > 0 {
		p.Events = make([]features.Event, len(h.Events))
		for i, e := range h.Events {
			v := math.NaN()
			if e.Value != nil {
				v = *e.Value
			}
			p.Events[i] = features.Event{TS: e.TS.UTC(), Type: e.Type, Page: e.Page, Channel: e.Channel,
				Campaign: e.Campaign, AnonymousID: e.AnonymousID, Email: e.Email, Value: v}
		}
	}
	if len(h.Transactions) > 0 {
		p.Transactions = make([]features.Transaction, len(h.Transactions))
		for i, x := range h.Transactions {
			cat := x.Category
			if cat == x.Product { // as the batch walk hands them out
				cat = ""
			}
			p.Transactions[i] = features.Transaction{TS: x.TS.UTC(), Amount: x.Amount, Product: x.Product, Category: cat, Quantity: x.Quantity}
		}
	}
	return p
}

// Erased counts what Erase deleted.
type Erased struct {
	Person       string `json:"person"`
	IDs          int    `json:"ids"`
	Contacts     int    `json:"contacts"`
	Events       int    `json:"events"`
	Transactions int    `json:"transactions"`
	Identities   int    `json:"identities"`
	Deliveries   int    `json:"deliveries"`
}

// Erase deletes the person that identifier id belongs to: every identifier's contact rows,
// events, transactions, identity rows and index entries, their trigger state and their
// deliveries (of any state), in one synced batch. An identifier linked to no other one
// (say, only events or transactions under its own key) is erased alone. ErrNotFound when
// nothing is stored for id.
func (s *Store) Erase(id string) (Erased, error) {
	if id == "" || checkID("id", id) != nil {
		return Erased{}, ErrNotFound
	}
	t, err := s.begin()
	if err != nil {
		return Erased{}, err
	}
	var out Erased
	n, err := t.node(id)
	if err != nil {
		return out, t.abort(err)
	}
	// An identifier that never met another one has no graph node, yet may own events or
	// transactions stored under its key: those are erased too.
	ids := []string{id}
	if n != 0 {
		c, err := t.comp(n)
		if err != nil {
			return out, t.abort(err)
		}
		out.Person = c.personKey()
		ids = c.Members
	}
	out.IDs = len(ids)
	members := map[string]bool{}
	b := t.b
	for _, m := range ids {
		members[m] = true
	}
	for _, m := range ids {
		err := iterPrefix(b, key(pEvent, m, ""), func(_, v []byte) error {
			out.Events++
			var e Event
			if decodeEvent(v, &e) == nil && e.EventID != "" {
				return b.Delete(key(pEventID, e.EventID), nil)
			}
			return nil
		})
		if err == nil {
			err = iterPrefix(b, key(pTx, m, ""), func(_, _ []byte) error { out.Transactions++; return nil })
		}
		if err == nil {
			err = iterPrefix(b, key(pIdentity, m, ""), func(k, _ []byte) error {
				out.Identities++
				rest := bytes.SplitN(k[len(pIdentity):], []byte{0}, 3)
				if len(rest) == 3 {
					return b.Delete(key(pIdentityR, string(rest[1]), string(rest[0]), string(rest[2])), nil)
				}
				return nil
			})
		}
		if err == nil {
			err = iterPrefix(b, key(pIdentityR, m, ""), func(k, _ []byte) error {
				rest := bytes.SplitN(k[len(pIdentityR):], []byte{0}, 3)
				if len(rest) == 3 && !members[string(rest[1])] {
					out.Identities++
					return b.Delete(key(pIdentity, string(rest[1]), string(rest[0]), string(rest[2])), nil)
				}
				return nil
			})
		}
		if err != nil {
			return out, t.abort(err)
		}
		for _, p := range []string{pEvent, pTx, pIdentity, pIdentityR} {
			lo := key(p, m, "")
			if err := b.DeleteRange(lo, prefixEnd(lo), nil); err != nil {
				return out, t.abort(err)
			}
		}
		v, err := s.get(b, key(pContact, m))
		if err != nil {
			return out, t.abort(err)
		}
		if v != nil {
			out.Contacts++
			if err := b.Delete(key(pContact, m), nil); err != nil {
				return out, t.abort(err)
			}
		}
		if err := b.Delete(key(pNode, m), nil); err != nil {
			return out, t.abort(err)
		}
		delete(t.nodes, m)
		if err := errors.Join(b.Delete(markKey(hasEvents, m), nil), b.Delete(markKey(hasTx, m), nil)); err != nil {
			return out, t.abort(err)
		}
		delete(s.marked, m) // a cache: an entry dropped by an erase that fails costs a write
	}
	if n == 0 && out.Events+out.Transactions+out.Identities+out.Contacts == 0 {
		return Erased{}, t.abort(ErrNotFound)
	}
	dn, err := t.deleteDeliveries(members)
	if err != nil {
		return out, t.abort(err)
	}
	out.Deliveries = dn
	if n != 0 {
		t.comps[n] = nil
		t.dirty[n] = true
	}
	return out, t.commit()
}

// ForEachContact calls fn for every stored contact row, in id order.
func (s *Store) ForEachContact(fn func(Contact) error) error {
	return forEach(s, pContact, jsonDecode, fn)
}

// ForEachEvent calls fn for every stored event, by attribution key and time.
func (s *Store) ForEachEvent(fn func(Event) error) error {
	return forEach(s, pEvent, decodeEvent, fn)
}

// ForEachTransaction calls fn for every stored transaction, by contact and time.
func (s *Store) ForEachTransaction(fn func(Transaction) error) error {
	return forEach(s, pTx, decodeTransaction, fn)
}

// ForEachIdentity calls fn for every stored identity row.
func (s *Store) ForEachIdentity(fn func(Identity) error) error {
	return forEach(s, pIdentity, jsonDecode, fn)
}

// People calls fn with the key of every person (in no particular order).
func (s *Store) People(fn func(person string) error) error {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	return iterPrefix(snap, []byte(pComp), func(_, v []byte) error {
		var c component
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("store: component record: %w", err)
		}
		if k := c.personKey(); k != "" {
			return fn(k)
		}
		return nil
	})
}

func jsonDecode[T any](b []byte, x *T) error { return json.Unmarshal(b, x) }

func forEach[T any](s *Store, prefix string, decode func([]byte, *T) error, fn func(T) error) error {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	return iterPrefix(snap, []byte(prefix), func(_, v []byte) error {
		var x T
		if err := decode(v, &x); err != nil {
			return fmt.Errorf("store: %s record: %w", prefix, err)
		}
		return fn(x)
	})
}
