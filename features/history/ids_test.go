package history

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// TestIDTable checks the identifier table against a map: nodes are numbered in the order
// identifiers are first added, every identifier finds its node after the table has grown
// many times, unknown ones are not found, and the keys read back unchanged (including long
// ones, kept outside the arena, and ones that differ in a single byte).
func TestIDTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newIDTable()
	want := map[string]int32{}
	var order []string
	for i := range 200_000 {
		var id string
		switch i % 5 {
		case 0:
			id = fmt.Sprintf("c%07d", rng.IntN(150_000))
		case 1:
			id = fmt.Sprintf("person%d@example.com", rng.IntN(150_000))
		case 2:
			id = strings.Repeat("x", arenaChunk/16+1+rng.IntN(3)) // longer than the arena takes
		case 3:
			id = fmt.Sprintf("anon-%x", rng.Uint64())
		default:
			id = string([]byte{byte(rng.IntN(256)), byte(rng.IntN(256))}) // any bytes, not text
		}
		n, ok := want[id]
		if !ok {
			n = int32(len(order))
			want[id] = n
			order = append(order, id)
		}
		if got := tab.add([]byte(id)); got != n {
			t.Fatalf("add(%q) = %d, want %d", id, got, n)
		}
	}
	if tab.len() != len(order) {
		t.Fatalf("len = %d, want %d", tab.len(), len(order))
	}
	for n, id := range order {
		if got, ok := tab.lookup([]byte(id)); !ok || got != int32(n) {
			t.Fatalf("lookup(%q) = %d, %v; want %d", id, got, ok, n)
		}
		if tab.key(int32(n)) != id {
			t.Fatalf("key(%d) = %q, want %q", n, tab.key(int32(n)), id)
		}
	}
	for _, id := range []string{"c9999999", "person@example.com", "anon-", strings.Repeat("x", arenaChunk/16)} {
		if n, ok := tab.lookup([]byte(id)); ok {
			t.Errorf("lookup(%q) found node %d of an identifier never added", id, n)
		}
	}
}

// TestIDTableArenas checks the references into the arenas past the first arena: identifiers
// that fill several arenas, with identifiers too long for one (each in an arena of its own)
// among them, read back unchanged, and an arena is never filled past its size (where the
// offset of a reference would no longer fit).
func TestIDTableArenas(t *testing.T) {
	if arenaChunk/16 >= refWhole || arenaChunk > 1<<refOffBits {
		t.Fatalf("a reference cannot name every identifier an arena of %d bytes shares", arenaChunk)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	tab := newIDTable()
	var order []string
	for i := 0; i < 12_000; i++ {
		n := 1 + rng.IntN(4000)
		if i%1000 == 999 {
			n = arenaChunk/16 + 1 + rng.IntN(1<<20)
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		copy(b, fmt.Sprintf("%d/", i)) // distinct
		if got := tab.add(b); got != int32(i) {
			t.Fatalf("add of identifier %d = node %d", i, got)
		}
		order = append(order, string(b))
	}
	full := 0
	for _, a := range tab.arenas {
		if cap(a) == arenaChunk {
			full++
		}
		if len(a) > arenaChunk {
			t.Fatalf("an arena of %d bytes, over %d", len(a), arenaChunk)
		}
	}
	if full < 3 || len(tab.arenas) < full+12 {
		t.Fatalf("%d arenas, %d of them shared; want several shared ones and 12 of long identifiers", len(tab.arenas), full)
	}
	for n, id := range order {
		if tab.key(int32(n)) != id {
			t.Fatalf("key(%d) differs from the identifier added (%d bytes)", n, len(id))
		}
		if got, ok := tab.lookup([]byte(id)); !ok || got != int32(n) {
			t.Fatalf("lookup of identifier %d = %d, %v", n, got, ok)
		}
	}
}

// TestIDTableWarm checks what warm reads ahead: for an identifier in the table, the first
// slot with its tag names its node (as the probe that follows will find it), and for one
// that is not, no node, bar the rare identifiers whose 32-bit tag another shares (about one
// pair in 100,000, by the birthday bound); and that lookups after it answer as before.
func TestIDTableWarm(t *testing.T) {
	tab := newIDTable()
	var ids [][]byte
	for i := range 100_000 {
		id := []byte(fmt.Sprintf("c%07d", i))
		tab.add(id)
		ids = append(ids, id, []byte(fmt.Sprintf("absent-%d", i)))
	}
	ids = append(ids, nil, []byte{}) // empty identifiers
	scratch := tab.warm(ids, nil)
	if len(scratch) != len(ids) {
		t.Fatalf("warm gave %d entries for %d identifiers", len(scratch), len(ids))
	}
	var misses, strays int
	for j, id := range ids {
		n, ok := tab.lookup(id)
		switch {
		case ok && scratch[j] != uint64(n)+1:
			misses++
		case !ok && scratch[j] != 0:
			strays++
		}
		if ok != (j%2 == 0 && j < 200_000) || ok && tab.key(n) != string(id) {
			t.Fatalf("lookup(%q) after warm = %d, %v", id, n, ok)
		}
	}
	if misses > 10 {
		t.Errorf("warm named another node for %d of 100,000 identifiers in the table", misses)
	}
	if strays > 10 {
		t.Errorf("warm named a node for %d of 100,000 identifiers not in the table", strays)
	}
	if s := tab.warm(nil, scratch); len(s) != len(scratch) {
		t.Errorf("warm of nothing changed the scratch")
	}
}

// BenchmarkIDLookup times looking up identifiers of a table of eight million, in random
// order, with and without warm read-ahead over windows of warmWindow identifiers.
func BenchmarkIDLookup(b *testing.B) {
	const n = 8_000_000
	tab := newIDTable()
	tab.reserve(n)
	ids := make([][]byte, n)
	for i := range ids {
		ids[i] = []byte(fmt.Sprintf("c%09d", i))
		tab.add(ids[i])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, warm := range []bool{false, true} {
		b.Run(fmt.Sprintf("warm=%v", warm), func(b *testing.B) {
			var scratch []uint64
			var sum int32
			i := 0
			for b.Loop() {
				if i+warmWindow > len(ids) {
					i = 0
				}
				if warm {
					scratch = tab.warm(ids[i:i+warmWindow], scratch)
				}
				for _, id := range ids[i : i+warmWindow] {
					nd, _ := tab.lookup(id)
					sum += nd
				}
				i += warmWindow
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*warmWindow), "ns/lookup")
			if m, err := os.ReadFile("/proc/self/smaps_rollup"); err == nil {
				for _, l := range strings.Split(string(m), "\n") {
					if strings.HasPrefix(l, "AnonHuge") {
						b.Log(l)
					}
				}
			}
			_ = sum
		})
	}
}

// TestCodes checks that a coded text column gives back each row's value, with empty and
// missing values as "".
func TestCodes(t *testing.T) {
	c := newCodes(0)
	in := []string{"retail", "", "finance", "retail", "1.5", "", "finance"}
	for _, v := range in {
		c.add([]byte(v))
	}
	c.add([]byte("retail"))
	c.add(nil)
	c.done()
	in = append(in, "retail", "")
	for i, v := range in {
		if got := c.at(int32(i)); got != v {
			t.Errorf("row %d = %q, want %q", i, got, v)
		}
	}
	if len(c.values) != 4 { // "", retail, finance, 1.5
		t.Errorf("%d distinct values kept, want 4: %q", len(c.values), c.values)
	}
}

// TestLastPerson checks the remembered attribution against the table's answer for every
// row, with the caller's buffer overwritten between rows (as a decoder's page buffer is),
// repeated and alternating identifiers, and identifiers of no person.
func TestLastPerson(t *testing.T) {
	h := &history{ids: newIDTable()}
	for i := range 50 {
		h.node([]byte(fmt.Sprintf("c%d", i)))
	}
	h.nodePerson = make([]int32, h.ids.len())
	for n := range h.nodePerson {
		h.nodePerson[n] = int32(n / 2) // two identifiers a person
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var last lastPerson
	buf := make([]byte, 0, 16)
	prev := 0
	for range 10_000 {
		k := prev
		if rng.IntN(3) == 0 {
			k = rng.IntN(60) // 50 to 59 are no one's
		}
		prev = k
		buf = fmt.Appendf(buf[:0], "c%d", k)
		want := h.person(buf)
		if got := last.person(h, buf); got != want {
			t.Fatalf("c%d: person %d, want %d", k, got, want)
		}
		for i := range buf {
			buf[i] = 'x' // the decoder reuses its buffer
		}
	}
}
