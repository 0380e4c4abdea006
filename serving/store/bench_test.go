package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkScoreHistory reads people for scoring from a store in memory: 1,000 people of a
// contact id, an email and an anonymous id, 60 events each (with event ids, as
// applications send them for idempotency) and 6 transactions. It measures the decoding
// and the pebble operations of a read, not the disk.
func BenchmarkScoreHistory(b *testing.B) {
	s, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const people = 1000
	pages := []string{"/", "/pricing", "/models/suv-x", "/directions", "/blog/news"}
	for i := range people {
		c := Contact{ContactID: fmt.Sprintf("c-%06d", i), CreatedAt: day(i % 300), Email: fmt.Sprintf("u%d@example.com", i),
			Attributes: map[string]any{"plan": "pro", "seats": float64(i % 9)}}
		if _, err := s.PutContact(c, nil); err != nil {
			b.Fatal(err)
		}
		for j := range 60 {
			e := Event{EventID: fmt.Sprintf("evt-%08x-%04d", rng.Uint32(), j), TS: day(rng.IntN(400)), Type: "page_view",
				Page: pages[rng.IntN(len(pages))], Channel: "web"}
			switch j % 3 {
			case 0:
				e.ContactID = c.ContactID
			case 1:
				e.AnonymousID = fmt.Sprintf("a-%06d", i)
			default:
				e.ContactID, e.AnonymousID = c.ContactID, fmt.Sprintf("a-%06d", i)
			}
			if _, err := s.PutEvent(e, nil); err != nil {
				b.Fatal(err)
			}
		}
		for range 6 {
			x := Transaction{ContactID: c.ContactID, TS: day(rng.IntN(400)), Amount: 20, Product: "service"}
			if _, err := s.PutTransaction(x, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h, err := s.ScoreHistory(fmt.Sprintf("c-%06d", i%people))
		if err != nil || len(h.Events) != 60 {
			b.Fatalf("%v, %d events", err, len(h.Events))
		}
	}
}
