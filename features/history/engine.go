package history

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/propensity-dev/propensity/features"
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
	workers := e.workers()
	nP := len(h.pContact)
	accs := make([]features.EventAcc, nP)
	parallelRanges(nP, workers, e.minRange(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			accs[i].Reset()
		}
	})
	pr, txs, catOf, err := h.eventsWithTransactions(ctx, func(ctx context.Context) error {
		return h.accumulateEvents(ctx, accs, workers)
	}, nil)
	if err != nil {
		return nil, err
	}
	schema := features.SchemaFor(h.opts)
	rec, err := e.rows(ctx, h, schema, accs, 0, txs, pr, catOf, 0, nP)
	if err != nil {
		return nil, err
	}
	return &Table{rec: rec, schema: schema, opts: h.opts}, nil
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
// events it left all but one core idle for 3 s of a 28 s run at a million contacts. The
// transactions' reader works on a copy of h with its own report, merged into h's after
// both are done, so the report is the one a sequential run gives. An error of the events
// wins over one of the transactions, as in a sequential run, except the cancellation that
// a failed transactions read causes.
//
// A non-nil sink receives the transactions, as for h.transactions.
func (h *history) eventsWithTransactions(ctx context.Context, events func(context.Context) error, sink func(*txRec) error) (*features.Products, []txRec, []int, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th := *h
	var trep Report
	th.rep = &trep
	type result struct {
		pr    *features.Products
		txs   []txRec
		catOf []int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.pr, r.txs, r.catOf, r.err = th.transactions(ctx, sink)
		if r.err != nil {
			cancel()
		}
		done <- r
	}()
	err := events(ctx)
	if err != nil {
		cancel()
	}
	t := <-done
	switch {
	case err != nil && !(t.err != nil && errors.Is(err, context.Canceled) && parent.Err() == nil):
		return nil, nil, nil, err
	case t.err != nil:
		return nil, nil, nil, t.err
	}
	h.opts.ProductCategories = th.opts.ProductCategories
	h.rep.merge(&trep)
	return t.pr, t.txs, t.catOf, nil
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
	opts := h.opts
	tb := newTableBuilder(schema, opts, hi-lo)
	defer tb.rb.Release()
	rf := features.NewRowFiller(schema, opts)
	row := features.NewRow(schema)
	var tx features.TxAcc
	nA := len(opts.Attributes)
	attrNum, attrStr := make([]float64, nA), make([]string, nA)
	prodName := func(c int32) string { return pr.Names[c] }
	// txs is sorted by person: the range's first transaction is found by bisection.
	t := sort.Search(len(txs), func(i int) bool { return txs[i].person >= int32(lo) })
	for p := lo; p < hi; p++ {
		if (p-lo)%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		tx.Reset(len(opts.ProductCategories))
		for ; t < len(txs) && txs[t].person == int32(p); t++ {
			cat := -1
			if txs[t].key >= 0 {
				cat = catOf[txs[t].key]
			}
			tx.Add(txs[t].ts, h.asOf, h.hEnd, txs[t].amount, cat, txs[t].key)
		}
		c := h.pContact[p]
		ci := features.ContactInfo{ID: h.cid(c), Created: h.cCreated[c], Stage: h.cStage.at(c), StageSince: h.cStageSince[c]}
		for a := range nA {
			attrNum[a], attrStr[a] = h.attr(a, c)
		}
		rf.Fill(&row, &ci, &accs[p-base], &tx, attrNum, attrStr, prodName)
		row.MergedIDs = h.mergedIDs(p)
		tb.append(&row)
	}
	return tb.rb.NewRecordBatch(), nil
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
