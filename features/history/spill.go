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
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/atomicfile"
)

// A run whose people do not fit the memory budget is done partition by partition. People
// are split into contiguous ranges (in contact_id order, each a whole number of the output's
// row groups), so that the feature file is the partitions' rows one after the other and
// byte-identical to an unpartitioned run. Identities are stitched first, over the whole
// history (the identity graph is small next to the events); then one pass over the events
// writes each usable event, reduced to 14 or 22 bytes, to its partition's file in a temporary
// directory, while the transactions (36 bytes each) go to files of their own; then each
// partition's events are folded into its people's accumulators, its transactions read back
// and sorted, its rows built and written, and its memory released.

// A feature run's spill record is: the person (4 bytes), the time (8), the type code (1; its
// top bit set when a value follows), the page category (1), and the value (8) when there is
// one. Most events have no value: the records were a fixed 24 bytes, 15 GB of them at ten
// million people, and the system calls writing and reading them took an eighth of the
// processor time of that run (CPU profile).
const (
	spillHead     = 4 + 8 + 1 + 1
	spillHasValue = 0x80 // type codes are below it
)

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
	sp, err := newSpill(tmp, parts, nP)
	if err != nil {
		return nil, rep, err
	}
	defer sp.close()
	pr, _, catOf, err := h.eventsWithTransactions(ctx, func(ctx context.Context) error {
		return h.spillEvents(ctx, sp, workers)
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
		var accs []features.EventAcc
		for k, r := range parts {
			if err := ctx.Err(); err != nil {
				return err
			}
			// One set of accumulators serves every partition: made afresh for each, they
			// were 2.4 s of clearing new memory on one goroutine per partition at ten
			// million people; reset, they are a fraction of that, on every worker.
			if cap(accs) < r[1]-r[0] {
				accs = e.newAccs(r[1] - r[0])
			} else {
				accs = accs[:r[1]-r[0]]
				e.resetAccs(accs)
			}
			if err := sp.fold(k, accs, r[0], h.asOf, h.halfLife, workers); err != nil {
				return err
			}
			txs, err := sp.transactions(k, r[0], r[1])
			if err != nil {
				return err
			}
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
	files   []*os.File // events, by partition
	txFiles []*os.File // transactions, by partition
	mu      []sync.Mutex
	part    []uint16 // person → partition
	txBufs  [][]byte // transactions not yet written, by partition (one goroutine writes them)
	counts  []uint32 // a walk's events by person (writeCounted)
}

func newSpill(dir string, parts [][2]int, people int) (*spill, error) {
	if len(parts) > math.MaxUint16 {
		return nil, fmt.Errorf("features: memory budget too small: %d partitions", len(parts))
	}
	sp := &spill{files: make([]*os.File, len(parts)), txFiles: make([]*os.File, len(parts)), mu: make([]sync.Mutex, len(parts)),
		part: make([]uint16, people), txBufs: make([][]byte, len(parts))}
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
	}
	return sp, nil
}

func (sp *spill) close() {
	for _, f := range append(sp.files, sp.txFiles...) {
		if f != nil {
			f.Close()
		}
	}
}

// txRecord is the size of one transaction in a spill file: person, prod, key, ts, amount, qty.
const txRecord = 4 + 4 + 4 + 8 + 8 + 8

// writeTx appends a transaction to its partition's file, through a buffer; transactions are
// written by one goroutine, in file order, which flushTx ends.
func (sp *spill) writeTx(r *txRec) error {
	k := int(sp.part[r.person])
	b := sp.txBufs[k]
	b = binary.LittleEndian.AppendUint32(b, uint32(r.person))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.prod))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.key))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.ts))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.amount))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.qty))
	if len(b) >= 1<<14 {
		if _, err := sp.txFiles[k].Write(b); err != nil {
			return fmt.Errorf("features: writing spill file: %w", err)
		}
		b = b[:0]
	}
	sp.txBufs[k] = b
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
			if _, err := sp.txFiles[k].Write(b); err != nil {
				return fmt.Errorf("features: writing spill file: %w", err)
			}
		}
		sp.txBufs[k] = nil
	}
	return nil
}

// transactions reads partition k's transactions (people lo to hi-1) back, sorted by person
// and time as readTransactions sorts them.
func (sp *spill) transactions(k, lo, hi int) ([]txRec, error) {
	f := sp.txFiles[k]
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("features: reading spill file: %w", err)
	}
	if st.Size()%txRecord != 0 {
		return nil, fmt.Errorf("features: reading spill file %s: %d bytes is not a whole number of records", f.Name(), st.Size())
	}
	recs := make([]txRec, st.Size()/txRecord)
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, st.Size()), 1<<20)
	var b [txRecord]byte
	for i := range recs {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("features: reading spill file: %w", err)
		}
		recs[i] = txRec{person: int32(binary.LittleEndian.Uint32(b[0:])), prod: int32(binary.LittleEndian.Uint32(b[4:])),
			key: int32(binary.LittleEndian.Uint32(b[8:])), ts: int64(binary.LittleEndian.Uint64(b[12:])),
			amount: math.Float64frombits(binary.LittleEndian.Uint64(b[20:])), qty: int64(binary.LittleEndian.Uint64(b[28:]))}
		if p := int(recs[i].person); p < lo || p >= hi {
			return nil, fmt.Errorf("features: reading spill file %s: person %d outside the partition", f.Name(), p)
		}
	}
	return sortTransactions([][]txRec{recs}, lo, hi), nil
}

// write appends encoded records to partition k's file.
func (sp *spill) write(k int, b []byte) error {
	sp.mu[k].Lock()
	_, err := sp.files[k].Write(b)
	sp.mu[k].Unlock()
	if err != nil {
		return fmt.Errorf("features: writing spill file: %w", err)
	}
	return nil
}

func putRecord(b []byte, r *evRec) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(r.person))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.ts))
	if math.IsNaN(r.value) {
		return append(b, r.code, byte(r.page))
	}
	b = append(b, r.code|spillHasValue, byte(r.page))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(r.value))
}

// getRecord reads the record putRecord wrote from r into e, using rec as its buffer.
func getRecord(r *bufio.Reader, rec *[spillHead + 8]byte, e *evRec) error {
	if _, err := io.ReadFull(r, rec[:spillHead]); err != nil {
		return err
	}
	e.person = int32(binary.LittleEndian.Uint32(rec[0:]))
	e.ts = int64(binary.LittleEndian.Uint64(rec[4:]))
	e.code, e.page, e.value = rec[12]&^spillHasValue, int8(rec[13]), math.NaN()
	if rec[12]&spillHasValue != 0 {
		if _, err := io.ReadFull(r, rec[spillHead:]); err != nil {
			return io.ErrUnexpectedEOF
		}
		e.value = math.Float64frombits(binary.LittleEndian.Uint64(rec[spillHead:]))
	}
	return nil
}

// fold reads partition k's events into accs (accs[p-base] is person p's), on workers
// goroutines each folding the people of one residue of the person number.
func (sp *spill) fold(k int, accs []features.EventAcc, base int, asOf int64, halfLife float64, workers int) error {
	// One goroutine reads the file and hands each worker batches of its people's events:
	// every worker reading the whole file was twice the reading for two workers.
	f := startFold(accs, base, workers, asOf, halfLife)
	bufs := make([][]evRec, workers)
	r := bufio.NewReaderSize(io.NewSectionReader(sp.files[k], 0, math.MaxInt64), 1<<20)
	var rec [spillHead + 8]byte
	var e evRec
	var err error
	for {
		if err = getRecord(r, &rec, &e); err != nil {
			break
		}
		f.put(bufs, e)
	}
	f.flush(bufs)
	f.wait()
	if !errors.Is(err, io.EOF) {
		return fmt.Errorf("features: reading spill file: %w", err)
	}
	return nil
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
