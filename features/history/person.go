package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/internal/table"
)

// ForEachPerson calls fn, in contact_id order, for every stitched person of the history
// directory dir with their raw history: the events (of any time) and transactions of every
// identifier linked to them. Unlike Build, it holds people's events: those of as many people
// as the default memory budget allows at a time, the rest spilled to disk (Engine.ForEachPerson).
// fn's Person, and its Events and Transactions slices, are valid only during the call (they
// are reused for the next person); its Attributes map is the person's own. An error from fn
// stops the walk and is returned.
func ForEachPerson(ctx context.Context, dir string, opts features.Options, fn func(*Person) error) (Report, error) {
	return Engine{}.ForEachPerson(ctx, dir, opts, fn)
}

// ForEachPerson is the package's ForEachPerson within e's budget, on e.Workers goroutines
// for reading. When the people's events do not fit the budget, they are walked partition by
// partition (contiguous ranges of people), their events and transactions spilled to a
// temporary directory under e.TmpDir that is removed when the walk ends, whether it
// succeeds, fails or is cancelled. The people, and each person's events, come in the same
// order either way.
func (e Engine) ForEachPerson(ctx context.Context, dir string, opts features.Options, fn func(*Person) error) (Report, error) {
	var buf personBuf
	var bar progress.Bar
	defer func() {
		if bar != nil {
			bar.Done()
		}
	}()
	return e.walk(ctx, dir, opts, 0, nil, func(src *people, lo, hi int) error {
		if bar == nil {
			bar = progress.Start(ctx, "walking people", int64(src.n), "people")
		}
		for p := lo; p < hi; p++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(src.fill(p, &buf)); err != nil {
				return err
			}
			bar.Add(1)
		}
		return nil
	})
}

// MapPersons is ForEachPerson with fn run concurrently by up to workers goroutines (0 means
// GOMAXPROCS): fn maps each person to a result, and emit receives the results one at a
// time, in contact_id order, from a single goroutine. fn must be safe for concurrent use; its
// Person is valid only during the call. emit runs while fn maps later people, so the two
// must not share state without synchronising it. The first error from fn or emit stops the
// walk and is returned (an error from fn of an earlier person wins over a later one).
func MapPersons[R any](ctx context.Context, dir string, opts features.Options, workers int, fn func(*Person) (R, error), emit func(R) error) (Report, error) {
	return MapPersonsWithin(ctx, Engine{Workers: workers}, dir, opts, fn, emit)
}

// MapPersonsWithin is MapPersons within e's memory budget and on e.Workers goroutines, as
// Engine.ForEachPerson walks people.
func MapPersonsWithin[R any](ctx context.Context, e Engine, dir string, opts features.Options, fn func(*Person) (R, error), emit func(R) error) (Report, error) {
	return mapWalk(ctx, e, dir, opts, 0, nil, func(_, _ int, p *Person) (R, error) { return fn(p) }, emit)
}

// mapWalk is MapPersonsWithin with room for what a caller holds beside the people, so that
// MapPersonsWithFeatures walks people with the same code: held is the caller's memory for
// each person of a partition, counted in the walk's budget; load, when not nil, is called
// with each partition (people lo to hi-1 of src) before any of its people is visited, while
// the partition's events are read (so it may read src.h, not the events); and
// fn receives, with the person, the worker running it (0 to e.workers()-1) and the person's
// number.
func mapWalk[R any](ctx context.Context, e Engine, dir string, opts features.Options, held int64,
	load func(src *people, lo, hi int) error, fn func(w, p int, person *Person) (R, error), emit func(R) error) (Report, error) {
	workers := e.workers()
	chunk := 512
	if e.mapChunk > 0 {
		chunk = e.mapChunk
	}
	var bar progress.Bar
	defer func() {
		if bar != nil {
			bar.Done()
		}
	}()
	bufs := make([]personBuf, workers)
	// Two chunks' results: the people of one chunk are mapped while the results of the one
	// before are emitted, on a goroutine of their own. Emitted by the walk between chunks,
	// with the workers waiting, the results of a 1M batch score on two cores (appending its
	// rows and writing them to Parquet) left 4.5-5.8 core-seconds idle in a run, against
	// 3.1-4.0 now (docs/operations.md).
	type results struct {
		res  []R
		errs []error
		n    int
	}
	var slots [2]results
	for i := range slots {
		slots[i] = results{res: make([]R, chunk), errs: make([]error, chunk)}
	}
	emitAll := func(r *results) error {
		for i := range r.n {
			if r.errs[i] != nil {
				return r.errs[i]
			}
			if err := emit(r.res[i]); err != nil {
				return err
			}
			var zero R
			r.res[i] = zero
		}
		return nil
	}
	emitting := make(chan error, 1)
	pending := false
	// wait waits for the chunk being emitted, if any: before its slot is mapped into again,
	// and before the walk returns (emit is the caller's, and must be done by then).
	wait := func() error {
		if !pending {
			return nil
		}
		pending = false
		return <-emitting
	}
	k := 0 // chunks mapped
	rep, err := e.walk(ctx, dir, opts, held, load, func(src *people, from, to int) error {
		if bar == nil {
			bar = progress.Start(ctx, "walking people", int64(src.n), "people")
		}
		for lo := from; lo < to; lo += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			hi := min(lo+chunk, to)
			r := &slots[k%2]
			k++
			r.n = hi - lo
			var next atomic.Int64
			next.Store(int64(lo))
			var wg sync.WaitGroup
			for w := range min(workers, hi-lo) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						p := int(next.Add(1) - 1)
						if p >= hi {
							return
						}
						r.res[p-lo], r.errs[p-lo] = fn(w, p, src.fill(p, &bufs[w]))
					}
				}()
			}
			wg.Wait()
			if err := wait(); err != nil {
				return err
			}
			pending = true
			go func() { emitting <- emitAll(r) }()
			bar.Add(int64(hi - lo))
		}
		// The partition's memory is released when this returns.
		return wait()
	})
	if werr := wait(); err == nil {
		err = werr
	}
	return rep, err
}

// rawEvent is one attributed event. Its type, page, channel and campaign are codes of
// people.names[worker]; its anonymous id and email are identifier codes (people.idStr).
// The worker byte sits in what would be padding: the struct is 48 bytes either way.
type rawEvent struct {
	ts                                            int64
	value                                         float64
	person                                        int32
	typ, page, channel, campaign, anonymous, mail int32
	worker                                        uint8
}

// people is the read-only result of reading a history, or one partition of its people, for
// the walks over people: the people's events (sorted by person, in file order within one)
// and transactions. Offsets are of person p-base.
type people struct {
	h      *history
	n      int        // people of the history
	names  [][]string // string codes of rawEvent, per worker
	base   int        // first person held
	blocks []*evBlock // whole history: events in file order
	evPos  []uint32   // whole history: event positions sorted by person: person p's are evPos[evOff[p]:evOff[p+1]]
	evs    []rawEvent // a partition: its events sorted by person
	evOff  []int
	txs    []txRec
	txOff  []int
	keys   *features.Products
	prods  *features.Products
	nAttrs int
}

// idStr is the string of an identifier code of a rawEvent read by worker w: an identifier
// node plus one when positive, minus a code of names[w] when negative (an identifier the
// stitching did not keep: with StrictIdentity, one seen only in links after the as-of time),
// none when zero. Every other identifier of an attributed event is a node of the identifier
// table already, so the events do not keep a second copy of ten million ids.
func (src *people) idStr(w uint8, c int32) string {
	switch {
	case c > 0:
		return src.h.ids.key(c - 1)
	case c < 0:
		return src.names[w][-c]
	}
	return ""
}

// eventBlock is the most events in one block; an event's position is its block number times
// eventBlock plus its index in the block.
const eventBlock = 1 << 15

// evBlock holds events of one row group (job) of the events file in file order.
type evBlock struct {
	job  int
	left int64 // rows of the job not read before this block (sizes the next one)
	recs []rawEvent
}

// scanEvents reads every attributed event (of any time) that h.opts.KeepEvent keeps, in
// parallel over row groups: emit(w, job, e, left) runs on worker w for each, in file order
// within the row group job, with left the rows of the decoded batch from e's on; done(w)
// when worker w has no more row groups.
func (src *people) scanEvents(ctx context.Context, emit func(w int, job rgJob, e *rawEvent, left int) error, done func(w int)) error {
	h := src.h
	workers := min(h.workers, math.MaxUint8+1) // rawEvent.worker is a byte
	// Event strings repeat (a few types, pages, channels and campaigns): coding them saves
	// an allocation per string per event. Each worker has its own table, and a map per
	// column: those of the few types, pages, channels and campaigns stay in the cache.
	codes := make([][6]map[string]int32, workers)
	src.names = make([][]string, workers)
	events, unattributed := make([]int64, workers), make([]int64, workers)
	spans := make([]tsSpan, workers)
	for w := range workers {
		spans[w] = newSpan()
		for c := range codes[w] {
			codes[w][c] = map[string]int32{}
		}
		src.names[w] = []string{""}
	}
	// With a KeepEvent filter, each worker remembers its answers by (type, page) code pair.
	keep := h.opts.KeepEvent
	keeps := make([]map[uint64]bool, workers)
	for w := range keeps {
		keeps[w] = map[uint64]bool{}
	}
	warmers := make([]padded[warmer], workers)
	specs := h.eventSpecs()
	err := h.scanRowGroups(ctx, h.opts.Mapping.Events.File, specs, specs, workers,
		func(w int, job rgJob, st *fileStats, v []vec, n int) error {
			events[w] += int64(n)
			cm, names := &codes[w], src.names[w]
			// Values repeat from one row to the next (a person's events are often
			// together): each column first compares with its previous value.
			var lastCode [6]int32
			newCode := func(col int, b []byte) int32 {
				c, ok := cm[col][string(b)] // no allocation for the lookup
				if !ok {
					c = int32(len(names))
					s := string(b)
					cm[col][s] = c
					names = append(names, s)
				}
				return c
			}
			code := func(col int, b []byte) int32 {
				if len(b) == 0 {
					return 0
				}
				if c := lastCode[col]; c != 0 && names[c] == string(b) { // no allocation
					return c
				}
				c := newCode(col, b)
				lastCode[col] = c
				return c
			}
			idCode := func(col int, b []byte) int32 {
				if len(b) == 0 {
					return 0
				}
				c := lastCode[col]
				if c > 0 && h.ids.key(c-1) == string(b) || c < 0 && names[-c] == string(b) {
					return c
				}
				if nd, ok := h.ids.lookup(b); ok {
					c = nd + 1
				} else {
					c = -newCode(col, b)
				}
				lastCode[col] = c
				return c
			}
			kept := keeps[w]
			lastPair, lastKeep := uint64(math.MaxUint64), false
			var last lastPerson
			var e rawEvent
			for i := range n {
				if i%warmWindow == 0 {
					h.warmEvents(&warmers[w].v, v, i, n)
				}
				p, ok := h.eventPerson(v, i, st, &last)
				if !ok {
					continue
				}
				if p < 0 {
					unattributed[w]++
					continue
				}
				typ, page := code(0, v[4].str[i]), code(1, str(&v[5], i))
				if keep != nil {
					pair := uint64(uint32(typ))<<32 | uint64(uint32(page))
					if pair != lastPair {
						k, ok := kept[pair]
						if !ok {
							k = keep(names[typ], names[page])
							kept[pair] = k
						}
						lastPair, lastKeep = pair, k
					}
					if !lastKeep {
						continue
					}
				}
				spans[w].add(v[3].i64[i])
				e = rawEvent{ts: v[3].i64[i], value: math.NaN(), person: p, typ: typ, page: page,
					channel: code(2, str(&v[7], i)), campaign: code(3, str(&v[8], i)),
					anonymous: idCode(4, str(&v[1], i)), mail: idCode(5, str(&v[2], i)), worker: uint8(w)}
				if v[6].f64 != nil && v[6].valid[i] {
					e.value = v[6].f64[i]
				}
				if err := emit(w, job, &e, n-i); err != nil {
					src.names[w] = names
					return err
				}
			}
			src.names[w] = names
			return nil
		}, done)
	if err != nil {
		return err
	}
	for w := range workers {
		h.rep.Events += events[w]
		h.rep.Unattributed += unattributed[w]
		h.rep.span(spans[w].lo, spans[w].hi)
	}
	return nil
}

// loadEvents reads the events with scanEvents into blocks, then sorts their positions by
// person, stably: each person's events stay in file order. Positions, not records, are
// sorted: half the memory of a sorted copy.
func (src *people) loadEvents(ctx context.Context) error {
	h := src.h
	own := make([][]*evBlock, min(h.workers, math.MaxUint8+1))
	err := src.scanEvents(ctx, func(w int, job rgJob, e *rawEvent, left int) error {
		var blk *evBlock
		if k := len(own[w]); k > 0 && own[w][k-1].job == job.idx {
			blk = own[w][k-1]
		}
		// Blocks of at most eventBlock events, sized from the row group's row count:
		// growing slices would copy (and fault in) the events over and over.
		if blk == nil || len(blk.recs) == cap(blk.recs) {
			rows := job.rows
			if blk != nil { // the job's previous block is full
				rows = blk.left - int64(len(blk.recs))
			}
			size := int(min(eventBlock, max(rows, int64(left))))
			blk = &evBlock{job: job.idx, left: rows, recs: make([]rawEvent, 0, size)}
			own[w] = append(own[w], blk)
		}
		blk.recs = append(blk.recs, *e)
		return nil
	}, func(int) {})
	if err != nil {
		return err
	}
	var blocks []*evBlock
	for _, b := range own {
		blocks = append(blocks, b...)
	}
	// A job is read by one worker, in order: sorting stably by job restores file order.
	slices.SortStableFunc(blocks, func(a, b *evBlock) int { return cmp.Compare(a.job, b.job) })
	if len(blocks) > math.MaxUint32/eventBlock {
		return fmt.Errorf("features: %s: too many events for one walk over people (%d blocks of %d)",
			h.opts.Mapping.Events.File, len(blocks), eventBlock)
	}
	src.evOff = make([]int, src.n+1)
	total := 0
	for _, b := range blocks {
		total += len(b.recs)
		for _, e := range b.recs {
			src.evOff[e.person+1]++
		}
	}
	for p := range src.n {
		src.evOff[p+1] += src.evOff[p]
	}
	src.evPos = make([]uint32, total)
	at := slices.Clone(src.evOff[:src.n])
	for k, b := range blocks {
		for j, e := range b.recs {
			src.evPos[at[e.person]] = uint32(k*eventBlock + j)
			at[e.person]++
		}
	}
	src.blocks = blocks
	return nil
}

// personBuf is the reusable storage of one walker.
type personBuf struct {
	person Person
	events []features.Event
	txs    []features.Transaction
}

// loadAll reads the whole history into src: every person's events and transactions.
func (src *people) loadAll(ctx context.Context) (err error) {
	if err := src.loadEvents(ctx); err != nil {
		return err
	}
	src.keys, src.prods = features.NewProducts(), features.NewProducts()
	if src.txs, err = src.h.readTransactions(ctx, src.keys, src.prods); err != nil {
		return err
	}
	src.txOff = txOffsets(src.txs, 0, src.n)
	return nil
}

// txOffsets returns the offsets in txs (sorted by person) of people lo to hi-1.
func txOffsets(txs []txRec, lo, hi int) []int {
	off := make([]int, hi-lo+1)
	for _, x := range txs {
		off[int(x.person)-lo+1]++
	}
	for p := range hi - lo {
		off[p+1] += off[p]
	}
	return off
}

// event is the event of e in the walk's terms.
func (src *people) event(e *rawEvent) features.Event {
	n := src.names[e.worker]
	return features.Event{TS: time.Unix(0, e.ts).UTC(), Type: n[e.typ], Page: n[e.page], Channel: n[e.channel],
		Campaign: n[e.campaign], AnonymousID: src.idStr(e.worker, e.anonymous), Email: src.idStr(e.worker, e.mail), Value: e.value}
}

// fill returns person p, built in b. Safe for concurrent use with distinct b.
func (src *people) fill(p int, b *personBuf) *Person {
	h := src.h
	c := h.pContact[p]
	cm := h.opts.Mapping.Contacts
	attrs := make(map[string]any, src.nAttrs)
	if h.cCreated[c] != features.NoTS {
		attrs[cm.CreatedAt] = time.Unix(0, h.cCreated[c]).UTC()
	}
	if s := h.cStage.at(c); s != "" {
		attrs[cm.Stage] = s
	}
	if h.cStageSince[c] != features.NoTS {
		attrs[cm.StageSince] = time.Unix(0, h.cStageSince[c]).UTC()
	}
	if e := h.email(c); e != "" {
		attrs[cm.Email] = e // for scorecard conditions such as email matches "@gmail"
	}
	for a, at := range h.opts.Attributes {
		if at.Categorical {
			if _, s := h.attr(a, c); s != "" {
				attrs[at.Name] = s
			}
		} else if x, _ := h.attr(a, c); !math.IsNaN(x) {
			attrs[at.Name] = x
		}
	}
	// Sized at once: growing by appends would copy a person with millions of events
	// several times over and leave the copies for the collector.
	lo, hi := src.evOff[p-src.base], src.evOff[p-src.base+1]
	b.events = slices.Grow(b.events[:0], hi-lo)
	if src.evs != nil {
		for i := range src.evs[lo:hi] {
			b.events = append(b.events, src.event(&src.evs[lo+i]))
		}
	} else {
		for _, pos := range src.evPos[lo:hi] {
			b.events = append(b.events, src.event(&src.blocks[pos/eventBlock].recs[pos%eventBlock]))
		}
	}
	lo, hi = src.txOff[p-src.base], src.txOff[p-src.base+1]
	b.txs = slices.Grow(b.txs[:0], hi-lo)
	for _, x := range src.txs[lo:hi] {
		prod, cat := "", ""
		if x.prod >= 0 {
			prod = src.prods.Names[x.prod]
		}
		if x.key >= 0 {
			cat = src.keys.Names[x.key]
		}
		if cat == prod {
			cat = ""
		}
		b.txs = append(b.txs, features.Transaction{TS: time.Unix(0, x.ts).UTC(), Amount: x.amount, Product: prod, Category: cat, Quantity: x.qty})
	}
	var events []features.Event
	if len(b.events) > 0 {
		events = b.events
	}
	var txs []features.Transaction
	if len(b.txs) > 0 {
		txs = b.txs
	}
	b.person = Person{ContactID: h.cid(c), MergedIDs: h.mergedIDs(p), Attributes: attrs, Events: events, Transactions: txs}
	return &b.person
}

// ReadTransactions reads a transactions file — Parquet (a file or a directory of part files),
// or CSV when the name ends in .csv (comma, semicolon or tab separated, with a header) — with
// the columns named by m (empty names: docs/contract.md §1 defaults). Rows without a customer, time or
// finite amount are counted in the report, not returned. Integer customer ids are read as
// strings; a date column gives midnight UTC.
func ReadTransactions(path string, m features.TransactionColumns) ([]CustomerTransaction, Report, error) {
	m = features.Mapping{Transactions: m}.WithDefaults().Transactions
	var rep Report
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		return readTransactionsCSV(path, m)
	}
	h := &history{dir: filepath.Dir(path), rep: &rep}
	specs := transactionSpecs(m)
	var out []CustomerTransaction
	err := h.scan(context.Background(), filepath.Base(path), true, nil, specs, func(p *pqFile, st *fileStats, v []vec, n int) error {
		rep.Transactions += int64(n)
		for i := range n {
			id := str(&v[0], i)
			switch {
			case len(id) == 0:
				st.bad("null " + m.ContactID)
				continue
			case !v[1].valid[i]:
				st.bad("null " + m.TS)
				continue
			case !v[2].valid[i] || math.IsNaN(v[2].f64[i]) || math.IsInf(v[2].f64[i], 0):
				st.bad("null or NaN " + m.Amount)
				continue
			}
			t := CustomerTransaction{Customer: string(id), TS: time.Unix(0, v[1].i64[i]).UTC(), Amount: v[2].f64[i], Product: string(str(&v[3], i)), Category: string(str(&v[5], i))}
			if v[4].i64 != nil && v[4].valid[i] {
				t.Quantity = v[4].i64[i]
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	return out, rep, nil
}

func readTransactionsCSV(path string, m features.TransactionColumns) ([]CustomerTransaction, Report, error) {
	var rep Report
	r, err := table.OpenCSV(path, 0) // the one sniffer: delimiter, quotes, byte-order mark
	if err != nil {
		return nil, rep, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer r.Close()
	col := map[string]int{}
	for i, h := range r.Header {
		col[h] = i
	}
	idx := func(name string, required bool) (int, error) {
		i, ok := col[name]
		if !ok && required {
			return -1, &ColumnError{File: path, Column: name, Expected: "a CSV column", Err: ErrMissingColumn}
		}
		if !ok {
			return -1, nil
		}
		return i, nil
	}
	ci, err1 := idx(m.ContactID, true)
	ti, err2 := idx(m.TS, true)
	ai, err3 := idx(m.Amount, true)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, rep, err
	}
	pi, _ := idx(m.Product, false)
	ki, _ := idx(m.Category, false)
	qi, _ := idx(m.Quantity, false)
	st := &fileStats{FileReport{File: path}}
	var out []CustomerTransaction
	get := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	for {
		rec, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, rep, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
		}
		st.Rows++
		id := get(rec, ci)
		if id == "" {
			st.bad("null " + m.ContactID)
			continue
		}
		ts, err := parseCSVTime(get(rec, ti))
		if err != nil {
			st.bad("bad " + m.TS)
			continue
		}
		if !features.TimeInRange(ts) {
			st.bad("out-of-range " + m.TS)
			continue
		}
		a, err := strconv.ParseFloat(get(rec, ai), 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange), math.IsNaN(a):
			st.bad("null or NaN " + m.Amount)
			continue
		case features.CheckAmount(a) != nil:
			st.bad("non-finite or out-of-range " + m.Amount)
			continue
		}
		t := CustomerTransaction{Customer: id, TS: ts, Amount: a, Product: get(rec, pi), Category: get(rec, ki)}
		if bad := firstNonUTF8(rec, [3]int{ci, pi, ki}, [3]string{m.ContactID, m.Product, m.Category}); bad != "" {
			st.bad("non-UTF-8 " + bad)
			continue
		}
		if q, err := strconv.ParseInt(get(rec, qi), 10, 64); err == nil {
			t.Quantity = q
		}
		out = append(out, t)
	}
	rep.Transactions = st.Rows
	rep.Files = append(rep.Files, st.FileReport)
	for _, n := range st.Bad {
		rep.BadRows += n
	}
	return out, rep, nil
}

// firstNonUTF8 returns the name of the first of the fields at idx (-1: absent) of rec that
// is not UTF-8, or "".
func firstNonUTF8(rec []string, idx [3]int, names [3]string) string {
	for k, i := range idx {
		if i >= 0 && i < len(rec) && !utf8.ValidString(rec[i]) {
			return names[k]
		}
	}
	return ""
}

// parseCSVTime accepts RFC 3339, YYYY-MM-DD, "YYYY-MM-DD HH:MM:SS" and YYYYMMDD (CDNOW).
func parseCSVTime(s string) (time.Time, error) {
	if t, err := features.ParseTime(s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}
