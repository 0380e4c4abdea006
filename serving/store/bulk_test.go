package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// loadRecords returns a mixed stream of records with everything the loader must treat as the
// Put methods do: resent events (with and without ids), an event id reused by another
// event, contact rows updated and resent, changed emails, identity rows, multi-id events
// that merge people, and records the store refuses.
func loadRecords(seed uint64, n int) []any {
	rng := rand.New(rand.NewPCG(seed, 11))
	var out []any
	for i := range n / 20 {
		c := Contact{ContactID: fmt.Sprintf("c%d", i), Attributes: map[string]any{"plan": "free", "seats": float64(rng.IntN(9))}}
		if rng.IntN(4) > 0 {
			c.CreatedAt = day(rng.IntN(300))
		}
		if rng.IntN(3) > 0 {
			c.Email = fmt.Sprintf("u%d@example.com", i+rng.IntN(10)/9)
		}
		out = append(out, c)
	}
	// Mostly the ids of one person meet; now and then two people merge.
	contact := func() (string, string) {
		j := rng.IntN(n / 20)
		return fmt.Sprintf("c%d", j), fmt.Sprintf("a%d", 2*j+rng.IntN(21)/10)
	}
	v := 2.5
	for range n {
		switch r := rng.IntN(100); {
		case r < 60:
			e := Event{TS: day(rng.IntN(400)), Type: "page_view", Page: fmt.Sprintf("/p%d", rng.IntN(5))}
			switch rng.IntN(4) {
			case 0:
				e.AnonymousID = fmt.Sprintf("a%d", rng.IntN(n/10))
			case 1:
				e.ContactID, e.AnonymousID = contact()
			default:
				e.ContactID = fmt.Sprintf("c%d", rng.IntN(n/20))
			}
			if rng.IntN(3) == 0 {
				e.EventID = fmt.Sprintf("e%d", rng.IntN(n))
			}
			if rng.IntN(5) == 0 {
				e.Value = &v
			}
			out = append(out, e)
		case r < 70:
			out = append(out, Transaction{ContactID: fmt.Sprintf("c%d", rng.IntN(n/20)), TS: day(rng.IntN(400)), Amount: float64(rng.IntN(3) * 10), Product: "p"})
		case r < 75:
			a, b := contact()
			if rng.IntN(3) == 0 { // the link a contact's email change retains, sent as a row
				b = fmt.Sprintf("u%d@example.com", rng.IntN(n/20))
			}
			out = append(out, Identity{IDA: a, IDB: b})
		case r < 82:
			c := Contact{ContactID: fmt.Sprintf("c%d", rng.IntN(n/20)), Attributes: map[string]any{"plan": []any{"pro", nil}[rng.IntN(2)]}}
			if rng.IntN(2) == 0 {
				c.Email = fmt.Sprintf("u%d@example.com", rng.IntN(n/20))
			}
			out = append(out, c)
		case r < 84:
			out = append(out, Event{TS: day(1), Type: "page_view", ContactID: string(bytes.Repeat([]byte("x"), MaxIDBytes+1))})
		default:
			if len(out) > 0 { // resend an earlier record
				out = append(out, out[rng.IntN(len(out))])
			}
		}
	}
	return out
}

// dump returns the store's keys and values, the identity graph's excepted (its component
// numbers depend on the order of merges).
func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := iterPrefix(s.db, []byte("1"), func(k, v []byte) error {
		switch string(k[:3]) {
		case pMarkE, pMarkT: // written by Put only: the loader's flags are exact
			return nil
		case pComp, pNode, nextKey[:3]:
			if bytes.HasPrefix(k, []byte(pNode)) {
				out[string(k)] = "node"
			}
			return nil
		}
		out[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoaderEqualsPut(t *testing.T) {
	recs := loadRecords(3, 6000)
	put := openMem(t, vfs.NewMem())
	defer put.Close()
	fs := vfs.NewMem()
	bulk := openMem(t, fs)
	defer bulk.Close()
	l, err := bulk.Loader(LoadOptions{RunBytes: 64 << 10, TableBytes: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var dupPut, badPut, badBulk int64
	for _, r := range recs {
		var res Result
		var err, lerr error
		switch r := r.(type) {
		case Contact:
			res, err = put.PutContact(r, nil)
			lerr = l.PutContact(r)
		case Event:
			res, err = put.PutEvent(r, nil)
			lerr = l.PutEvent(r)
		case Transaction:
			res, err = put.PutTransaction(r, nil)
			lerr = l.PutTransaction(r)
		case Identity:
			res, err = put.PutIdentity(r, nil)
			lerr = l.PutIdentity(r)
		}
		if errors.Is(err, ErrBadRecord) {
			badPut++
		} else if err != nil {
			t.Fatal(err)
		}
		if errors.Is(lerr, ErrBadRecord) {
			badBulk++
		} else if lerr != nil {
			t.Fatal(lerr)
		}
		if res.Duplicate {
			dupPut++
		}
	}
	if err := l.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if badPut == 0 || dupPut == 0 {
		t.Fatalf("the records exercise too little: %d refused, %d duplicates", badPut, dupPut)
	}
	if badBulk != badPut || l.Duplicates != dupPut {
		t.Errorf("loader: %d refused, %d duplicates; Put: %d refused, %d duplicates", badBulk, l.Duplicates, badPut, dupPut)
	}
	a, b := dump(t, put), dump(t, bulk)
	if len(a) != len(b) {
		t.Errorf("Put stored %d keys, the loader %d", len(a), len(b))
	}
	// Both stores partition the identifiers into the same people (under other component
	// numbers), and each person reads the same.
	nodes, aToB, bToA := 0, map[string]string{}, map[string]string{}
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("key %q: Put stored %q, the loader %q", k, v, b[k])
		}
		if v != "node" {
			continue
		}
		nodes++
		ca, _ := put.get(put.db, []byte(k))
		cb, _ := bulk.get(bulk.db, []byte(k))
		if x, ok := aToB[string(ca)]; ok {
			if x != string(cb) || bToA[string(cb)] != string(ca) {
				t.Fatalf("identifier %q: the stores group it with different identifiers", k)
			}
			continue
		}
		if _, ok := bToA[string(cb)]; ok {
			t.Fatalf("identifier %q: the stores group it with different identifiers", k)
		}
		aToB[string(ca)], bToA[string(cb)] = string(cb), string(ca)
		id := k[len(pNode):]
		ha, errA := put.History(id)
		hb, errB := bulk.History(id)
		if !errors.Is(errA, errB) && (errA != nil || errB != nil) {
			t.Fatalf("History(%s): Put %v, loader %v", id, errA, errB)
		}
		if !reflect.DeepEqual(ha, hb) {
			t.Fatalf("History(%s) differs:\nPut    %+v\nloader %+v", id, ha, hb)
		}
	}
	if nodes < 100 || len(aToB) < 20 {
		t.Fatalf("only %d identifiers in %d people", nodes, len(aToB))
	}
	checkFlags(t, put, true, false)
	checkFlags(t, bulk, true, true)
	// The loaded store takes ordinary writes afterwards, and its component numbers go on.
	if _, err := bulk.PutContact(Contact{ContactID: "late", Email: "late@example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	if h, err := bulk.History("late@example.com"); err != nil || h.Person != "late" {
		t.Fatalf("a contact after the load: %v %v", h, err)
	}
	// A second load into a store that is not empty is refused.
	if _, err := bulk.Loader(LoadOptions{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Loader on a loaded store: %v, want ErrNotEmpty", err)
	}
	// Nothing of the load's scratch files is left.
	if names, _ := fs.List("db/load.tmp"); len(names) > 0 {
		t.Errorf("left in the store: %v", names)
	}
}

// checkFlags checks, when wantFlags, that every component of s has one record flag per
// member and that each member with records stored under it has its flag set or its mark
// (component.Has); that the flags are exact when exact (a loaded store, whose records came
// before its components); and that some members have tables a reader skips. Otherwise it
// checks that the store has neither flags nor marks (a format-1 store).
func checkFlags(t *testing.T, s *Store, wantFlags, exact bool) {
	t.Helper()
	comps, skipped := 0, 0
	marked := func(bit byte, id string) bool {
		v, err := s.get(s.db, markKey(bit, id))
		if err != nil {
			t.Fatal(err)
		}
		return v != nil
	}
	err := iterPrefix(s.db, []byte(pComp), func(k, v []byte) error {
		var c component
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		comps++
		if !wantFlags || len(c.Has) != len(c.Members) {
			if wantFlags || c.Has != nil {
				t.Errorf("component %x: flags %v for members %v", k, c.Has, c.Members)
			}
			return nil
		}
		for i, m := range c.Members {
			for _, x := range []struct {
				prefix string
				bit    byte
			}{{pEvent, hasEvents}, {pTx, hasTx}} {
				stored := false
				if err := iterPrefix(s.db, key(x.prefix, m, ""), func(_, _ []byte) error { stored = true; return nil }); err != nil {
					return err
				}
				flag := c.Has[i]&x.bit != 0
				switch {
				case stored && !flag && !marked(x.bit, m):
					t.Errorf("member %q: records in %s without a flag or a mark", m, x.prefix)
				case exact && stored != flag:
					t.Errorf("member %q: flag %v for %s, records stored %v", m, flag, x.prefix, stored)
				case !flag && !marked(x.bit, m):
					skipped++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !wantFlags {
		for _, p := range []string{pMarkE, pMarkT} {
			if err := iterPrefix(s.db, []byte(p), func(k, _ []byte) error { t.Errorf("a mark in a store without flags: %q", k); return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if comps < 20 || wantFlags && skipped == 0 {
		t.Fatalf("%d components, %d tables of members that a reader skips: the records exercise too little", comps, skipped)
	}
}

// TestRecordFlags checks the components' record flags kept by the Put methods (the loader's
// are checked by TestLoaderEqualsPut), and that a format-1 store, which keeps none, is
// written and read as before: every person reads the same from both.
func TestRecordFlags(t *testing.T) {
	recs := loadRecords(5, 4000)
	v2 := openMem(t, vfs.NewMem())
	defer v2.Close()
	fs := vfs.NewMem()
	v1 := openMem(t, fs)
	if err := v1.db.Set([]byte(formatKey), []byte("1"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	v1.Close()
	v1 = openMem(t, fs)
	defer v1.Close()
	if v1.flags || !v2.flags {
		t.Fatalf("flags kept: format 1 %v, format %d %v", v1.flags, FormatVersion, v2.flags)
	}
	for _, s := range []*Store{v1, v2} {
		for _, r := range recs {
			var err error
			switch r := r.(type) {
			case Contact:
				_, err = s.PutContact(r, nil)
			case Event:
				_, err = s.PutEvent(r, nil)
			case Transaction:
				_, err = s.PutTransaction(r, nil)
			case Identity:
				_, err = s.PutIdentity(r, nil)
			}
			if err != nil && !errors.Is(err, ErrBadRecord) {
				t.Fatal(err)
			}
		}
	}
	// Erased people come back with new records under the same identifiers: the flags of
	// their new components (and the cache of known flags) must not keep the old ones.
	var back []string
	err := v2.People(func(p string) error {
		if len(back) < 10 {
			back = append(back, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{v1, v2} {
		for i, p := range back {
			h, err := s.History(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Erase(p); err != nil {
				t.Fatal(err)
			}
			for _, id := range h.IDs {
				mustPut(t, s.PutContact, Contact{ContactID: id})
				if i%2 == 0 {
					mustPut(t, s.PutEvent, Event{ContactID: id, TS: day(i), Type: "page_view"})
				} else {
					mustPut(t, s.PutTransaction, Transaction{ContactID: id, TS: day(i), Amount: 1})
				}
			}
		}
	}
	checkFlags(t, v2, true, false)
	checkFlags(t, v1, false, false)
	people, withTx := 0, 0
	err = v2.People(func(p string) error {
		people++
		a, err := v1.History(p)
		if err != nil {
			return err
		}
		b, err := v2.History(p)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("History(%s) differs:\nformat 1 %+v\nformat 2 %+v", p, a, b)
		}
		// Every record stored under the person's identifiers is read.
		var events, txs int
		for _, id := range b.IDs {
			count := func(n *int) func(_, _ []byte) error { return func(_, _ []byte) error { *n++; return nil } }
			if err := errors.Join(iterPrefix(v2.db, key(pEvent, id, ""), count(&events)),
				iterPrefix(v2.db, key(pTx, id, ""), count(&txs))); err != nil {
				return err
			}
		}
		if len(b.Events) != events || len(b.Transactions) != txs {
			t.Fatalf("History(%s): %d events and %d transactions, %d and %d stored", p, len(b.Events), len(b.Transactions), events, txs)
		}
		withTx += min(txs, 1)
		return nil
	})
	if err != nil || people < 20 || withTx < 10 {
		t.Fatalf("%d people, %d with transactions: %v", people, withTx, err)
	}
}
