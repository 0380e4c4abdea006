package history

import (
	"hash/maphash"
	"slices"
	"sync/atomic"
	"unsafe"
)

// idTable numbers the identifiers of a history (contact ids, emails, anonymous ids): the
// first one added is node 0, the next node 1, and so on. It is the largest structure of the
// stitching, three or so identifiers per person, so it is kept small:
//
//   - the identifiers' bytes are copied into shared chunks of memory, not one heap object
//     each, and each node keeps an 8-byte reference into them (keyChunk at a time, so
//     growing never copies them). References, not string headers: thirty million string
//     headers were thirty million pointers that the garbage collector followed on every
//     cycle, 39 s of the CPU of a ten-million-people score (docs/operations.md);
//   - the hash table is open addressing with linear probing over 8-byte slots, each holding
//     the node number and the top 32 bits of the identifier's hash, which settle almost every
//     probe without reading the identifier itself. A slot's place is the top bits of those
//     32, so the table grows without reading a single identifier again;
//   - the slots, the chunks of keys and the arena are advised to transparent huge pages
//     (adviseHuge): at ten million people the slots alone are hundreds of MB read at
//     random; with huge pages BenchmarkIDLookup's lookups took about half the time, which
//     we read as fewer misses of the processor's address cache (not measured apart).
//
// On a million generated contacts, heap profiles gave 136 MB for this table against 191 MB
// for the map[string]int32 (with a string a key) it replaced. Lookups are safe for concurrent
// use once no more identifiers are added.
type idTable struct {
	seed   maphash.Seed
	slots  []uint64 // hash>>32 << 32 | node+1; 0 is an empty slot; len is 1<<bits
	bits   uint
	refs   [][]uint64 // node → keyRef of its identifier, keyChunk nodes per chunk
	n      int32
	arenas [][]byte // the chunks identifiers are copied into
	fill   int      // the arena being filled, -1 for none

	sink atomic.Uint64 // what warm read, kept so that the compiler keeps its reads
}

const (
	keyChunk   = 1 << 19 // 4 MB of references
	arenaChunk = 1 << 23
)

// A keyRef is an identifier's place in the arenas: the arena (bits 43 to 63), the offset in it
// (bits 20 to 42) and the length (bits 0 to 19). An identifier longer than arenaChunk/16 has
// an arena of its own, at offset 0 with length refWhole. The 2^21 arenas the references can
// name hold at least a terabyte of identifiers (2^21 of those long ones), more than the
// memory that would hold them.
const (
	refLenBits = 20
	refOffBits = 23
	refWhole   = 1<<refLenBits - 1
)

func newIDTable() *idTable {
	return &idTable{seed: maphash.MakeSeed(), slots: make([]uint64, 1<<10), bits: 10, fill: -1}
}

// len is the number of identifiers.
func (t *idTable) len() int { return int(t.n) }

// key is node n's identifier.
func (t *idTable) key(n int32) string {
	r := t.refs[n/keyChunk][n%keyChunk]
	l := int(r & refWhole)
	if l == 0 {
		return ""
	}
	a := t.arenas[r>>(refLenBits+refOffBits)]
	if l == refWhole {
		return unsafe.String(&a[0], len(a))
	}
	return unsafe.String(&a[int(r>>refLenBits)&(1<<refOffBits-1)], l)
}

// probe returns id's node, or -1 and the empty slot where it would go.
func (t *idTable) probe(id []byte, hash uint64) (node int32, slot int) {
	mask := uint64(len(t.slots) - 1)
	tag := hash >> 32
	for i := tag >> (32 - t.bits); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return -1, int(i)
		}
		if s>>32 == tag {
			if n := int32(uint32(s)) - 1; t.key(n) == string(id) {
				return n, int(i)
			}
		}
	}
}

// lookup returns id's node.
func (t *idTable) lookup(id []byte) (int32, bool) {
	n, _ := t.probe(id, maphash.Bytes(t.seed, id))
	return n, n >= 0
}

// add returns id's node, numbering it first if it is new.
func (t *idTable) add(id []byte) int32 {
	hash := maphash.Bytes(t.seed, id)
	n, slot := t.probe(id, hash)
	if n >= 0 {
		return n
	}
	if int(t.n+1) > len(t.slots)/4*3 {
		t.grow()
		_, slot = t.probe(id, hash)
	}
	n = t.n
	t.n++
	if int(n)%keyChunk == 0 {
		k := make([]uint64, 0, keyChunk)
		adviseHuge(k[:keyChunk])
		t.refs = append(t.refs, k)
	}
	t.refs[len(t.refs)-1] = append(t.refs[len(t.refs)-1], t.store(id))
	t.slots[slot] = hash>>32<<32 | uint64(n+1)
	return n
}

// warm reads into the processor's caches what looking up (or adding) each of ids will read:
// its slot, the key of the node the slot names, and that key's bytes. At ten million
// people the table is hundreds of megabytes, and each lookup's three dependent reads missed
// the caches one after the other (22 s of a 10M feature run's CPU profile, against 1.1 s at a
// million); here each step reads for every id before the next step, so the misses of
// different ids overlap. The lookups that follow find what they read in the caches; the
// results are the same with or without it. scratch holds a slot index per id (grown as
// needed) and is returned for reuse.
func (t *idTable) warm(ids [][]byte, scratch []uint64) []uint64 {
	if len(ids) == 0 {
		return scratch
	}
	scratch = slices.Grow(scratch[:0], len(ids))[:len(ids)]
	shift := 32 - t.bits
	var sink uint64
	for j, id := range ids {
		tag := maphash.Bytes(t.seed, id) >> 32
		i := tag >> shift
		scratch[j] = tag<<32 | i // the slot to begin at, under the tag to look for
		sink += t.slots[i]
	}
	mask := uint64(len(t.slots) - 1)
	for j, x := range scratch { // the node of the first slot with the tag, 0 for none
		tag := x >> 32
		var n uint64
		for i := uint64(uint32(x)); ; i = (i + 1) & mask {
			s := t.slots[i]
			if s == 0 {
				break
			}
			if s>>32 == tag {
				n = uint64(uint32(s)) // node+1
				break
			}
		}
		scratch[j] = n
		if n > 0 {
			sink += uint64(len(t.key(int32(n - 1)))) // reads the key's reference
		}
	}
	for _, n := range scratch {
		if n > 0 {
			if k := t.key(int32(n - 1)); len(k) > 0 {
				sink += uint64(k[0]) // reads the key's first bytes
			}
		}
	}
	t.sink.Add(sink)
	return scratch
}

// reserve makes room for n identifiers in all without growing: a table grown one doubling at
// a time while a million contacts were read spent 0.21 s placing nodes again (CPU profile),
// besides clearing the new slots, on the goroutine that numbers the contacts' identifiers.
func (t *idTable) reserve(n int) {
	bits := t.bits
	for n > (1<<bits)/4*3 {
		bits++
	}
	if bits > t.bits {
		t.resize(bits)
	}
}

// grow doubles the slots.
func (t *idTable) grow() { t.resize(t.bits + 1) }

// resize makes the slots 1<<bits (more than now) and places every node again, by the hash
// bits its slot holds.
func (t *idTable) resize(bits uint) {
	t.bits = bits
	slots := make([]uint64, 1<<t.bits)
	adviseHuge(slots)
	mask := uint64(len(slots) - 1)
	for _, s := range t.slots {
		if s == 0 {
			continue
		}
		i := s >> 32 >> (32 - t.bits)
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = s
	}
	t.slots = slots
}

// store copies id into the arenas and returns its reference. An arena is never written again
// where an identifier lies, so the strings key makes of them never change.
func (t *idTable) store(id []byte) uint64 {
	const offShift = refLenBits + refOffBits
	if len(id) == 0 {
		return 0
	}
	if len(id) > arenaChunk/16 {
		t.arenas = append(t.arenas, slices.Clone(id))
		return uint64(len(t.arenas)-1)<<offShift | refWhole
	}
	if t.fill < 0 || len(t.arenas[t.fill])+len(id) > arenaChunk {
		a := make([]byte, 0, arenaChunk)
		adviseHuge(a[:arenaChunk])
		t.arenas = append(t.arenas, a)
		t.fill = len(t.arenas) - 1
	}
	a := t.arenas[t.fill]
	t.arenas[t.fill] = append(a, id...)
	return uint64(t.fill)<<offShift | uint64(len(a))<<refLenBits | uint64(len(id))
}

// codes is a text column kept as one 32-bit code a row into its distinct values: categorical
// attributes and stages repeat a handful of values over millions of contacts. Code 0 is the
// empty value (null).
type codes struct {
	rows   []uint32
	values []string
	index  map[string]uint32 // while rows are added; nil after done
}

func newCodes(capacity int) codes {
	return codes{rows: make([]uint32, 0, capacity), values: []string{""}, index: map[string]uint32{}}
}

// add appends a row of value v.
func (c *codes) add(v []byte) {
	if len(v) == 0 {
		c.rows = append(c.rows, 0)
		return
	}
	k, ok := c.index[string(v)]
	if !ok {
		k = uint32(len(c.values))
		c.values = append(c.values, string(v))
		c.index[c.values[k]] = k
	}
	c.rows = append(c.rows, k)
}

// done drops the index once every row is in.
func (c *codes) done() { c.index = nil }

// at is row i's value.
func (c *codes) at(i int32) string { return c.values[c.rows[i]] }
