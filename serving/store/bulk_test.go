package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

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
