package history

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/progress"
)

// A run whose people do not fit the memory budget is done partition by partition. People
// are split into contiguous ranges (in contact_id order, each a whole number of the output's
// row groups), so that the feature file is the partitions' rows one after the other and
// byte-identical to an unpartitioned run. Identities are stitched first, over the whole
// history (the identity graph is small next to the events); then one pass over the events
// writes each usable event, reduced to 5 to 18 bytes, to its partition's file in a temporary
// directory, while the transactions (about 16 bytes each) go to files of their own; then each
// partition's events are folded into its people's accumulators, its transactions read back
// and sorted, its rows built and written, and its memory released.

// A feature run's events are spilled as two kinds of record. A person record is the byte
// spillPerson then the person's place in its partition (3 bytes, or 4 when a partition holds
// more than 1<<24 people); the event records after it, up to the next person record, are
// that person's. An event record is a byte holding the type code (low four bits), whether a
// page category and a value follow, and the form of the time; the page category (1 byte)
// when the event has one; the time, as 4 bytes of whole seconds or 6 bytes of whole
// microseconds before the run's time base (spillBase) when it is one of those, else as 8
// bytes of nanoseconds; and the value (8 bytes) when there is one. A generated event without
// page or value is 7 bytes (its times are in microseconds), one with whole-second times 5;
// a history in person order, as generated ones are, needs one person record for a run of
// that person's events, where one in time order needs one for nearly every event (a byte
// more an event than when every event record began with the place). The records were a fixed 24 bytes, 15 GB of them at ten million
// people, then 14 or 22 bytes with the place in each, and the system calls writing and
// reading them were a sixth of the processor time of a ten-million-people run (CPU profile;
// docs/operations.md).
const (
	spillHasValue = 0x80
	spillTSForm   = 0x60 // the time's form: one of the three below
	spillTSNanos  = 0x00 // 8 bytes, nanoseconds since 1970
	spillTSSecs   = 0x20 // 4 bytes, whole seconds before the base
	spillTSMicros = 0x40 // 6 bytes, whole microseconds before the base
	spillHasPage  = 0x10
	spillCode     = 0x0f // type codes are below 16 (TestSpillCodesFit)
	spillPerson   = 0x60 // a person record: the time form no event record has, no other bit
)

// recFormat is the layout of a run's spill records.
type recFormat struct {
	tsBase int64 // spillBase of the run's as-of time
	pw     int   // bytes of a person's place: 3 or 4
}

// newRecFormat is the format of a run as of asOf whose largest partition holds most people.
func newRecFormat(asOf int64, most int) recFormat {
	f := recFormat{tsBase: spillBase(asOf), pw: 3}
	if most > 1<<24 {
		f.pw = 4
	}
	return f
}

// spillBase is the time base of a run as of asOf: asOf rounded down to a whole second, so
// that an event at a whole second (or microsecond) before it is a whole number of them
// before the base.
func spillBase(asOf int64) int64 {
	r := asOf % int64(time.Second)
	if r < 0 {
		r += int64(time.Second)
	}
	return asOf - r
}

// place is the person's place in its partition at the start of b (pw bytes).
func (f recFormat) place(b []byte) int {
	q := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if f.pw == 4 {
		q |= int(b[3]) << 24
	}
	return q
}

// eventLen is the length of the event record that starts with flags fl.
func eventLen(fl byte) int {
	n := 1 + tsLen(fl)
	if fl&spillHasPage != 0 {
		n++
	}
	if fl&spillHasValue != 0 {
		n += 8
	}
	return n
}

// tsLen is the length of the time of a record with flags fl.
func tsLen(fl byte) int {
	switch fl & spillTSForm {
	case spillTSSecs:
		return 4
	case spillTSMicros:
		return 6
	}
	return 8
}

// appendPlace appends place q in pw (3 or 4) bytes.
func appendPlace(b []byte, q uint32, pw int) []byte {
	b = append(b, byte(q), byte(q>>8), byte(q>>16))
	if pw == 4 {
		b = append(b, byte(q>>24))
	}
	return b
}

// appendTime appends a time in size bytes: d, its distance from a base, as whole seconds (4
// bytes) or whole microseconds (6), else the time ts itself in nanoseconds (8).
func appendTime(b []byte, size int, d, ts int64) []byte {
	switch size {
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(d/int64(time.Second)))
	case 6:
		u := uint64(d / int64(time.Microsecond))
		b = binary.LittleEndian.AppendUint32(b, uint32(u))
		return binary.LittleEndian.AppendUint16(b, uint16(u>>32))
	}
	return binary.LittleEndian.AppendUint64(b, uint64(ts))
}

// timeForm is the form of a time ts in a feature run's records, d before the base: seconds,
// microseconds or nanoseconds (spillTSSecs, spillTSMicros, spillTSNanos).
func (f recFormat) timeForm(ts int64) (form byte, d int64) {
	d = f.tsBase - ts
	switch {
	case d < 0:
	case d%int64(time.Second) == 0 && d/int64(time.Second) <= math.MaxUint32:
		return spillTSSecs, d
	case d%int64(time.Microsecond) == 0 && d/int64(time.Microsecond) < 1<<48:
		return spillTSMicros, d
	}
	return spillTSNanos, d
}

// readTime reads the time at the start of b, in the form flags fl name (appendTime's).
func (f recFormat) readTime(b []byte, fl byte) int64 {
	switch fl & spillTSForm {
	case spillTSSecs:
		return f.tsBase - int64(binary.LittleEndian.Uint32(b))*int64(time.Second)
	case spillTSMicros:
		u := uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint16(b[4:]))<<32
		return f.tsBase - int64(u)*int64(time.Microsecond)
	}
	return int64(binary.LittleEndian.Uint64(b))
}

// putPerson appends the person record of place q.
func (f recFormat) putPerson(b []byte, q uint32) []byte {
	return appendPlace(append(b, spillPerson), q, f.pw)
}

// putEvent appends r's event record to b (its person is the last person record's).
func (f recFormat) putEvent(b []byte, r *evRec) []byte {
	form, d := f.timeForm(r.ts)
	fl := r.code&spillCode | form
	if r.page != features.NoPage {
		fl |= spillHasPage
	}
	if !math.IsNaN(r.value) {
		fl |= spillHasValue
	}
	b = append(b, fl)
	if r.page != features.NoPage {
		b = append(b, byte(r.page))
	}
	b = appendTime(b, tsLen(fl), d, r.ts)
	if fl&spillHasValue != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.value))
	}
	return b
}

// fold folds the spill records of b, which starts with a person record, into accs (accs[q]
// is the person at place q of the partition).
func (f recFormat) fold(b []byte, accs []features.EventAcc, asOf int64, halfLife float64) error {
	var acc *features.EventAcc
	for len(b) > 0 {
		fl := b[0]
		if fl&spillTSForm == spillPerson {
			if fl != spillPerson || len(b) < 1+f.pw {
				return errSpillRecord
			}
			q := f.place(b[1:])
			if q >= len(accs) {
				return errSpillRecord
			}
			acc = &accs[q]
			b = b[1+f.pw:]
			continue
		}
		if acc == nil || len(b) < eventLen(fl) {
			return errSpillRecord
		}
		b = b[1:]
		page := features.NoPage
		if fl&spillHasPage != 0 {
			page = int(int8(b[0]))
			b = b[1:]
		}
		ts := f.readTime(b, fl)
		b = b[tsLen(fl):]
		value := math.NaN()
		if fl&spillHasValue != 0 {
			value = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
		acc.Add(features.AgeNanos(asOf, ts), ts, int(fl&spillCode), page, value, halfLife)
	}
	return nil
}

// bytesPerPerson estimates the memory of one person in the partitioned part of a run: the
// accumulator, and room for what else comes with a person. Rows go from the accumulators
// to the file a row group at a time (writeRows), so they take no memory per person.
const bytesPerPerson = int64(unsafe.Sizeof(features.EventAcc{})) + 96

// partitions returns the ranges of people a run with this budget works on: one range when
// everyone fits. used is the memory already taken (the stitched identities and contacts),
// which the budget must also cover; txs is the number of transaction rows, which are held
// with their people's partition (twice over while they are sorted). The people's state is
// given half of what remains, so that the collector, which the command line holds to the
// budget (docs/operations.md), has room to work in.
func (e Engine) partitions(people int, used, txs int64) [][2]int {
	budget := max(e.memory()-used, 0) / 2
	per := bytesPerPerson
	if people > 0 {
		per += txs * 2 * int64(unsafe.Sizeof(txRec{})) / int64(people)
	}
	need := int64(people) * per
	group := e.rowGroup()
	size := people
	if need > budget {
		size = int(budget / per)
		size = max(group, size/group*group)
	}
	if size == 0 {
		return [][2]int{{0, 0}}
	}
	var out [][2]int
	for lo := 0; lo < people; lo += size {
		out = append(out, [2]int{lo, min(people, lo+size)})
	}
	return out
}

// WriteFeatures computes the feature table of dir as of opts.AsOf, as Build does, and writes
// it to out atomically, as WriteParquet does; the file is byte-identical to theirs. When the
// people do not fit e.Memory it works partition by partition, spilling events to a temporary
// directory under e.TmpDir that is removed when it returns, whether it succeeds, fails or
// is cancelled. It returns the table's schema and the run's report.
func (e Engine) WriteFeatures(ctx context.Context, dir string, opts features.Options, out string) (*features.Schema, Report, error) {
	var rep Report
	workers := e.workers()
	early := e.earlyAccs(ctx, dir, opts)
	h, err := openHistory(ctx, dir, opts, &rep, false, workers)
	if err != nil {
		return nil, rep, err
	}
	nP := len(h.pContact)
	var used, txs int64
	if int64(nP)*bytesPerPerson > e.memory()/8 {
		// Measure what stitching left live, and count the transactions, only when it can
		// matter: a full collection, and the transactions files' footers.
		if txs, err = h.rowCount(ctx, h.opts.Mapping.Transactions.File); err != nil {
			return nil, rep, err
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		used = int64(ms.HeapAlloc)
	}
	parts := e.partitions(nP, used, txs)
	rep.Partitions, rep.StitchedBytes = len(parts), used
	if len(parts) == 1 {
		return e.writeAll(ctx, h, early, out, &rep)
	}
	tmp, err := os.MkdirTemp(e.TmpDir, "propensity-spill-")
	if err != nil {
		return nil, rep, fmt.Errorf("features: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	sp, err := newSpill(tmp, parts, nP, h.asOf)
	if err != nil {
		return nil, rep, err
	}
	defer sp.close()
	// The first partition's events are folded as they are read, not spilled: its
	// accumulators are made now and serve every partition after it.
	accs := e.newAccs(parts[0][1] - parts[0][0])
	pr, _, catOf, err := h.eventsWithTransactions(ctx, func(ctx context.Context) error {
		return h.spillEvents(ctx, sp, workers, accs, parts[0][0])
	}, sp.writeTx)
	if err == nil {
		err = sp.flushTx()
	}
	if err != nil {
		return nil, rep, err
	}
	rep.SpillBytes = sp.size()
	if e.afterSpill != nil {
		e.afterSpill(tmp)
	}
	schema := features.SchemaFor(h.opts)
	md := arrowSchema(schema, h.opts).Metadata()
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		fw := newFeatureWriter(w, schema, md, workers, e.rowGroup())
		for k, r := range parts {
			if err := ctx.Err(); err != nil {
				return err
			}
			// One set of accumulators serves every partition (the first is the largest):
			// made afresh for each, they were 2.4 s of clearing new memory on one goroutine
			// per partition at ten million people; reset, they are a fraction of that, on
			// every worker.
			total := sp.sizes[k] // spilled event bytes; none for the first partition
			if total == 0 {
				total = -1
			}
			bar := progress.Start(ctx, fmt.Sprintf("reading partition %d of %d", k+1, len(parts)), total, "bytes")
			var err error
			if k > 0 {
				accs = accs[:r[1]-r[0]]
				e.resetAccs(accs)
				err = sp.fold(k, accs, h.asOf, h.halfLife, bar)
			}
			var txs []txRec
			if err == nil {
				txs, err = sp.transactions(k, r[0], r[1], workers)
			}
			bar.Done()
			if err != nil {
				return err
			}
			sp.release(k)
			if err := e.writeRows(ctx, fw, h, schema, accs, r[0], txs, pr, catOf, r[0], r[1]); err != nil {
				return err
			}
		}
		return fw.close()
	})
	if err != nil {
		return nil, rep, err
	}
	return schema, rep, nil
}

// earlyAccs starts making the accumulators of a run over dir when the contacts rows, which
// bound its people, surely fit e's budget (the test WriteFeatures makes before it measures
// anything): so the run is one partition, and its accumulators are made and reset while the
// identities are stitched. Making them after stitching, half a gigabyte at a million people,
// was a second and a half on one core while the others waited; stitching begins with
// reading the contacts, which is one goroutine's work. The channel is nil otherwise.
func (e Engine) earlyAccs(ctx context.Context, dir string, opts features.Options) <-chan []features.EventAcc {
	n, err := rowCount(ctx, dir, opts.EnsureDefaults().Mapping.Contacts.File)
	if err != nil || n == 0 || n*bytesPerPerson > e.memory()/8 {
		return nil
	}
	ch := make(chan []features.EventAcc, 1)
	go func() { ch <- e.newAccs(int(n)) }()
	return ch
}

// spill holds one file per partition of people; workers append whole buffers under the
// partition's lock.
type spill struct {
	files    []*os.File // events, by partition
	txFiles  []*os.File // transactions, by partition
	mu       []sync.Mutex
	part     []uint16  // person → partition
	txBufs   [][]byte  // transactions not yet written, by partition (one goroutine writes them)
	txChunks [][]int64 // where each chunk of transactions starts, by partition
	txSizes  []int64   // the bytes of transactions written, by partition
	counts   []uint32  // a walk's events by person (writeCounted)

	// A feature run's events are written in blocks (eventBufs), each a worker's records of
	// one partition grouped by their person's place's residue modulo res, so that folding
	// them back needs no hand-over of records between goroutines: the folder of residue r
	// reads the r-th group of every block. blocks[k] holds where partition k's blocks start
	// in its file, ends[k] the end of each block's groups within it (res per block), sizes[k]
	// the file's length.
	res    int
	blocks [][]int64
	ends   [][]uint32
	sizes  []int64

	released sync.WaitGroup // release's removals

	lo   []int     // the first person of each partition
	most int       // the people of the largest partition
	rec  recFormat // the layout of the event records of a feature run (a walk's: walkFormat(rec)) and of the transactions
}

// release removes partition k's files, read back by now, on a goroutine of its own: removing
// the 8.6 GiB of a ten-million-people run's files at its end was 3.8 s with the processors
// idle, and the temporary disk in use falls as the run goes. close waits for the removals.
func (sp *spill) release(k int) {
	f, tf := sp.files[k], sp.txFiles[k]
	sp.files[k], sp.txFiles[k] = nil, nil
	sp.released.Add(1)
	go func() {
		defer sp.released.Done()
		for _, f := range []*os.File{f, tf} {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
}

// newSpill makes the files of a run as of asOf (nanoseconds) over partitions parts of people.
func newSpill(dir string, parts [][2]int, people int, asOf int64) (*spill, error) {
	if len(parts) > math.MaxUint16 {
		return nil, fmt.Errorf("features: memory budget too small: %d partitions", len(parts))
	}
	sp := &spill{files: make([]*os.File, len(parts)), txFiles: make([]*os.File, len(parts)), mu: make([]sync.Mutex, len(parts)),
		part: make([]uint16, people), txBufs: make([][]byte, len(parts)), txChunks: make([][]int64, len(parts)), txSizes: make([]int64, len(parts)),
		blocks: make([][]int64, len(parts)), ends: make([][]uint32, len(parts)), sizes: make([]int64, len(parts))}
	for k, r := range parts {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%05d.events", k)))
		if err != nil {
			sp.close()
			return nil, fmt.Errorf("features: spill file: %w", err)
		}
		sp.files[k] = f
		if f, err = os.Create(filepath.Join(dir, fmt.Sprintf("part-%05d.transactions", k))); err != nil {
			sp.close()
			return nil, fmt.Errorf("features: spill file: %w", err)
		}
		sp.txFiles[k] = f
		for p := r[0]; p < r[1]; p++ {
			sp.part[p] = uint16(k)
		}
		sp.lo = append(sp.lo, r[0])
		sp.most = max(sp.most, r[1]-r[0])
	}
	sp.rec = newRecFormat(asOf, sp.most)
	return sp, nil
}

func (sp *spill) close() {
	sp.released.Wait()
	for _, f := range append(sp.files, sp.txFiles...) {
		if f != nil {
			f.Close()
		}
	}
}

// A transaction's spill record is the person's place in its partition (3 or 4 bytes, as an
// event's), a flags byte, the time (4, 6 or 8 bytes, as an event's), the amount (a zigzag
// varint of cents when it is a whole number of them, read back to the same bits, else its 8
// bytes), then as varints the product and category codes and the quantity: about 16 bytes
// for a generated transaction, where a fixed 36 bytes took 2,122 MiB at ten million
// generated contacts (docs/operations.md). The records are written in chunks of at least
// txChunkBytes, whose starts txChunks keeps, so that workers read a file's chunks in parallel.
const (
	txCents      = 0x01 // the amount is a varint of cents
	txMinSize    = 3 + 1 + 4 + 1 + 3
	txChunkBytes = 1 << 14
)

// putTx appends r's spill record to b; lo is the first person of r's partition.
func (f recFormat) putTx(b []byte, r *txRec, lo int) []byte {
	b = appendPlace(b, uint32(int(r.person)-lo), f.pw)
	fl, d := f.timeForm(r.ts)
	var cents int64
	if a := r.amount; math.Abs(a) < 1e13 { // false for NaN
		cents = int64(math.Round(a * 100))
		if math.Float64bits(float64(cents)/100) == math.Float64bits(a) {
			fl |= txCents
		}
	}
	b = appendTime(append(b, fl), tsLen(fl), d, r.ts)
	if fl&txCents != 0 {
		b = binary.AppendVarint(b, cents)
	} else {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.amount))
	}
	b = binary.AppendUvarint(b, uint64(uint32(r.prod)))
	b = binary.AppendUvarint(b, uint64(uint32(r.key)))
	return binary.AppendVarint(b, r.qty)
}

var errTxRecord = errors.New("corrupt transaction record")

// getTx decodes the transaction record at the start of b into r, returning its length; lo
// is the first person of its partition.
func (f recFormat) getTx(b []byte, r *txRec, lo int) (int, error) {
	h := f.pw + 1
	if len(b) < h {
		return 0, errTxRecord
	}
	fl := b[f.pw]
	if fl&^(spillTSForm|txCents) != 0 || fl&spillTSForm == spillTSForm {
		return 0, errTxRecord
	}
	n := h + tsLen(fl)
	if len(b) < n {
		return 0, errTxRecord
	}
	*r = txRec{person: int32(lo + f.place(b)), ts: f.readTime(b[h:], fl)}
	if fl&txCents != 0 {
		c, k := binary.Varint(b[n:])
		if k <= 0 {
			return 0, errTxRecord
		}
		r.amount, n = float64(c)/100, n+k
	} else {
		if len(b) < n+8 {
			return 0, errTxRecord
		}
		r.amount, n = math.Float64frombits(binary.LittleEndian.Uint64(b[n:])), n+8
	}
	prod, k := binary.Uvarint(b[n:])
	if k <= 0 || prod > math.MaxUint32 {
		return 0, errTxRecord
	}
	n += k
	key, k := binary.Uvarint(b[n:])
	if k <= 0 || key > math.MaxUint32 {
		return 0, errTxRecord
	}
	n += k
	qty, k := binary.Varint(b[n:])
	if k <= 0 {
		return 0, errTxRecord
	}
	r.prod, r.key, r.qty = int32(uint32(prod)), int32(uint32(key)), qty
	return n + k, nil
}

// writeTx appends a transaction to its partition's file, through a buffer; transactions are
// written by one goroutine, in file order, which flushTx ends.
func (sp *spill) writeTx(r *txRec) error {
	k := int(sp.part[r.person])
	b := sp.rec.putTx(sp.txBufs[k], r, sp.lo[k])
	if len(b) >= txChunkBytes {
		if err := sp.writeTxChunk(k, b); err != nil {
			return err
		}
		b = b[:0]
	}
	sp.txBufs[k] = b
	return nil
}

// writeTxChunk appends chunk b to partition k's transactions file.
func (sp *spill) writeTxChunk(k int, b []byte) error {
	sp.txChunks[k] = append(sp.txChunks[k], sp.txSizes[k])
	if _, err := sp.txFiles[k].Write(b); err != nil {
		return fmt.Errorf("features: writing spill file: %w", err)
	}
	sp.txSizes[k] += int64(len(b))
	return nil
}

// size is the bytes the spill files hold.
func (sp *spill) size() int64 {
	var n int64
	for _, f := range append(sp.files, sp.txFiles...) {
		if st, err := f.Stat(); err == nil {
			n += st.Size()
		}
	}
	return n
}

// flushTx writes the transactions writeTx still holds.
func (sp *spill) flushTx() error {
	for k, b := range sp.txBufs {
		if len(b) > 0 {
			if err := sp.writeTxChunk(k, b); err != nil {
				return err
			}
		}
		sp.txBufs[k] = nil
	}
	return nil
}

// transactions reads partition k's transactions (people lo to hi-1) back, sorted by person
// and time as readTransactions sorts them. The file is read twice by workers goroutines, each
// taking one stretch of it: once to count each person's rows, then to put every row in its
// place; then the people's rows are sorted by time, the people shared among the goroutines.
// (Read once into a slice and sorted by sortTransactions on one goroutine, a partition's
// transactions were up to 3 s at ten million people, most of a partition's reading.)
func (sp *spill) transactions(k, lo, hi, workers int) ([]txRec, error) {
	f := sp.txFiles[k]
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("features: reading spill file: %w", err)
	}
	if st.Size() != sp.txSizes[k] {
		return nil, fmt.Errorf("features: reading spill file %s: %d bytes, %d written", f.Name(), st.Size(), sp.txSizes[k])
	}
	chunks, people := sp.txChunks[k], hi-lo
	workers = max(1, min(workers, len(chunks)))
	// pass runs fn on every record of each worker's stretch of chunks, in file order.
	pass := func(fn func(w int, r *txRec) error) error {
		return onEach(workers, func(w int) error {
			var buf []byte
			var r txRec
			first, last := len(chunks)*w/workers, len(chunks)*(w+1)/workers
			for c := first; c < last; {
				// Read up to about a megabyte of whole chunks at a time.
				start, end := chunks[c], st.Size()
				for c++; c < last; c++ {
					if chunks[c]-start >= 1<<20 {
						break
					}
				}
				if c < len(chunks) {
					end = chunks[c]
				}
				buf = slices.Grow(buf[:0], int(end-start))[:end-start]
				if _, err := f.ReadAt(buf, start); err != nil {
					return fmt.Errorf("features: reading spill file: %w", err)
				}
				for b := buf; len(b) > 0; {
					n, err := sp.rec.getTx(b, &r, lo)
					if err == nil && (r.person < int32(lo) || r.person >= int32(hi)) {
						err = fmt.Errorf("person %d outside the partition", r.person)
					}
					if err != nil {
						return fmt.Errorf("features: reading spill file %s near byte %d: %w", f.Name(), end-int64(len(b)), err)
					}
					if err := fn(w, &r); err != nil {
						return err
					}
					b = b[n:]
				}
			}
			return nil
		})
	}
	at := perWorker[int32](workers, people) // each worker's count of a person's rows, then where the next goes
	err = pass(func(w int, r *txRec) error {
		at[w][int(r.person)-lo]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	off := make([]int, people+1)
	next := 0
	for p := range people {
		off[p] = next
		for w := range workers {
			c := at[w][p]
			at[w][p] = int32(next)
			next += int(c)
		}
	}
	off[people] = next
	if next > math.MaxInt32 {
		return nil, fmt.Errorf("features: memory budget too large for one partition: %d transactions", next)
	}
	out := make([]txRec, next)
	err = pass(func(w int, r *txRec) error {
		p := int(r.person) - lo
		out[at[w][p]] = *r
		at[w][p]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = onEach(workers, func(w int) error {
		sortByTime(out, off, people*w/workers, people*(w+1)/workers)
		return nil
	})
	return out, nil
}

// eventBufs holds each worker's event records of each partition, not yet written, in one
// group per residue of their person's place modulo the spill's res: each group starts with a
// person record and holds runs of one person's events (putEvent after putPerson), in the
// order the worker met them. When a worker's groups of a partition reach partBufFull bytes
// they are written as one block (writeBlock). Grouping the records as they are made, rather
// than sorting a written buffer into groups, leaves no pass over the records before they
// are written.
type eventBufs struct {
	sp      *spill
	groups  [][][]byte // [worker][partition*res+residue]
	last    [][]int32  // [worker][partition*res+residue]: the place of the group's person, -1 when empty
	size    [][]int    // [worker][partition]: the bytes in its groups
	scratch [][]byte   // [worker]: a block being written
	ends    [][]uint32 // [worker]: the ends of its groups
	err     error      // the first error of flushAll
	mu      sync.Mutex
}

// newEventBufs sets sp up to spill events of workers goroutines, whose records fold groups by
// their person's residue modulo workers.
func newEventBufs(sp *spill, workers int) *eventBufs {
	sp.res = workers
	n := len(sp.files) * workers
	eb := &eventBufs{sp: sp, groups: perWorker[[]byte](workers, n), last: perWorker[int32](workers, n),
		size: perWorker[int](workers, len(sp.files)), scratch: make([][]byte, workers), ends: make([][]uint32, workers)}
	for _, l := range eb.last {
		for i := range l {
			l[i] = -1
		}
	}
	return eb
}

// put adds worker w's event r, of partition k, writing the partition's block when full.
func (eb *eventBufs) put(w, k int, r *evRec) error {
	sp := eb.sp
	q := int32(int(r.person) - sp.lo[k])
	i := k*sp.res + int(q)%sp.res
	b := eb.groups[w][i]
	n := len(b)
	if eb.last[w][i] != q {
		b = sp.rec.putPerson(b, uint32(q))
		eb.last[w][i] = q
	}
	b = sp.rec.putEvent(b, r)
	eb.groups[w][i] = b
	eb.size[w][k] += len(b) - n
	if eb.size[w][k] >= partBufFull {
		return eb.writeBlock(w, k)
	}
	return nil
}

// writeBlock appends worker w's groups of partition k to its file as one block, notes where
// each group ends, and empties them.
func (eb *eventBufs) writeBlock(w, k int) error {
	sp := eb.sp
	res := sp.res
	groups, last := eb.groups[w][k*res:(k+1)*res], eb.last[w][k*res:(k+1)*res]
	out, ends := eb.scratch[w][:0], eb.ends[w][:0]
	for g, b := range groups {
		out = append(out, b...)
		ends = append(ends, uint32(len(out)))
		groups[g], last[g] = b[:0], -1
	}
	eb.scratch[w], eb.ends[w], eb.size[w][k] = out, ends, 0
	sp.mu[k].Lock()
	defer sp.mu[k].Unlock()
	if _, err := sp.files[k].Write(out); err != nil {
		return fmt.Errorf("features: writing spill file: %w", err)
	}
	sp.blocks[k] = append(sp.blocks[k], sp.sizes[k])
	sp.ends[k] = append(sp.ends[k], ends...)
	sp.sizes[k] += int64(len(out))
	return nil
}

// flushAll writes what worker w still holds; the first error is kept in eb.err.
func (eb *eventBufs) flushAll(w int) {
	for k, n := range eb.size[w] {
		if n == 0 {
			continue
		}
		if err := eb.writeBlock(w, k); err != nil {
			eb.mu.Lock()
			if eb.err == nil {
				eb.err = err
			}
			eb.mu.Unlock()
		}
	}
	eb.groups[w], eb.scratch[w] = nil, nil
}

// errSpillRecord reports a spill file that does not hold what was written to it.
var errSpillRecord = errors.New("record cut short or of a person outside the partition")

// fold reads partition k's events into accs (accs[q] is the person at place q of the
// partition) on sp.res goroutines, the r-th reading the r-th group of every block: the events
// of the people whose place is r modulo sp.res, so no two goroutines share a person. (One goroutine reading the
// file for all, and handing each folder its people's events, was the slowest part of a
// partition at ten million people: every record decoded, copied and handed over on one core.)
func (sp *spill) fold(k int, accs []features.EventAcc, asOf int64, halfLife float64, bar progress.Bar) error {
	res, f := sp.res, sp.files[k]
	blocks, ends := sp.blocks[k], sp.ends[k]
	return onEach(res, func(r int) error {
		var buf []byte
		for i, off := range blocks {
			var lo uint32
			if r > 0 {
				lo = ends[i*res+r-1]
			}
			hi := ends[i*res+r]
			if hi == lo {
				continue
			}
			buf = slices.Grow(buf[:0], int(hi-lo))[:hi-lo]
			if _, err := f.ReadAt(buf, off+int64(lo)); err != nil {
				return fmt.Errorf("features: reading spill file: %w", err)
			}
			if err := sp.rec.fold(buf, accs, asOf, halfLife); err != nil {
				return fmt.Errorf("features: reading spill file %s: %w", f.Name(), err)
			}
			bar.Add(int64(hi - lo))
		}
		return nil
	})
}

// rowCount is the number of rows of history file name, from its part files' metadata; 0 when
// it is missing. Errors are left to the pass that reads the file.
func (h *history) rowCount(ctx context.Context, name string) (int64, error) {
	return rowCount(ctx, h.dir, name)
}

// rowCount is history.rowCount for the history directory dir.
func rowCount(ctx context.Context, dir, name string) (int64, error) {
	parts, ok, err := partFiles(filepath.Join(dir, name))
	if err != nil || !ok {
		return 0, nil
	}
	var n int64
	for _, part := range parts {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		p, err := openParquet(part, nil)
		if err != nil {
			return 0, nil
		}
		n += p.pf.NumRows()
		p.Close()
	}
	return n, nil
}
