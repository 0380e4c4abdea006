package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/propensity-dev/propensity/features"
)

// TestMapPersonsAgrees checks that MapPersons hands every worker the same people as the
// sequential walk, and emits their results in contact_id order, whatever the worker count.
func TestMapPersonsAgrees(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf}
	var want []string
	withHistory, withEmail := 0, 0
	_, err := ForEachPerson(context.Background(), dir, opts, func(p *Person) error {
		want = append(want, fmt.Sprintf("%+v", *p)) // fmt prints maps sorted by key
		if len(p.Events) > 0 && len(p.Transactions) > 0 {
			withHistory++
		}
		if e, ok := p.Attributes["email"].(string); ok && strings.Contains(e, "@") {
			withEmail++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 500 || withHistory < 50 {
		t.Fatalf("fixture too small: %d people, %d with events and transactions", len(want), withHistory)
	}
	// Scorecards test the email (e.g. free-mail domains): the walk hands it over like a profile.
	if withEmail < len(want)/2 {
		t.Errorf("only %d of %d people have their contact email among the attributes", withEmail, len(want))
	}
	for _, workers := range []int{1, 2, 5} {
		var got []string
		_, err := MapPersons(context.Background(), dir, opts, workers, func(p *Person) (string, error) {
			return fmt.Sprintf("%+v", *p), nil
		}, func(s string) error {
			got = append(got, s)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sameWalk(t, fmt.Sprintf("workers=%d", workers), got, want)
	}
}

// TestMapPersonsErrors checks that the first failing person's error is returned and that
// nothing after it is emitted; and that an emit error stops the walk.
func TestMapPersonsErrors(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf}
	var ids []string
	if _, err := ForEachPerson(context.Background(), dir, opts, func(p *Person) error {
		ids = append(ids, p.ContactID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{ids[700]: true, ids[900]: true} // both in later chunks than the first
	emitted := 0
	_, err := MapPersons(context.Background(), dir, opts, 2, func(p *Person) (string, error) {
		if bad[p.ContactID] {
			return "", fmt.Errorf("bad %s", p.ContactID)
		}
		return p.ContactID, nil
	}, func(id string) error {
		if id != ids[emitted] {
			t.Fatalf("emitted %s at %d, want %s", id, emitted, ids[emitted])
		}
		emitted++
		return nil
	})
	if err == nil || err.Error() != "bad "+ids[700] {
		t.Fatalf("err = %v, want the error of person 700 (%s)", err, ids[700])
	}
	if emitted != 700 {
		t.Errorf("%d results emitted before the error, want 700", emitted)
	}

	// A chunk's results are emitted while the next chunk is mapped, so an emit error stops
	// the walk once that chunk is mapped: at most two chunks in all.
	stop := errors.New("stop")
	var calls atomic.Int64
	const chunk = 100
	_, err = MapPersonsWithin(context.Background(), Engine{Workers: 2, mapChunk: chunk}, dir, opts, func(p *Person) (int, error) {
		calls.Add(1)
		return 0, nil
	}, func(int) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("emit error: got %v", err)
	}
	if n := calls.Load(); n > 2*chunk || len(ids) <= 2*chunk {
		t.Errorf("the walk went on after emit failed: %d of %d people mapped, chunks of %d", n, len(ids), chunk)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MapPersons(ctx, dir, opts, 2, func(p *Person) (int, error) { return 0, nil }, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

// TestSortTransactions checks the linear sort against a stable comparison sort, with ties,
// long runs and people without transactions.
func TestSortTransactions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, people := range []int{1, 7, 300} {
		var txs []txRec
		for i := range 5000 {
			p := int32(rng.IntN(people))
			if people == 7 && p == 3 {
				continue // nobody's rows for person 3
			}
			txs = append(txs, txRec{person: p, ts: int64(rng.IntN(50)), amount: float64(i)})
		}
		want := slices.Clone(txs)
		slices.SortStableFunc(want, func(a, b txRec) int {
			if c := cmp.Compare(a.person, b.person); c != 0 {
				return c
			}
			return cmp.Compare(a.ts, b.ts)
		})
		var chunks [][]txRec // uneven chunks, some empty
		for rest := txs; len(rest) > 0; {
			k := min(len(rest), rng.IntN(700))
			chunks, rest = append(chunks, rest[:k]), rest[k:]
		}
		if got := sortTransactions(chunks, 0, people); !slices.Equal(got, want) {
			t.Errorf("%d people: the sort differs from a stable sort by person and time", people)
		}
		// a partition's rows: people 100 to 100+people-1
		const base = 100
		for _, c := range chunks {
			for i := range c {
				c[i].person += base
			}
		}
		for i := range want {
			want[i].person += base
		}
		if got := sortTransactions(chunks, base, base+people); !slices.Equal(got, want) {
			t.Errorf("%d people from %d: the sort differs from a stable sort by person and time", people, base)
		}
	}
}

// TestKeepEvent checks that a KeepEvent filter leaves each person exactly the events it
// keeps, in the same order, and nothing else of the person changes.
func TestKeepEvent(t *testing.T) {
	dir := generated(t)
	type seen struct {
		id     string
		events []features.Event
		rest   string
	}
	walk := func(keep func(typ, page string) bool) ([]seen, Report) {
		var out []seen
		rep, err := ForEachPerson(context.Background(), dir, features.Options{AsOf: testAsOf, KeepEvent: keep}, func(p *Person) error {
			q := *p
			q.Events = nil
			out = append(out, seen{p.ContactID, slices.Clone(p.Events), fmt.Sprintf("%+v", q)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, rep
	}
	keep := func(typ, page string) bool {
		return typ == "email_click" || (typ == "page_view" && strings.HasPrefix(page, "/pricing"))
	}
	var calls atomic.Int64
	all, repAll := walk(nil)
	some, repSome := walk(func(typ, page string) bool {
		calls.Add(1)
		return keep(typ, page)
	})
	if len(all) != len(some) {
		t.Fatalf("%d people with the filter, %d without", len(some), len(all))
	}
	kept, total := 0, 0
	for i := range all {
		var want []features.Event
		for _, e := range all[i].events {
			if keep(e.Type, e.Page) {
				want = append(want, e)
			}
		}
		total += len(all[i].events)
		kept += len(want)
		// Printed, so that NaN values compare equal.
		if all[i].rest != some[i].rest || fmt.Sprintf("%+v", want) != fmt.Sprintf("%+v", some[i].events) {
			t.Fatalf("person %s: with the filter %d events (%s), want %d (%s)", all[i].id,
				len(some[i].events), some[i].rest, len(want), all[i].rest)
		}
	}
	if kept == 0 || kept == total {
		t.Fatalf("the filter kept %d of %d events: not exercised", kept, total)
	}
	if repAll.Events != repSome.Events {
		t.Errorf("Report.Events %d with the filter, %d without", repSome.Events, repAll.Events)
	}
	if c := calls.Load(); c > int64(total/10) {
		t.Errorf("KeepEvent called %d times for %d events: answers are not remembered", c, total)
	}
}
