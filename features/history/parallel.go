package history

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/progress"
)

// rgJob is one row group of one part file.
type rgJob struct {
	idx  int   // number of the row group in file order, over all parts
	part int   // part file
	rg   int   // row group within the part
	rows int64 // rows of the row group
}

// scanRowGroups runs fn over every row group of the parts of a history file on up to workers
// goroutines (fn(w, job, ...) runs on worker w for the row group job; done(w) when worker w
// has no more work). Per-file counts are merged
// in part order. A missing file is not an error (optional history file).
func (h *history) scanRowGroups(ctx context.Context, name string, check, read []colSpec, workers int,
	fn func(w int, job rgJob, st *fileStats, v []vec, n int) error, done func(w int)) error {
	path := filepath.Join(h.dir, name)
	parts, ok, err := partFiles(path)
	if err != nil {
		return err
	}
	if !ok {
		for w := range workers {
			done(w)
		}
		return nil
	}
	var jobs []rgJob
	for i, part := range parts {
		p, err := openParquet(part, check)
		if err != nil {
			return err
		}
		for rg, g := range p.pf.RowGroups() {
			jobs = append(jobs, rgJob{idx: len(jobs), part: i, rg: rg, rows: g.NumRows()})
		}
		p.Close()
	}
	var total int64
	for _, j := range jobs {
		total += j.rows
	}
	bar := progress.Start(ctx, "reading "+name, total, "rows")
	defer bar.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		next     int
		wg       sync.WaitGroup
	)
	stats := make([][]fileStats, workers) // [worker][part]
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for w := range workers {
		stats[w] = make([]fileStats, len(parts))
		for i := range parts {
			stats[w][i].File = parts[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done(w)
			open := map[int]*pqFile{}
			iters := map[int]*rowIter{}
			defer func() {
				for _, p := range open {
					p.Close()
				}
			}()
			for {
				mu.Lock()
				if next >= len(jobs) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				p := open[j.part]
				if p == nil {
					var err error
					if p, err = openParquet(parts[j.part], read); err != nil {
						fail(err)
						return
					}
					open[j.part] = p
				}
				st := &stats[w][j.part]
				it := iters[j.part]
				if it == nil {
					it = newRowIter(p)
					iters[j.part] = it
				}
				it.restart(j.rg, j.rg)
				for {
					n, err := it.next()
					if err == nil && n > 0 {
						st.Rows += int64(n)
						bar.Add(int64(n))
						if k := dropRejected(p.cols, st, it.views, n); k > 0 {
							err = fn(w, j, st, it.views, k)
						}
					}
					if err == nil {
						err = ctx.Err()
					}
					if err != nil {
						it.close()
						fail(err)
						return
					}
					if n == 0 {
						break
					}
				}
				it.close()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if h.quiet {
		return nil
	}
	for i := range parts {
		st := fileStats{FileReport{File: parts[i]}}
		for w := range workers {
			ws := &stats[w][i]
			st.Rows += ws.Rows
			for k, v := range ws.Bad {
				if st.Bad == nil {
					st.Bad = map[string]int64{}
				}
				st.Bad[k] += v
			}
		}
		h.done(&st)
	}
	return nil
}

// linkBatch carries groups of identifiers seen on one event row, from a worker to the
// goroutine that owns the union-find.
type linkBatch struct {
	data  []byte
	ends  []int32
	sizes []uint8
}

// linkEventsParallel is linkEvents with the decoding spread over workers.
func (h *history) linkEventsParallel(ctx context.Context) error {
	all := h.eventSpecs()
	read := all[:3]
	if h.opts.StrictIdentity {
		read = all[:4]
	}
	workers := h.workers
	ch := make(chan *linkBatch, 2*workers)
	cur := make([]*linkBatch, workers)
	for w := range cur {
		cur[w] = &linkBatch{}
	}
	const flushAt = 1 << 16
	h.quiet = true
	var scanErr error
	go func() {
		scanErr = h.scanRowGroups(ctx, h.opts.Mapping.Events.File, all, read, workers,
			func(w int, _ rgJob, st *fileStats, v []vec, n int) error {
				b := cur[w]
				for i := range n {
					c, a, e := str(&v[0], i), str(&v[1], i), str(&v[2], i)
					k := 0
					for _, id := range [3][]byte{c, a, e} {
						if len(id) > 0 {
							k++
						}
					}
					if k < 2 {
						continue
					}
					if h.opts.StrictIdentity && (!v[3].valid[i] || v[3].i64[i] >= h.asOf) {
						continue
					}
					for _, id := range [3][]byte{c, a, e} {
						if len(id) > 0 {
							b.data = append(b.data, id...)
							b.ends = append(b.ends, int32(len(b.data)))
						}
					}
					b.sizes = append(b.sizes, uint8(k))
					if len(b.data) > flushAt {
						ch <- b
						b = &linkBatch{}
						cur[w] = b
					}
				}
				return nil
			},
			func(w int) {
				if len(cur[w].sizes) > 0 {
					ch <- cur[w]
				}
			})
		close(ch)
	}()
	var wm warmer
	for b := range ch {
		start, e, next := int32(0), 0, 0
		for _, k := range b.sizes {
			if e >= next { // read ahead for the identifiers of the next window
				next = min(len(b.ends), e+warmWindow)
				at := start
				for x := e; x < next; x++ {
					wm.add(b.data[at:b.ends[x]])
					at = b.ends[x]
				}
				h.warm(&wm)
			}
			var first int32 = -1
			for range k {
				nd := h.node(b.data[start:b.ends[e]])
				start = b.ends[e]
				e++
				if first < 0 {
					first = nd
				} else {
					h.union(first, nd)
				}
			}
		}
	}
	h.quiet = false
	return scanErr
}

// evRec is one event reduced to what the accumulator needs.
type evRec struct {
	ts     int64
	value  float64
	person int32
	code   uint8
	page   int8
}

// accumulateEvents streams the events file into accs (events before T only). Row groups are
// decoded by workers goroutines; the people are split into as many partitions (person number
// modulo workers), each folded by its own goroutine, so no two goroutines share a person.
// The accumulators' sums are integers and their maxima do not depend on order, so the result
// does not depend on the number of workers or the order in which row groups finish.
func (h *history) accumulateEvents(ctx context.Context, accs []features.EventAcc, workers int) error {
	f := startFold(accs, 0, workers, h.asOf, h.halfLife)
	cur := perWorker[[]evRec](workers, workers) // [decoder][folder]
	err := h.eventRecords(ctx, workers, func(w int, r evRec) error {
		f.put(cur[w], r)
		return nil
	}, func(w int) { f.flush(cur[w]) })
	f.wait()
	return err
}

// fold folds events into accumulators (accs[p-base] is person p's) on its own goroutines,
// one per partition of the people (person number modulo their count), so no two goroutines
// share a person. Producers batch events by partition with put, hand over what they have
// left with flush, and wait returns once everything handed over is folded.
type fold struct {
	chs  []chan []evRec
	free chan []evRec
	wg   sync.WaitGroup
}

// foldBatch is the number of events a producer hands over at a time.
const foldBatch = 1 << 12

func startFold(accs []features.EventAcc, base, parts int, asOf int64, halfLife float64) *fold {
	f := &fold{chs: make([]chan []evRec, parts), free: make(chan []evRec, 4*parts)}
	for k := range parts {
		f.chs[k] = make(chan []evRec, 2*parts)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for b := range f.chs[k] {
				for i := range b {
					r := &b[i]
					accs[int(r.person)-base].Add(features.AgeNanos(asOf, r.ts), r.ts, int(r.code), int(r.page), r.value, halfLife)
				}
				select {
				case f.free <- b[:0]:
				default:
				}
			}
		}()
	}
	return f
}

// put appends r to bufs, one producer's batches by partition, handing over a full batch.
func (f *fold) put(bufs [][]evRec, r evRec) {
	k := int(r.person) % len(f.chs)
	b := bufs[k]
	if b == nil {
		b = f.batch()
	}
	b = append(b, r)
	if len(b) == foldBatch {
		f.chs[k] <- b
		b = f.batch()
	}
	bufs[k] = b
}

// batch returns an empty batch, one the folders are done with when there is one.
func (f *fold) batch() []evRec {
	select {
	case b := <-f.free:
		return b
	default:
		return make([]evRec, 0, foldBatch)
	}
}

// flush hands over what is left in bufs.
func (f *fold) flush(bufs [][]evRec) {
	for k, b := range bufs {
		if len(b) > 0 {
			f.chs[k] <- b
			bufs[k] = nil
		}
	}
}

// wait stops the folders once they have folded everything handed over. put and flush must
// not be called after it.
func (f *fold) wait() {
	for _, ch := range f.chs {
		close(ch)
	}
	f.wg.Wait()
}

// spillEvents writes every usable event before T of the events file to its partition's
// spill file, except the first partition's (people base to base+len(accs)-1), which are
// folded into accs as they come: they need not be written and read back.
func (h *history) spillEvents(ctx context.Context, sp *spill, workers int, accs []features.EventAcc, base int) error {
	eb := newEventBufs(sp, workers)
	f := startFold(accs, base, workers, h.asOf, h.halfLife)
	cur := perWorker[[]evRec](workers, workers) // [decoder][folder]
	err := h.eventRecords(ctx, workers, func(w int, r evRec) error {
		k := int(sp.part[r.person])
		if k == 0 {
			f.put(cur[w], r)
			return nil
		}
		return eb.put(w, k, &r)
	}, func(w int) {
		f.flush(cur[w])
		eb.flushAll(w)
	})
	f.wait()
	if err != nil {
		return err
	}
	return eb.err
}

// onEach runs fn(0) to fn(n-1), each on a goroutine of its own, and returns their errors
// joined.
func onEach(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// partBufs buffers the records each worker has for each partition, and writes a buffer
// once it is full and when its worker is done.
type partBufs struct {
	bufs  [][][]byte                     // [worker][partition]
	write func(w, k int, b []byte) error // w: the worker whose buffer b is
	mu    sync.Mutex
	err   error // the first error of a flush
}

// partBufFull is the size at which a buffer is written.
const partBufFull = 1 << 16

func newPartBufs(workers, parts int, write func(w, k int, b []byte) error) *partBufs {
	return &partBufs{bufs: perWorker[[]byte](workers, parts), write: write}
}

// put keeps b, worker w's buffer for partition k with records appended, writing it when full.
func (pb *partBufs) put(w, k int, b []byte) error {
	if len(b) >= partBufFull {
		if err := pb.write(w, k, b); err != nil {
			return err
		}
		b = b[:0]
	}
	pb.bufs[w][k] = b
	return nil
}

// flush writes what worker w still holds; the first error is kept in pb.err.
func (pb *partBufs) flush(w int) {
	for k, b := range pb.bufs[w] {
		if len(b) > 0 {
			if err := pb.write(w, k, b); err != nil {
				pb.mu.Lock()
				if pb.err == nil {
					pb.err = err
				}
				pb.mu.Unlock()
			}
		}
		pb.bufs[w][k] = nil
	}
}

// eventRecords decodes the events file's row groups on workers goroutines and hands each
// usable, attributed event before T to sink on the goroutine that decoded it (w); done(w)
// is called when worker w has no more. It counts events, unattributed rows and the time
// span in the report.
func (h *history) eventRecords(ctx context.Context, workers int, sink func(w int, r evRec) error, done func(w int)) error {
	specs := h.eventSpecs()[:7]
	m := h.opts.Mapping.Events
	pageCache := make([]map[string]int8, workers)
	lasts := make([]padded[lastPerson], workers)
	warmers := make([]padded[warmer], workers)
	events := make([]int64, workers)
	unattributed := make([]int64, workers)
	spans := make([]tsSpan, workers)
	for w := range workers {
		spans[w] = newSpan()
		pageCache[w] = map[string]int8{}
	}
	asOf := h.asOf
	scanErr := h.scanRowGroups(ctx, m.File, specs, specs, workers,
		func(w int, _ rgJob, st *fileStats, v []vec, n int) error {
			events[w] += int64(n)
			pc := pageCache[w]
			// The span and the count are kept in locals and stored once per batch: the
			// workers' entries sit side by side, and writing them for every event would have
			// the workers contend for one cache line.
			span, unattr := spans[w], int64(0)
			defer func() { spans[w], unattributed[w] = span, unattributed[w]+unattr }()
			for i := range n {
				if i%warmWindow == 0 {
					h.warmEvents(&warmers[w].v, v, i, n)
				}
				p, ok := h.eventPerson(v, i, st, &lasts[w].v)
				if !ok {
					continue
				}
				if p < 0 {
					unattr++
					continue
				}
				ts := v[3].i64[i]
				span.add(ts)
				if ts >= asOf {
					continue
				}
				r := evRec{ts: ts, person: p, code: uint8(features.TypeCode(v[4].str[i])), page: features.NoPage, value: math.NaN()}
				if pg := str(&v[5], i); len(pg) > 0 {
					c, ok := pc[string(pg)]
					if !ok {
						c = int8(features.PageCategory(pg))
						if len(pc) < 1<<16 {
							pc[string(pg)] = c
						}
					}
					r.page = c
				}
				if v[6].f64 != nil && v[6].valid[i] {
					r.value = v[6].f64[i]
				}
				if err := sink(w, r); err != nil { // by value: a pointer to r escaped, an allocation per event
					return err
				}
			}
			return nil
		}, done)
	for w := range workers {
		h.rep.Events += events[w]
		h.rep.Unattributed += unattributed[w]
		h.rep.span(spans[w].lo, spans[w].hi)
	}
	return scanErr
}

// cacheLine is the size of a processor cache line, or more.
const cacheLine = 128

// padded is a value alone on its cache lines in a slice of them: workers that each write
// their own entry of a []T of small T would write to one line, which the processors then
// pass back and forth (false sharing).
type padded[T any] struct {
	v T
	_ [cacheLine]byte
}

// perWorker returns workers slices of n zero values each, cut from one array with a cache
// line between one worker's slice and the next, for per-worker state written on every
// record (see padded).
func perWorker[T any](workers, n int) [][]T {
	var zero T
	gap := cacheLine/max(1, int(unsafe.Sizeof(zero))) + 1
	all := make([]T, workers*(n+gap))
	out := make([][]T, workers)
	for w := range out {
		out[w] = all[w*(n+gap) : w*(n+gap)+n : w*(n+gap)+n]
	}
	return out
}
