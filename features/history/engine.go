package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/progress"
)

// Engine says how the batch jobs use the machine. The zero value uses every core.
// The output never depends on it: the same history and options give the same table, cell
// for cell, whatever the number of workers.
type Engine struct {
	// Workers is the number of goroutines that decode row groups, fold people and build
	// rows. Zero means GOMAXPROCS.
	Workers int
	// Memory is the budget, in bytes, of a feature run: the stitched identities and
	// contacts, measured once stitched, and the people's state (accumulators, rows and
	// transactions), which may take half of what stitching leaves. When the people need
	// more, WriteFeatures works partition by partition, spilling events and transactions
	// to TmpDir. Zero means DefaultMemory().
	Memory int64
	// TmpDir is the directory under which spill files go; empty means os.TempDir().
	TmpDir string

	afterSpill func(dir string) // test hook: events spilled into dir

	// Tests shrink these to have many ranges and row groups: people per range built by one
	// goroutine (at least), rows per row group of the feature file (the file's layout).
	rangeRows, groupRows int
	walkRows             int // people per partition of a walk that does not fit the budget
	mapBytes             int // a walk's tables at least this large are mapped outside the heap (offHeap's from)
	mapChunk             int // people mapped at a time by mapWalk (0: 512)
}

func (e Engine) memory() int64 {
	if e.Memory > 0 {
		return e.Memory
	}
	return DefaultMemory()
}

func (e Engine) minRange() int {
	if e.rangeRows > 0 {
		return e.rangeRows
	}
	return 4096
}

func (e Engine) rowGroup() int {
	if e.groupRows > 0 {
		return e.groupRows
	}
	return rowGroupRows
}

func (e Engine) workers() int {
	if e.Workers > 0 {
		return e.Workers
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// Build computes the feature table of the history directory dir as of opts.AsOf: one row per
// stitched person, in contact_id order. Memory grows with people and identifiers (plus the
// transactions), not with events: events stream into fixed-size per-person accumulators.
// Build is Engine{}.Build.
func Build(ctx context.Context, dir string, opts features.Options) (*Table, Report, error) {
	return Engine{}.Build(ctx, dir, opts)
}

// Build is the package's Build on e.Workers goroutines.
func (e Engine) Build(ctx context.Context, dir string, opts features.Options) (*Table, Report, error) {
	var rep Report
	workers := e.workers()
	h, err := openHistory(ctx, dir, opts, &rep, false, workers)
	if err != nil {
		return nil, rep, err
	}
	t, err := e.build(ctx, h)
	return t, rep, err
}

// build computes the feature table of the stitched history h in memory.
func (e Engine) build(ctx context.Context, h *history) (*Table, error) {
	accs, pr, txs, catOf, err := e.accumulate(ctx, h, nil)
	if err != nil {
		return nil, err
	}
	nP := len(h.pContact)
	schema := features.SchemaFor(h.opts)
	rec, err := e.rows(ctx, h, schema, accs, 0, txs, pr, catOf, 0, nP)
	if err != nil {
		return nil, err
	}
	return &Table{rec: rec, schema: schema, opts: h.opts}, nil
}

// accumulate folds every person's events into their accumulator (accs[p] is person p's) while
// the transactions are read, sorted by person and time.
// early, when not nil, gives accumulators made ahead (earlyAccs), as many as the people or more.
func (e Engine) accumulate(ctx context.Context, h *history, early <-chan []features.EventAcc) (accs []features.EventAcc, pr *features.Products, txs []txRec, catOf []int, err error) {
	workers := e.workers()
	nP := len(h.pContact)
	if early != nil {
		accs = <-early
	}
	if len(accs) >= nP {
		accs = accs[:nP:nP]
	} else {
		accs = e.newAccs(nP)
	}
	pr, txs, catOf, err = h.eventsWithTransactions(ctx, func(ctx context.Context) error {
		return h.accumulateEvents(ctx, accs, workers)
	}, nil)
	return accs, pr, txs, catOf, err
}

// newAccs returns n reset accumulators, reset on e's workers.
func (e Engine) newAccs(n int) []features.EventAcc {
	accs := make([]features.EventAcc, n)
	e.resetAccs(accs)
	return accs
}

// resetAccs resets accs on e's workers.
func (e Engine) resetAccs(accs []features.EventAcc) {
	parallelRanges(len(accs), e.workers(), e.minRange(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			accs[i].Reset()
		}
	})
}

// writeAll writes the feature table of everyone in h to out, as build computes it, in one
// pass over the events: the people's rows go straight from their accumulators to the file.
func (e Engine) writeAll(ctx context.Context, h *history, early <-chan []features.EventAcc, out string, rep *Report) (*features.Schema, Report, error) {
	accs, pr, txs, catOf, err := e.accumulate(ctx, h, early)
	if err != nil {
		return nil, *rep, err
	}
	schema := features.SchemaFor(h.opts)
	md := arrowSchema(schema, h.opts).Metadata()
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		fw := newFeatureWriter(w, schema, md, e.workers(), e.rowGroup())
		if err := e.writeRows(ctx, fw, h, schema, accs, 0, txs, pr, catOf, 0, len(h.pContact)); err != nil {
			return err
		}
		return fw.close()
	})
	if err != nil {
		return nil, *rep, err
	}
	return schema, *rep, nil
}

// transactions reads the transactions (sorted by person and time) and settles the product
// categories of h.opts (the most frequent ones unless given); catOf maps a product key code
// to its category column, -1 for none.
//
// With a sink, the transactions go to it in file order instead, and txs is nil.
func (h *history) transactions(ctx context.Context, sink func(*txRec) error) (pr *features.Products, txs []txRec, catOf []int, err error) {
	pr = features.NewProducts()
	if sink != nil {
		err = h.scanTransactions(ctx, pr, features.NewProducts(), sink)
	} else {
		txs, err = h.readTransactions(ctx, pr, features.NewProducts())
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if h.opts.ProductCategories == nil {
		h.opts.ProductCategories = pr.TopCategories()
	}
	catOf = make([]int, len(pr.Names))
	for i, name := range pr.Names {
		catOf[i] = slices.Index(h.opts.ProductCategories, name)
	}
	return pr, txs, catOf, nil
}

// eventsWithTransactions runs events, a pass over the events file, while the transactions
// are read (as h.transactions does) on a goroutine of their own, and returns those. Reading
// the transactions is one goroutine's work (one scan, then a sort by person); after the
// events it left all but one core idle for 3 s of a 28 s run at a million contacts.
//
// A non-nil sink receives the transactions, as for h.transactions.
func (h *history) eventsWithTransactions(ctx context.Context, events func(context.Context) error, sink func(*txRec) error) (*features.Products, []txRec, []int, error) {
	var pr *features.Products
	var txs []txRec
	var catOf []int
	err := h.besideEvents(ctx, events, func(ctx context.Context, th *history) error {
		var err error
		pr, txs, catOf, err = th.transactions(ctx, sink)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return pr, txs, catOf, nil
}

// besideEvents runs events, a pass over the events file, and tx, a pass over the
// transactions, side by side. tx works on a copy of h with its own report, merged into h's
// after both are done (with the product categories tx found), so the report is the one a
// sequential run gives. An error of the events wins over one of the transactions, as in a
// sequential run, except the cancellation that a failed transactions pass causes.
func (h *history) besideEvents(ctx context.Context, events func(context.Context) error, tx func(context.Context, *history) error) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th := *h
	var trep Report
	th.rep = &trep
	done := make(chan error, 1)
	go func() {
		err := tx(ctx, &th)
		if err != nil {
			cancel()
		}
		done <- err
	}()
	err := events(ctx)
	if err != nil {
		cancel()
	}
	terr := <-done
	switch {
	case err != nil && !(terr != nil && errors.Is(err, context.Canceled) && parent.Err() == nil):
		return err
	case terr != nil:
		return terr
	}
	h.opts.ProductCategories = th.opts.ProductCategories
	h.rep.merge(&trep)
	return nil
}

// rows computes the rows of people lo to hi-1 (accs[p-base] is person p's) into one record
// batch, over contiguous ranges on up to e.Workers goroutines.
func (e Engine) rows(ctx context.Context, h *history, schema *features.Schema, accs []features.EventAcc, base int, txs []txRec,
	pr *features.Products, catOf []int, lo, hi int) (arrow.RecordBatch, error) {
	bar := progress.Start(ctx, "computing features", int64(hi-lo), "people")
	defer bar.Done()
	ranges := rowRanges(hi-lo, e.workers(), e.minRange())
	parts := make([]arrow.RecordBatch, len(ranges))
	errs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for k, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[k], errs[k] = h.buildRows(ctx, schema, accs, base, txs, pr, catOf, lo+r[0], lo+r[1])
			bar.Add(int64(r[1] - r[0]))
		}()
	}
	wg.Wait()
	defer func() {
		for _, p := range parts {
			if p != nil {
				p.Release()
			}
		}
	}()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return concatRecords(parts, e.workers())
}

// buildRows computes the rows of people lo to hi-1 into one record batch. Safe for
// concurrent use on distinct ranges.
// accs[p-base] is person p's accumulator.
func (h *history) buildRows(ctx context.Context, schema *features.Schema, accs []features.EventAcc, base int, txs []txRec,
	pr *features.Products, catOf []int, lo, hi int) (arrow.RecordBatch, error) {
	tb := newTableBuilder(schema, h.opts, hi-lo)
	defer tb.rb.Release()
	rm := h.newRowMaker(schema, accs, base, txs, pr, catOf)
	rm.seek(lo)
	for p := lo; p < hi; p++ {
		if (p-lo)%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		tb.append(rm.row(p))
	}
	return tb.rb.NewRecordBatch(), nil
}

// rowMaker computes the feature rows of people in increasing order, from their event
// accumulators (accs[p-base] is person p's) and transactions (sorted by person). One per
// goroutine; they may share everything they read.
type rowMaker struct {
	h        *history
	accs     []features.EventAcc
	base     int
	txs      []txRec
	catOf    []int
	rf       *features.RowFiller
	r        features.Row
	tx       features.TxAcc
	t        int // the next transaction
	attrNum  []float64
	attrStr  []string
	prodName func(int32) string
}

func (h *history) newRowMaker(schema *features.Schema, accs []features.EventAcc, base int, txs []txRec, pr *features.Products, catOf []int) *rowMaker {
	nA := len(h.opts.Attributes)
	return &rowMaker{h: h, accs: accs, base: base, txs: txs, catOf: catOf, rf: features.NewRowFiller(schema, h.opts),
		r: features.NewRow(schema), attrNum: make([]float64, nA), attrStr: make([]string, nA),
		prodName: func(c int32) string { return pr.Names[c] }}
}

// seek readies rm for person p and the people after: the first of their transactions is
// found by bisection.
func (rm *rowMaker) seek(p int) {
	rm.t = sort.Search(len(rm.txs), func(i int) bool { return rm.txs[i].person >= int32(p) })
}

// row computes person p's row, valid until the next call. p is after the previous call's
// person, or where seek left rm.
func (rm *rowMaker) row(p int) *features.Row {
	h, opts := rm.h, &rm.h.opts
	rm.tx.Reset(len(opts.ProductCategories))
	for t := rm.t; t < len(rm.txs) && rm.txs[t].person <= int32(p); t++ {
		rm.t = t + 1
		if rm.txs[t].person < int32(p) {
			continue
		}
		cat := -1
		if rm.txs[t].key >= 0 {
			cat = rm.catOf[rm.txs[t].key]
		}
		rm.tx.Add(rm.txs[t].ts, h.asOf, h.hEnd, rm.txs[t].amount, cat, rm.txs[t].key)
	}
	c := h.pContact[p]
	ci := features.ContactInfo{ID: h.cid(c), Created: h.cCreated[c], Stage: h.cStage.at(c), StageSince: h.cStageSince[c]}
	for a := range rm.attrNum {
		rm.attrNum[a], rm.attrStr[a] = h.attr(a, c)
	}
	rm.rf.Fill(&rm.r, &ci, &rm.accs[p-rm.base], &rm.tx, rm.attrNum, rm.attrStr, rm.prodName)
	rm.r.MergedIDs = h.mergedIDs(p)
	return &rm.r
}

// writeRows computes the rows of people lo to hi-1 and writes them to fw, each row group's
// rows computed and encoded by one of fw's goroutines: no table of the rows is built. (An
// Arrow table of a million rows, then a second one joining the goroutines' parts, were
// about 1 GB each; appending to them, joining them and reading them back for the writer
// took about 30% of the processor time of a feature run, and its peak went from 2.93 GB to
// 1.97 GB without them.)
func (e Engine) writeRows(ctx context.Context, fw *featureWriter, h *history, schema *features.Schema, accs []features.EventAcc, base int,
	txs []txRec, pr *features.Products, catOf []int, lo, hi int) error {
	bar := progress.Start(ctx, "computing features", int64(hi-lo), "people")
	defer bar.Done()
	type state struct {
		rm *rowMaker
		valueBufs
	}
	states := make([]padded[state], fw.workers)
	return fw.run(hi-lo, func(w int, rg *parquet.ConcurrentRowGroupWriter, from, to int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st := &states[w].v
		if st.rm == nil {
			st.rm = h.newRowMaker(schema, accs, base, txs, pr, catOf)
		}
		st.rm.seek(lo + from)
		rows, vals := st.rows[:0], st.vals[:0]
		defer func() { st.rows, st.vals = rows[:0], vals[:0] }()
		for p := lo + from; p < lo+to; p++ {
			start := len(vals)
			vals = appendRowValues(vals, schema, fw.leafCol, st.rm.row(p))
			rows = append(rows, vals[start:len(vals):len(vals)])
			if len(rows) == writeBatch || p == lo+to-1 {
				if _, err := rg.WriteRows(rows); err != nil {
					return fmt.Errorf("features: writing parquet: %w", err)
				}
				rows, vals = rows[:0], vals[:0]
			}
		}
		if err := rg.Flush(); err != nil {
			return fmt.Errorf("features: writing parquet: %w", err)
		}
		bar.Add(int64(to - from))
		return nil
	})
}

// rowRanges splits n people into up to k contiguous ranges of about equal size, of at
// least minRange people (small tables are not worth the goroutines), and at least one range,
// so that an empty history still gives a table with its schema.
func rowRanges(n, k, minRange int) [][2]int {
	k = max(1, min(k, n/minRange))
	out := make([][2]int, 0, k)
	for i := range k {
		out = append(out, [2]int{n * i / k, n * (i + 1) / k})
	}
	return out
}

// parallelRanges runs fn over contiguous ranges of [0, n) on up to k goroutines.
func parallelRanges(n, k, minRange int, fn func(lo, hi int)) {
	var wg sync.WaitGroup
	for _, r := range rowRanges(n, k, minRange) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(r[0], r[1])
		}()
	}
	wg.Wait()
}

// concatRecords joins record batches of one schema into one, column by column on up to
// workers goroutines. One batch is returned as is (retained).
func concatRecords(parts []arrow.RecordBatch, workers int) (arrow.RecordBatch, error) {
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], nil
	}
	schema := parts[0].Schema()
	nc := int(parts[0].NumCols())
	cols := make([]arrow.Array, nc)
	errs := make([]error, nc)
	var rows int64
	for _, p := range parts {
		rows += p.NumRows()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, nc) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := make([]arrow.Array, len(parts))
			for c := int(next.Add(1) - 1); c < nc; c = int(next.Add(1) - 1) {
				for k, p := range parts {
					in[k] = p.Column(c)
				}
				cols[c], errs[c] = array.Concatenate(in, memory.DefaultAllocator)
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}
