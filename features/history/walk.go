package history

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"github.com/propensity-dev/propensity/features"
)

// The walks over people (ForEachPerson, MapPersons) hand out each person with every event
// they have, so they hold events, not fixed-size accumulators: 48 bytes an event. When the
// history's events do not fit the budget, the walk is done partition by partition, as a
// feature run is: identities are stitched whole, one pass over the events writes each kept
// event to its partition's file (a record of 12 to 58 bytes), the transactions go to
// files of their own, and then each partition in turn is read back into memory, walked,
// and released. Partitions are contiguous ranges of people, so the people come in
// contact_id order either way, and each person's events in file order.

// walkEventBytes is the memory of one held event while its partition is loaded: the
// rawEvent and the row group number it is sorted by.
const walkEventBytes = int64(unsafe.Sizeof(rawEvent{})) + 4

// maxWalkParts is the most partitions of a walk (two open files each): a budget too small
// for the people gets partitions of this many, whatever they take.
const maxWalkParts = 4096

// walkPersonBytes is the memory of one person in a partition apart from their events and
// transactions: event and transaction offsets.
const walkPersonBytes = 16

// walk stitches dir and calls visit with the people in turn: all of them at once (lo 0, hi
// the number of people) when their events fit e's budget, else partition by partition.
// src holds people lo to hi-1 during the call. held is the memory the caller holds for each
// person of a partition while it is visited (a feature row, for MapPersonsWithFeatures),
// counted in the budget with the people's events. prep, when not nil, is called with each
// partition before visit, on a goroutine of its own while the partition's events and
// transactions are read: it may read src's stitched history (src.h), not its events.
func (e Engine) walk(ctx context.Context, dir string, opts features.Options, held int64,
	prep, visit func(src *people, lo, hi int) error) (Report, error) {
	var rep Report
	h, err := openHistory(ctx, dir, opts, &rep, true, e.workers())
	if err != nil {
		return rep, err
	}
	src := &people{h: h, n: len(h.pContact), nAttrs: 4 + len(h.opts.Attributes)}
	parts, used, err := e.walkPartitions(ctx, h, held)
	if err != nil {
		return rep, err
	}
	rep.Partitions, rep.StitchedBytes = len(parts), used
	// prep runs beside the reading of a partition, which is mostly on one goroutine:
	// reading the feature rows of a score with models after the events, not beside them,
	// was 54 s of 1,230 at ten million people, with a core idle.
	beside := func(lo, hi int, read func() error) error {
		if prep == nil {
			return read()
		}
		done := make(chan error, 1)
		go func() { done <- prep(src, lo, hi) }()
		err := read()
		if perr := <-done; err == nil {
			err = perr
		}
		return err
	}
	if len(parts) == 1 {
		if err := beside(0, src.n, func() error { return src.loadAll(ctx) }); err != nil {
			return rep, err
		}
		return rep, visit(src, 0, src.n)
	}
	tmp, err := os.MkdirTemp(e.TmpDir, "propensity-spill-")
	if err != nil {
		return rep, fmt.Errorf("features: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	sp, err := newSpill(tmp, parts, src.n, h.asOf)
	if err != nil {
		return rep, err
	}
	defer sp.close()
	sp.counts = make([]uint32, src.n)
	// The transactions are read while the events are spilled: read after them, on one
	// goroutine, they left a core idle (docs/operations.md).
	src.keys, src.prods = features.NewProducts(), features.NewProducts()
	err = h.besideEvents(ctx, func(ctx context.Context) error { return src.spillEvents(ctx, sp) },
		func(ctx context.Context, th *history) error {
			return th.scanTransactions(ctx, src.keys, src.prods, sp.writeTx)
		})
	if err == nil {
		err = sp.flushTx()
	}
	if err != nil {
		return rep, err
	}
	rep.SpillBytes = sp.size()
	if e.afterSpill != nil {
		e.afterSpill(tmp)
	}
	// One table of events for every partition, as large as the largest one's, out of the
	// Go heap (offHeap): made on the heap for each partition, the first was cleared by one
	// goroutine before any was read into it.
	most := 0
	for _, r := range parts {
		n := 0
		for _, c := range sp.counts[r[0]:r[1]] {
			n += int(c)
		}
		most = max(most, n)
	}
	evs, freeEvs := offHeap[rawEvent](most, e.mapBytes)
	jobs, freeJobs := offHeap[uint32](most, e.mapBytes)
	defer func() {
		src.evs = nil
		freeEvs()
		freeJobs()
	}()
	for k, r := range parts {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		err := beside(r[0], r[1], func() error {
			if err := src.loadPartition(sp, k, r[0], r[1], evs, jobs); err != nil {
				return err
			}
			var err error
			src.txs, err = sp.transactions(k, r[0], r[1], src.h.workers)
			return err
		})
		if err != nil {
			return rep, err
		}
		sp.release(k)
		src.txOff = txOffsets(src.txs, r[0], r[1])
		if err := visit(src, r[0], r[1]); err != nil {
			return rep, err
		}
		src.evs, src.evOff, src.txs, src.txOff = nil, nil, nil, nil
	}
	return rep, nil
}

// walkPartitions returns the ranges of people a walk over h works on within e's budget,
// and the memory stitching left in use (0 when not measured). The people's events and
// transactions are estimated from the files' row counts (every event kept, so a KeepEvent
// filter makes them smaller than this), plus held bytes for each person that the caller
// keeps beside them; they may take half of what stitching leaves of the budget, the other
// half being room for the collector: scoring people makes garbage fast.
func (e Engine) walkPartitions(ctx context.Context, h *history, held int64) ([][2]int, int64, error) {
	nP := len(h.pContact)
	evs, err := h.rowCount(ctx, h.opts.Mapping.Events.File)
	if err != nil {
		return nil, 0, err
	}
	txs, err := h.rowCount(ctx, h.opts.Mapping.Transactions.File)
	if err != nil {
		return nil, 0, err
	}
	need := evs*walkEventBytes + txs*2*int64(unsafe.Sizeof(txRec{})) + int64(nP)*(walkPersonBytes+held)
	if nP == 0 || need <= e.memory()/8 {
		return [][2]int{{0, nP}}, 0, nil
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	used := int64(ms.HeapAlloc)
	budget := max(e.memory()-used, 0) / 2
	if need <= budget {
		return [][2]int{{0, nP}}, used, nil
	}
	per := max(1, need/int64(nP))
	size := max(1, int(budget/per), (nP+maxWalkParts-1)/maxWalkParts)
	if e.walkRows > 0 {
		size = e.walkRows
	}
	var out [][2]int
	for lo := 0; lo < nP; lo += size {
		out = append(out, [2]int{lo, min(nP, lo+size)})
	}
	return out, used, nil
}

// A walk's spill record is: its length (one byte, itself included), the person's place in
// its partition (3 bytes, or 4 when a partition holds more than 2^24 people), a flags byte,
// the worker (1), the time (4 bytes of whole seconds or 6 of whole microseconds from the
// run's base time when it is one of those, else 8 bytes of nanoseconds since 1970), then as
// unsigned varints the row group and the type, and the page, channel and campaign codes when
// not empty, as signed varints the anonymous id and email codes when not empty, and the
// value (8 bytes) when there is one. The person and the time took 4 and 8 bytes before: with
// them in full (and transactions of a fixed 36 bytes) the walk of a ten-million-people score
// spilled 6,605 MiB, and 4,804 MiB with these records (docs/operations.md).
const (
	walkPage = 1 << iota
	walkChannel
	walkCampaign
	walkAnonymous
	walkMail
	walkValue
	walkTSForm   = 0xc0 // the time's form: one of the three below
	walkTSNanos  = 0x00
	walkTSSecs   = 0x40
	walkTSMicros = 0x80
)

// walkFormat is the layout of a walk's spill records: the base time and place width of a
// feature run's (recFormat), with times either side of the base.
type walkFormat recFormat

// walkTSLen is the length of the time of a walk record with flags fl.
func walkTSLen(fl byte) int {
	switch fl & walkTSForm {
	case walkTSSecs:
		return 4
	case walkTSMicros:
		return 6
	}
	return 8
}

// minLen is the length of the shortest record: length, place, flags, worker, a time of 4
// bytes, and the row group and type of one byte each.
func (f walkFormat) minLen() int { return 1 + f.pw + 2 + 4 + 2 }

// place is the person's place in its partition of the record that starts b.
func (f walkFormat) place(b []byte) int { return recFormat(f).place(b[1:]) }

// put appends e, read from row group job, to b; lo is the first person of e's partition.
func (f walkFormat) put(b []byte, e *rawEvent, job int, lo int) []byte {
	start := len(b)
	b = appendPlace(append(b, 0), uint32(int(e.person)-lo), f.pw)
	var flags byte
	if e.page != 0 {
		flags |= walkPage
	}
	if e.channel != 0 {
		flags |= walkChannel
	}
	if e.campaign != 0 {
		flags |= walkCampaign
	}
	if e.anonymous != 0 {
		flags |= walkAnonymous
	}
	if e.mail != 0 {
		flags |= walkMail
	}
	if !math.IsNaN(e.value) {
		flags |= walkValue
	}
	// d overflows only for times more than 292 years from the base, which then take 8 bytes.
	d := e.ts - f.tsBase
	overflow := (e.ts >= 0) != (f.tsBase >= 0) && (d >= 0) != (e.ts >= 0)
	switch {
	case overflow:
	case d%int64(time.Second) == 0 && d/int64(time.Second) >= math.MinInt32 && d/int64(time.Second) <= math.MaxInt32:
		flags |= walkTSSecs
	case d%int64(time.Microsecond) == 0 && d/int64(time.Microsecond) >= -1<<47 && d/int64(time.Microsecond) < 1<<47:
		flags |= walkTSMicros
	}
	b = appendTime(append(b, flags, e.worker), walkTSLen(flags), d, e.ts)
	b = binary.AppendUvarint(b, uint64(job))
	b = binary.AppendUvarint(b, uint64(uint32(e.typ)))
	if flags&walkPage != 0 {
		b = binary.AppendUvarint(b, uint64(uint32(e.page)))
	}
	if flags&walkChannel != 0 {
		b = binary.AppendUvarint(b, uint64(uint32(e.channel)))
	}
	if flags&walkCampaign != 0 {
		b = binary.AppendUvarint(b, uint64(uint32(e.campaign)))
	}
	if flags&walkAnonymous != 0 {
		b = binary.AppendVarint(b, int64(e.anonymous))
	}
	if flags&walkMail != 0 {
		b = binary.AppendVarint(b, int64(e.mail))
	}
	if flags&walkValue != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.value))
	}
	b[start] = byte(len(b) - start) // at most 1+4+2+8+5*5+2*5+8 = 58
	return b
}

var errWalkRecord = errors.New("corrupt record")

// length is the length of the record that starts b, when b holds it whole.
func (f walkFormat) length(b []byte) (int, error) {
	if len(b) < f.minLen() || int(b[0]) > len(b) || int(b[0]) < f.minLen() {
		return 0, errWalkRecord
	}
	return int(b[0]), nil
}

// get decodes the record at the start of b into e, returning its row group and length; lo
// is the first person of the record's partition.
func (f walkFormat) get(b []byte, e *rawEvent, lo int) (job uint32, n int, err error) {
	if n, err = f.length(b); err != nil {
		return 0, 0, err
	}
	flags := b[1+f.pw]
	h := 1 + f.pw + 2
	if n < h+walkTSLen(flags)+2 {
		return 0, 0, errWalkRecord
	}
	*e = rawEvent{person: int32(lo + f.place(b)), worker: b[h-1], value: math.NaN()}
	switch flags & walkTSForm {
	case walkTSSecs:
		e.ts = f.tsBase + int64(int32(binary.LittleEndian.Uint32(b[h:])))*int64(time.Second)
	case walkTSMicros:
		u := uint64(binary.LittleEndian.Uint32(b[h:])) | uint64(binary.LittleEndian.Uint16(b[h+4:]))<<32
		e.ts = f.tsBase + (int64(u<<16)>>16)*int64(time.Microsecond)
	case walkTSNanos:
		e.ts = int64(binary.LittleEndian.Uint64(b[h:]))
	default:
		return 0, 0, errWalkRecord
	}
	r := b[h+walkTSLen(flags) : n]
	uv := func() uint64 {
		x, k := binary.Uvarint(r)
		if k <= 0 {
			err = errWalkRecord
			return 0
		}
		r = r[k:]
		return x
	}
	sv := func() int64 {
		x, k := binary.Varint(r)
		if k <= 0 {
			err = errWalkRecord
			return 0
		}
		r = r[k:]
		return x
	}
	job = uint32(uv())
	e.typ = int32(uv())
	if flags&walkPage != 0 {
		e.page = int32(uv())
	}
	if flags&walkChannel != 0 {
		e.channel = int32(uv())
	}
	if flags&walkCampaign != 0 {
		e.campaign = int32(uv())
	}
	if flags&walkAnonymous != 0 {
		e.anonymous = int32(sv())
	}
	if flags&walkMail != 0 {
		e.mail = int32(sv())
	}
	if flags&walkValue != 0 {
		if len(r) < 8 {
			return 0, 0, errWalkRecord
		}
		e.value = math.Float64frombits(binary.LittleEndian.Uint64(r))
		r = r[8:]
	}
	if err == nil && len(r) != 0 {
		err = errWalkRecord
	}
	return job, n, err
}

// spillEvents writes every kept event to its person's partition file, counting each
// person's events in sp.counts.
func (src *people) spillEvents(ctx context.Context, sp *spill) error {
	pb := newPartBufs(min(src.h.workers, math.MaxUint8+1), len(sp.files), sp.writeCounted)
	err := src.scanEvents(ctx, func(w int, job rgJob, e *rawEvent, _ int) error {
		k := int(sp.part[e.person])
		return pb.put(w, k, walkFormat(sp.rec).put(pb.bufs[w][k], e, job.idx, sp.lo[k]))
	}, pb.flush)
	if err != nil {
		return err
	}
	return pb.err
}

// writeCounted appends walk records to partition k's file as one block, counts them by
// person, and notes where the block starts (so that loadPartition can cut the file between
// blocks, which are whole records).
func (sp *spill) writeCounted(_, k int, b []byte) error {
	sp.mu[k].Lock()
	defer sp.mu[k].Unlock()
	lo := sp.lo[k]
	for i := 0; i < len(b); i += int(b[i]) {
		sp.counts[lo+walkFormat(sp.rec).place(b[i:])]++
	}
	if _, err := sp.files[k].Write(b); err != nil {
		return fmt.Errorf("features: writing spill file: %w", err)
	}
	sp.blocks[k] = append(sp.blocks[k], sp.sizes[k])
	sp.sizes[k] += int64(len(b))
	return nil
}

// loadCuts cuts partition k's file into at most n stretches of whole blocks of about equal
// size, for the loaders of loadPartition: their starts, then the file's end.
func (sp *spill) loadCuts(k, n int) []int64 {
	blocks, size := sp.blocks[k], sp.sizes[k]
	cuts := []int64{0}
	for i := 1; i < n; i++ {
		want := size * int64(i) / int64(n)
		j, _ := slices.BinarySearch(blocks, want) // the first block starting at or after want
		if j < len(blocks) && blocks[j] > cuts[len(cuts)-1] {
			cuts = append(cuts, blocks[j])
		}
	}
	return append(cuts, size)
}

// loadPartition reads partition k's events (people lo to hi-1) back into src, sorted by
// person and, within one, in file order. The file is cut into stretches of whole blocks, one
// for each worker (loadCuts): each but the last counts its records by person first, so that
// every stretch knows where its records of each person go (after those of the stretches
// before it), and then all of them read their records into place side by side. Read on
// one goroutine, a partition was the longest stretch of a 1M `score --data` run with a core
// idle (docs/operations.md).
func (src *people) loadPartition(sp *spill, k, lo, hi int, evs []rawEvent, jobs []uint32) error {
	f := sp.files[k]
	if st, err := f.Stat(); err != nil {
		return fmt.Errorf("features: reading spill file: %w", err)
	} else if st.Size() != sp.sizes[k] {
		return fmt.Errorf("features: reading spill file %s: %d bytes, %d written", f.Name(), st.Size(), sp.sizes[k])
	}
	n := hi - lo
	off := make([]int, n+1)
	for p := lo; p < hi; p++ {
		off[p-lo+1] = off[p-lo] + int(sp.counts[p])
	}
	total := off[n]
	if total > len(evs) || total > len(jobs) {
		return fmt.Errorf("features: reading spill file %s: %d events, room for %d", f.Name(), total, min(len(evs), len(jobs)))
	}
	// Every place of evs[:total] and jobs[:total] is written below (the records read are
	// checked against the counts), so what a partition before left there does not matter.
	// The records come in row-group order, so each lands at a random place.
	evs, jobs = evs[:total], jobs[:total]
	bad := func(what string) error {
		return fmt.Errorf("features: reading spill file %s: %s", f.Name(), what)
	}
	cuts := sp.loadCuts(k, src.h.workers)
	loaders := len(cuts) - 1
	// at[w][q]: where stretch w's first record of the person at place q goes; the stretch's
	// records of that person end where the next stretch's begin (the last's: off[q+1]).
	at := make([][]int, loaders)
	at[0] = off[:n]
	counts := make([][]int32, loaders)
	err := onEach(loaders-1, func(w int) error {
		c := make([]int32, n)
		err := scanWalk(f, cuts[w], cuts[w+1], func(b []byte) (int, error) {
			m, err := walkFormat(sp.rec).length(b)
			if err != nil {
				return 0, err
			}
			q := walkFormat(sp.rec).place(b)
			if q >= n {
				return 0, errWalkRecord
			}
			c[q]++
			return m, nil
		})
		counts[w] = c
		return err
	})
	if err != nil {
		return bad(err.Error())
	}
	for w := 1; w < loaders; w++ {
		prev, c := at[w-1], counts[w-1]
		a := make([]int, n)
		for q := range a {
			a[q] = prev[q] + int(c[q])
		}
		at[w], counts[w-1] = a, nil
	}
	reads := make([]int, loaders)
	err = onEach(loaders, func(w int) error {
		a := slices.Clone(at[w]) // at stays as it is: the stretch before this one ends there
		end := off[1:]
		if w+1 < loaders {
			end = at[w+1]
		}
		var e rawEvent
		return scanWalk(f, cuts[w], cuts[w+1], func(b []byte) (int, error) {
			job, m, err := walkFormat(sp.rec).get(b, &e, lo)
			if err != nil {
				return 0, fmt.Errorf("record %d of stretch %d: %w", reads[w], w, err)
			}
			p := int(e.person)
			if p < lo || p >= hi || a[p-lo] == end[p-lo] {
				return 0, fmt.Errorf("record %d of stretch %d: person %d outside the partition or over their count", reads[w], w, p)
			}
			evs[a[p-lo]], jobs[a[p-lo]] = e, job
			a[p-lo]++
			reads[w]++
			return m, nil
		})
	})
	if err != nil {
		return bad(err.Error())
	}
	if read := sumInts(reads); read != total {
		return bad(fmt.Sprintf("%d records, %d counted", read, total))
	}
	// One worker reads a row group and writes its records in order, so a person's records
	// of one row group are in file order; row groups may be interleaved. Sorting each
	// person's events stably by row group restores the file's order.
	var idx []int32
	var tmp []rawEvent
	for q := range hi - lo {
		a, z := off[q], off[q+1]
		if slices.IsSorted(jobs[a:z]) {
			continue
		}
		idx = idx[:0]
		for i := a; i < z; i++ {
			idx = append(idx, int32(i))
		}
		slices.SortStableFunc(idx, func(x, y int32) int { return int(jobs[x]) - int(jobs[y]) })
		tmp = tmp[:0]
		for _, i := range idx {
			tmp = append(tmp, evs[i])
		}
		copy(evs[a:z], tmp)
	}
	src.evs, src.evOff, src.base = evs, off, lo
	return nil
}

// scanWalk hands each walk record of f between from and to (whole records) to fn, which
// returns its length.
func scanWalk(f *os.File, from, to int64, fn func(b []byte) (int, error)) error {
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 1<<20)
	for {
		b, err := r.Peek(64)
		if len(b) == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		n, err := fn(b)
		if err != nil {
			return err
		}
		r.Discard(n)
	}
}

func sumInts(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
