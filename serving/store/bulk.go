package store

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrNotEmpty: Store.Loader was asked for on a store that already holds records.
var ErrNotEmpty = errors.New("store: not empty")

// A Loader fills an empty store with a whole history much faster than the Put methods can:
// it encodes each record into the keys and values Put would write, sorts them in runs of
// LoadOptions.RunBytes on disk, merges the runs into SSTables that do not overlap and hands
// them to pebble in one ingestion. No write-ahead log, no memtable, no compactions: every
// byte is written twice (run, table) and read once.
//
// The store it leaves is the one the Put methods would leave after the same records in the
// same order: a resent record is stored once (the first one wins, as with Put), rows of one
// contact are merged as PutContact merges them, and the identity graph is built by the same
// rules (TestLoaderEqualsPut). Trigger state and deliveries are not written: a bulk load
// does not re-score. Memory grows with the number of identifiers (the identity graph is
// built in memory), not with the number of events.
//
// A Loader is not safe for concurrent use, and holds the store's writers' mutex from
// Store.Loader to Finish or Abort.
type Loader struct {
	s   *Store
	fs  vfs.FS
	tmp string
	opt LoadOptions

	tables [nTables]*runTable
	bytes  int // bytes buffered in every table

	flushes chan flushJob
	flushWG sync.WaitGroup
	flushMu sync.Mutex
	flushEr error

	g      graph
	emails map[string]string // contact id -> its last email, for the links PutContact retains
	done   bool

	// Duplicates counts the records not stored because an equal one was, and Stored the
	// records stored, by kind (both known once Finish returns).
	Duplicates int64
	Stored     LoadCounts
}

// LoadCounts counts records by kind.
type LoadCounts struct {
	Contacts, Events, Transactions, Identities int64
}

// LoadOptions tune a Loader. Zero values mean the defaults in the comments.
type LoadOptions struct {
	// RunBytes is the size of the sorted runs kept in memory before they go to disk (default
	// 64 MiB). Up to three runs are in memory at once: one filling, one waiting, one being
	// sorted and written.
	RunBytes int
	// TableBytes is the target size of an SSTable written by the merge (default 256 MiB).
	TableBytes uint64
}

// The tables a Loader sorts. Their order is the order of their key prefixes.
const (
	tContacts   = iota // pContact, merged like PutContact
	tEvents            // pEvent
	tIdentities        // pIdentity
	tIdentityR         // pIdentityR
	tTx                // pTx
	tEventIDs          // pEventID
	tLinks             // not stored: the links of events with an event_id (key: the event key)
	nTables
)

// runTable is one table's sorted runs on disk and its filling buffer.
type runTable struct {
	buf  []byte   // entries: uvarint key length, key, uvarint value length, value
	offs []uint32 // start of each entry in buf
	runs []string // run files, in input order

	spare chan flushJob // buffers the flusher is done with, for reuse (growing them is costly)
	// hint is the size of the table's last run: the first entry of the next run allocates
	// that much at once, instead of growing the buffers from nothing (a table that gets no
	// more entries allocates nothing).
	hint, hintN int
}

type flushJob struct {
	table int
	path  string
	buf   []byte
	offs  []uint32
}

// Loader returns a loader for a store that holds nothing but its format record; ErrNotEmpty
// otherwise (use the Put methods on it).
func (s *Store) Loader(opt LoadOptions) (*Loader, error) {
	if opt.RunBytes <= 0 {
		opt.RunBytes = 64 << 20
	}
	if opt.TableBytes == 0 {
		opt.TableBytes = 256 << 20
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if k := string(it.Key()); k != formatKey && k != indexedKey && k != stateIndexKey {
			it.Close()
			s.mu.Unlock()
			return nil, ErrNotEmpty
		}
	}
	if err := it.Close(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	fs := s.opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	l := &Loader{s: s, fs: fs, tmp: fs.PathJoin(s.dir, "load.tmp"), opt: opt, flushes: make(chan flushJob, 1),
		g: graph{ids: map[string]int32{}}, emails: map[string]string{}}
	_ = fs.RemoveAll(l.tmp) // left by a load that crashed
	if err := fs.MkdirAll(l.tmp, 0o755); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("store: load directory: %w", err)
	}
	for i := range l.tables {
		l.tables[i] = &runTable{spare: make(chan flushJob, 1)}
	}
	l.flushWG.Add(1)
	go l.flusher()
	return l, nil
}

// add buffers one entry of table t, sending the buffers to disk when they are full.
func (l *Loader) add(t int, k, v []byte) error {
	rt := l.tables[t]
	if rt.buf == nil && rt.hint > 0 {
		rt.buf, rt.offs = make([]byte, 0, rt.hint+rt.hint/8), make([]uint32, 0, rt.hintN+rt.hintN/8)
	}
	rt.offs = append(rt.offs, uint32(len(rt.buf)))
	n := len(rt.buf)
	rt.buf = binary.AppendUvarint(rt.buf, uint64(len(k)))
	rt.buf = append(rt.buf, k...)
	rt.buf = binary.AppendUvarint(rt.buf, uint64(len(v)))
	rt.buf = append(rt.buf, v...)
	l.bytes += len(rt.buf) - n
	if l.bytes < l.opt.RunBytes {
		return nil
	}
	return l.spill()
}

// spill sends every table's buffer to the flusher.
func (l *Loader) spill() error {
	for i, rt := range l.tables {
		if len(rt.offs) == 0 {
			continue
		}
		path := l.fs.PathJoin(l.tmp, "run-"+strconv.Itoa(i)+"-"+strconv.Itoa(len(rt.runs)))
		rt.runs = append(rt.runs, path)
		l.flushes <- flushJob{table: i, path: path, buf: rt.buf, offs: rt.offs}
		// A table that filled most of the run (the events) reuses or preallocates its
		// buffers; the others start small again, so that a table that was big once (the
		// contacts, read first) holds no idle memory.
		big := len(rt.buf) >= l.opt.RunBytes/2
		rt.hint, rt.hintN = len(rt.buf), len(rt.offs)
		rt.buf, rt.offs = nil, nil
		select {
		case j := <-rt.spare:
			rt.buf, rt.offs = j.buf[:0], j.offs[:0]
		default:
			if big {
				rt.buf, rt.offs = make([]byte, 0, l.opt.RunBytes+l.opt.RunBytes/8), make([]uint32, 0, l.opt.RunBytes/64)
			}
		}
	}
	l.bytes = 0
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushEr
}

// flusher sorts runs and writes them, one at a time, beside the reader that fills the next.
func (l *Loader) flusher() {
	defer l.flushWG.Done()
	for j := range l.flushes {
		l.flushMu.Lock()
		failed := l.flushEr != nil
		l.flushMu.Unlock()
		if failed {
			continue
		}
		if err := writeRun(l.fs, j); err != nil {
			l.flushMu.Lock()
			l.flushEr = err
			l.flushMu.Unlock()
		}
		if len(j.buf) >= l.opt.RunBytes/2 {
			select {
			case l.tables[j.table].spare <- j:
			default:
			}
		}
	}
}

// entryAt decodes the entry of buf at offset o.
func entryAt(buf []byte, o uint32) (k, v []byte) {
	b := buf[o:]
	n, w := binary.Uvarint(b)
	k = b[w : w+int(n)]
	b = b[w+int(n):]
	n, w = binary.Uvarint(b)
	return k, b[w : w+int(n)]
}

// runKey is an entry's key and offset, for sorting a run.
type runKey struct {
	k []byte
	o uint32
}

func writeRun(fs vfs.FS, j flushJob) error {
	// Entries with equal keys stay in input order (their offsets ascend): the first one wins.
	// The keys are cut out once, not at every comparison.
	keys := make([]runKey, len(j.offs))
	for i, o := range j.offs {
		k, _ := entryAt(j.buf, o)
		keys[i] = runKey{k: k, o: o}
	}
	slices.SortFunc(keys, func(a, b runKey) int {
		if c := bytes.Compare(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.o, b.o)
	})
	for i, k := range keys {
		j.offs[i] = k.o
	}
	f, err := fs.Create(j.path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("store: load run: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, o := range j.offs {
		k, v := entryAt(j.buf, o)
		end := o + uint32(uvarintLen(len(k))+len(k)+uvarintLen(len(v))+len(v))
		if _, err := w.Write(j.buf[o:end]); err != nil {
			f.Close()
			return fmt.Errorf("store: load run: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("store: load run: %w", err)
	}
	return f.Close()
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

// PutContact buffers a contact row (see Store.PutContact).
func (l *Loader) PutContact(c Contact) error {
	if err := checkContact(&c); err != nil {
		return err
	}
	l.g.ensure(c.ContactID)
	if c.Email != "" {
		l.g.union(c.ContactID, c.Email)
		old := l.emails[c.ContactID]
		if r, ok := retainedLink(Contact{Email: old}, Contact{ContactID: c.ContactID, Email: c.Email}); ok {
			if err := l.putIdentity(r, true); err != nil {
				return err
			}
		}
		l.emails[c.ContactID] = c.Email
	}
	return l.add(tContacts, key(pContact, c.ContactID), marshal(c))
}

// PutEvent buffers an event (see Store.PutEvent).
func (l *Loader) PutEvent(e Event) error {
	_, ek, err := eventKey(&e)
	if err != nil {
		return err
	}
	return l.putEvent(&e, ek, encodeEvent(&e))
}

// PutEvents buffers events as PutEvent does, one after the other, computing their keys and
// encodings on two goroutines first (hashing and encoding are most of a load's work on its
// reading goroutine). errs (as long as es) receives each event's own refusal, wrapping
// ErrBadRecord; the error returned is the loader's failure.
func (l *Loader) PutEvents(es []Event, errs []error) error {
	if len(errs) != len(es) {
		panic("store: PutEvents: errs and es differ in length")
	}
	keys, vals := make([][]byte, len(es)), make([][]byte, len(es))
	half := len(es) / 2
	encode := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			_, keys[i], errs[i] = eventKey(&es[i])
			if errs[i] == nil {
				vals[i] = encodeEvent(&es[i])
			}
		}
		return nil
	}
	_ = parallel(func() error { return encode(0, half) }, func() error { return encode(half, len(es)) })
	for i := range es {
		if errs[i] != nil {
			continue
		}
		if err := l.putEvent(&es[i], keys[i], vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (l *Loader) putEvent(e *Event, ek, val []byte) error {
	if err := l.add(tEvents, ek, val); err != nil {
		return err
	}
	ids := e.ids()
	if e.EventID == "" {
		// Equal content, equal key: a resent copy links the same ids.
		for _, id := range ids[1:] {
			l.g.union(ids[0], id)
		}
		return nil
	}
	if err := l.add(tEventIDs, key(pEventID, e.EventID), ek); err != nil {
		return err
	}
	if len(ids) < 2 {
		return nil
	}
	// An event whose id was already taken by another event is not stored and links
	// nothing: its links wait for the merge, which knows which event won the id.
	var b []byte
	for _, id := range ids {
		b = appendString(b, id)
	}
	return l.add(tLinks, ek, b)
}

// PutTransaction buffers a transaction (see Store.PutTransaction).
func (l *Loader) PutTransaction(x Transaction) error {
	k, err := txKey(&x)
	if err != nil {
		return err
	}
	return l.add(tTx, k, encodeTransaction(&x))
}

// PutIdentity buffers an identity row (see Store.PutIdentity).
func (l *Loader) PutIdentity(r Identity) error {
	return l.putIdentity(r, false)
}

// putIdentity buffers an identity row; retained marks the rows PutContact writes for an old
// email (not records of their own: never counted as stored or duplicate). In the run, the
// row's value starts with a byte saying which.
func (l *Loader) putIdentity(r Identity, retained bool) error {
	k, rk, err := identityKeys(&r)
	if err != nil {
		return err
	}
	l.g.union(r.IDA, r.IDB)
	flag := byte(0)
	if retained {
		flag = 1
	}
	if err := l.add(tIdentities, k, append([]byte{flag}, marshal(r)...)); err != nil {
		return err
	}
	return l.add(tIdentityR, rk, nil)
}

// Abort drops what the loader buffered and wrote; the store is left as it was.
func (l *Loader) Abort() {
	if l.done {
		return
	}
	l.done = true
	close(l.flushes)
	l.flushWG.Wait()
	_ = l.fs.RemoveAll(l.tmp)
	l.s.mu.Unlock()
}

// Finish merges the runs, writes the tables and ingests them; on success every record is
// durable. On error nothing was ingested. The loader is done either way.
func (l *Loader) Finish(ctx context.Context) error {
	if l.done {
		return errors.New("store: loader already finished")
	}
	err := l.finish(ctx)
	l.Abort()
	return err
}

func (l *Loader) finish(ctx context.Context) error {
	if err := l.spill(); err != nil {
		return err
	}
	close(l.flushes)
	l.flushWG.Wait()
	l.flushes = make(chan flushJob) // Abort closes it again
	if l.flushEr != nil {
		return l.flushEr
	}
	out := &tableOut{l: l}
	var mu sync.Mutex
	var dups int64
	// First the tables the events depend on: contact rows (the graph needs their creation
	// times) and the event id index (which events lost their id to an earlier one).
	losers := map[string]bool{}
	created := map[string]compContact{}
	// The identifiers that events and transactions are stored under, for the components'
	// record flags.
	var evIDs, txIDs keyIDs
	err := parallel(
		func() error {
			return l.merge(ctx, tContacts, out, func(w *sstWriter, k []byte, vals [][]byte) error {
				var merged Contact
				var last []byte
				var same int64
				for i, v := range vals {
					var c Contact
					if err := json.Unmarshal(v, &c); err != nil {
						return fmt.Errorf("store: load contact: %w", err)
					}
					if i == 0 {
						merged = newContact(c)
						last = marshal(merged)
						continue
					}
					merged = mergeContact(merged, c)
					b := marshal(merged)
					if bytes.Equal(b, last) {
						same++
					}
					last = b
				}
				cc := compContact{ID: merged.ContactID}
				if !merged.CreatedAt.IsZero() {
					cc.Created, cc.Known = merged.CreatedAt.UnixNano(), true
				}
				mu.Lock()
				created[cc.ID] = cc
				dups += same
				l.Stored.Contacts += int64(len(vals)) - same // rows that changed the contact
				mu.Unlock()
				return w.set(k, last)
			})
		},
		func() error {
			return l.merge(ctx, tEventIDs, out, func(w *sstWriter, k []byte, vals [][]byte) error {
				for _, v := range vals[1:] {
					if !bytes.Equal(v, vals[0]) {
						mu.Lock()
						losers[string(v)] = true
						mu.Unlock()
					}
				}
				return w.set(k, vals[0])
			})
		},
		func() error {
			return l.mergeFirst(ctx, tTx, out, &mu, &dups, &l.Stored.Transactions, func(k []byte) { txIDs.add(k[len(pTx):]) })
		},
		func() error {
			return l.merge(ctx, tIdentities, out, func(w *sstWriter, k []byte, vals [][]byte) error {
				mu.Lock()
				for i, v := range vals {
					switch {
					case v[0] == 1: // a retained email link: not a record
					case i == 0:
						l.Stored.Identities++
					default:
						dups++
					}
				}
				mu.Unlock()
				return w.set(k, vals[0][1:])
			})
		},
		func() error { return l.mergeFirst(ctx, tIdentityR, out, &mu, nil, nil, nil) },
	)
	if err != nil {
		return err
	}
	err = parallel(
		func() error {
			return l.merge(ctx, tEvents, out, func(w *sstWriter, k []byte, vals [][]byte) error {
				mu.Lock()
				dups += int64(len(vals) - 1)
				lost := losers[string(k)]
				if lost {
					dups++
				}
				if !lost {
					l.Stored.Events++
				}
				mu.Unlock()
				if lost {
					return nil
				}
				evIDs.add(k[len(pEvent):])
				return w.set(k, vals[0])
			})
		},
		func() error {
			return l.merge(ctx, tLinks, nil, func(_ *sstWriter, k []byte, vals [][]byte) error {
				if losers[string(k)] {
					return nil
				}
				r := reader{b: vals[0]}
				var ids []string
				for len(r.b) > 0 && !r.err {
					ids = append(ids, r.str())
				}
				for _, id := range ids[1:] {
					l.g.union(ids[0], id)
				}
				return nil
			})
		},
	)
	if err != nil {
		return err
	}
	var has []byte // per graph identifier, its record flags; nil: a store without flags
	if l.s.flags {
		has = make([]byte, len(l.g.names))
		for _, x := range [...]struct {
			ids keyIDs
			bit byte
		}{{evIDs, hasEvents}, {txIDs, hasTx}} {
			for _, id := range x.ids {
				if n, ok := l.g.ids[id]; ok {
					has[n] |= x.bit
				}
			}
		}
	}
	if err := l.g.write(out, created, has); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.s.db.Ingest(ctx, out.paths); err != nil {
		return fmt.Errorf("store: ingesting the load: %w", err)
	}
	l.s.nextComp = l.g.next
	l.Duplicates = dups
	return nil
}

// parallel runs fns at once and returns the first error.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// mergeFirst merges table t keeping the first value of each key, counting the others as
// duplicates and the keys as stored when dups is not nil, and handing each key to each when
// it is not nil.
func (l *Loader) mergeFirst(ctx context.Context, t int, out *tableOut, mu *sync.Mutex, dups, stored *int64, each func(k []byte)) error {
	return l.merge(ctx, t, out, func(w *sstWriter, k []byte, vals [][]byte) error {
		if each != nil {
			each(k)
		}
		if dups != nil {
			mu.Lock()
			*dups += int64(len(vals) - 1)
			*stored++
			mu.Unlock()
		}
		return w.set(k, vals[0])
	})
}

// merge reads the runs of table t in key order and calls fn once per key with its values in
// input order, writing through tables of out (nil: the table is not stored).
func (l *Loader) merge(ctx context.Context, t int, out *tableOut, fn func(w *sstWriter, k []byte, vals [][]byte) error) error {
	rt := l.tables[t]
	h := &runHeap{}
	defer func() {
		for _, r := range h.rs {
			r.f.Close()
		}
	}()
	for i, path := range rt.runs {
		f, err := l.fs.Open(path)
		if err != nil {
			return fmt.Errorf("store: load run: %w", err)
		}
		r := &runReader{f: f, r: bufio.NewReaderSize(f, 256<<10), idx: i}
		ok, err := r.next()
		if err != nil {
			f.Close()
			return err
		}
		if !ok {
			f.Close()
			continue
		}
		h.rs = append(h.rs, r)
	}
	heap.Init(h)
	var w *sstWriter
	if out != nil {
		w = &sstWriter{out: out}
		defer w.abort()
	}
	var k []byte
	var vals [][]byte
	var n int
	emit := func() error {
		if k == nil {
			return nil
		}
		return fn(w, k, vals)
	}
	for len(h.rs) > 0 {
		r := h.rs[0]
		if k == nil || !bytes.Equal(r.key, k) {
			if err := emit(); err != nil {
				return err
			}
			k = append(k[:0:0], r.key...)
			vals = vals[:0]
			if n++; n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		vals = append(vals, bytes.Clone(r.val))
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			r.f.Close()
			heap.Pop(h)
		}
	}
	if err := emit(); err != nil {
		return err
	}
	if w != nil {
		return w.close()
	}
	return nil
}

type runReader struct {
	f        vfs.File
	r        *bufio.Reader
	idx      int
	key, val []byte
}

func (r *runReader) next() (bool, error) {
	kn, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: load run: %w", err)
	}
	r.key = slices.Grow(r.key[:0], int(kn))[:kn]
	if _, err := io.ReadFull(r.r, r.key); err != nil {
		return false, fmt.Errorf("store: load run: %w", err)
	}
	vn, err := binary.ReadUvarint(r.r)
	if err != nil {
		return false, fmt.Errorf("store: load run: %w", err)
	}
	r.val = slices.Grow(r.val[:0], int(vn))[:vn]
	if _, err := io.ReadFull(r.r, r.val); err != nil {
		return false, fmt.Errorf("store: load run: %w", err)
	}
	return true, nil
}

// runHeap orders run readers by key, then by run (input order).
type runHeap struct{ rs []*runReader }

func (h *runHeap) Len() int { return len(h.rs) }
func (h *runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h.rs[i].key, h.rs[j].key); c != 0 {
		return c < 0
	}
	return h.rs[i].idx < h.rs[j].idx
}
func (h *runHeap) Swap(i, j int) { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *runHeap) Push(x any)    { h.rs = append(h.rs, x.(*runReader)) }
func (h *runHeap) Pop() any {
	r := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return r
}

// tableOut names the SSTables of a load.
type tableOut struct {
	l     *Loader
	mu    sync.Mutex
	n     int
	paths []string
}

func (o *tableOut) create() (vfs.File, string, error) {
	o.mu.Lock()
	o.n++
	path := o.l.fs.PathJoin(o.l.tmp, "table-"+strconv.Itoa(o.n)+".sst")
	o.paths = append(o.paths, path)
	o.mu.Unlock()
	f, err := o.l.fs.Create(path, vfs.WriteCategoryUnspecified)
	return f, path, err
}

// sstWriter writes ascending keys into SSTables of about LoadOptions.TableBytes.
type sstWriter struct {
	out *tableOut
	w   *sstable.Writer
}

func (s *sstWriter) set(k, v []byte) error {
	if s.w == nil {
		f, _, err := s.out.create()
		if err != nil {
			return fmt.Errorf("store: load table: %w", err)
		}
		st := s.out.l.s
		s.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), st.po.MakeWriterOptions(6, st.db.TableFormat()))
	}
	if err := s.w.Set(k, v); err != nil {
		return fmt.Errorf("store: load table: %w", err)
	}
	if s.w.Raw().EstimatedSize() >= s.out.l.opt.TableBytes {
		return s.close()
	}
	return nil
}

func (s *sstWriter) close() error {
	if s.w == nil {
		return nil
	}
	w := s.w
	s.w = nil
	if err := w.Close(); err != nil {
		return fmt.Errorf("store: load table: %w", err)
	}
	return nil
}

func (s *sstWriter) abort() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
}

// graph is the identity graph of a load, in memory: a union-find over identifiers.
type graph struct {
	ids    map[string]int32
	names  []string
	parent []int32
	next   uint64 // the store's next component number after the load
}

func (g *graph) ensure(id string) int32 {
	if n, ok := g.ids[id]; ok {
		return n
	}
	n := int32(len(g.names))
	g.ids[id] = n
	g.names = append(g.names, id)
	g.parent = append(g.parent, n)
	return n
}

func (g *graph) find(n int32) int32 {
	for g.parent[n] != n {
		g.parent[n] = g.parent[g.parent[n]]
		n = g.parent[n]
	}
	return n
}

func (g *graph) union(a, b string) {
	ra, rb := g.find(g.ensure(a)), g.find(g.ensure(b))
	if ra != rb {
		g.parent[rb] = ra
	}
}

// write writes the graph's components (with the record flags has of each identifier, unless
// has is nil) and identifier index, numbering components from 1.
func (g *graph) write(out *tableOut, contacts map[string]compContact, has []byte) error {
	comp := make([]uint64, len(g.names)) // root -> component number
	var members [][]int32
	for i := range g.names {
		r := g.find(int32(i))
		if comp[r] == 0 {
			members = append(members, nil)
			comp[r] = uint64(len(members))
		}
		members[comp[r]-1] = append(members[comp[r]-1], int32(i))
	}
	g.next = uint64(len(members)) + 1
	w := &sstWriter{out: out}
	defer w.abort()
	for i, ms := range members {
		c := component{Members: make([]string, len(ms))}
		if has != nil {
			c.Has = make([]byte, len(ms))
		}
		for j, m := range ms {
			c.Members[j] = g.names[m]
			if has != nil {
				c.Has[j] = has[m]
			}
			if cc, ok := contacts[g.names[m]]; ok {
				c.Contacts = append(c.Contacts, cc)
			}
		}
		if err := w.set(compKey(uint64(i+1)), marshal(&c)); err != nil {
			return err
		}
	}
	// The component, counter and index keys ("1g/", "1m/", "1n/") go in tables of their
	// own: the identity rows ("1l/") sort between them.
	if err := w.close(); err != nil {
		return err
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], g.next)
	if err := w.set([]byte(nextKey), v[:]); err != nil {
		return err
	}
	if err := w.close(); err != nil {
		return err
	}
	order := make([]int32, len(g.names))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(g.names[a], g.names[b]) })
	for _, n := range order {
		binary.BigEndian.PutUint64(v[:], comp[g.find(n)])
		if err := w.set(key(pNode, g.names[n]), v[:]); err != nil {
			return err
		}
	}
	return w.close()
}

// keyIDs collects the distinct identifiers of a table's keys, handed in key order (the
// identifier, then 0x00 and the rest of the key).
type keyIDs []string

func (k *keyIDs) add(rest []byte) {
	id, _, _ := bytes.Cut(rest, []byte{0})
	if n := len(*k); n > 0 && (*k)[n-1] == string(id) {
		return
	}
	*k = append(*k, string(id))
}
