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
// writes each usable event, reduced to 24 bytes, to its partition's file in a temporary
// directory; then each partition's events are folded into its people's accumulators, its
// rows built and written, and its memory released.

// spillRecord is the size of one event in a spill file: ts, value, person, code, page.
const spillRecord = 8 + 8 + 4 + 1 + 1 + 2

// bytesPerPerson estimates the memory of one person in the partitioned part of a run: the
// accumulator and the Arrow row (columns of 8 bytes plus the contact id and the
// categorical strings), with the builders' growth.
func bytesPerPerson(columns int) int64 {
	return int64(unsafe.Sizeof(features.EventAcc{})) + int64(columns)*8*3/2 + 96
}

// partitions returns the ranges of people a run with this budget works on: one range when
// everyone fits. used is the memory already taken (the stitched identities and contacts),
// which the budget must also cover.
func (e Engine) partitions(people, columns int, used int64) [][2]int {
	budget := max(e.memory()-used, 0)
	need := int64(people) * bytesPerPerson(columns)
	group := e.rowGroup()
	size := people
	if need > budget {
		size = int(budget / bytesPerPerson(columns))
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
	h, err := openHistory(ctx, dir, opts, &rep, false, workers)
	if err != nil {
		return nil, rep, err
	}
	nP := len(h.pContact)
	var used int64
	if int64(nP)*bytesPerPerson(len(features.SchemaFor(h.opts).Columns)) > e.memory()/2 {
		// Measure what stitching left live only when it can matter: a full collection.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		used = int64(ms.HeapAlloc)
	}
	parts := e.partitions(nP, len(features.SchemaFor(h.opts).Columns), used)
	if len(parts) == 1 {
		t, err := e.build(ctx, h)
		if err != nil {
			return nil, rep, err
		}
		defer t.Release()
		return t.schema, rep, e.WriteParquet(out, t)
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
	pr, txs, catOf, err := h.eventsWithTransactions(ctx, func(ctx context.Context) error {
		return h.spillEvents(ctx, sp, workers)
	})
	if err != nil {
		return nil, rep, err
	}
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
			accs := make([]features.EventAcc, r[1]-r[0])
			for i := range accs {
				accs[i].Reset()
			}
			if err := sp.fold(k, accs, r[0], h.asOf, h.halfLife, workers); err != nil {
				return err
			}
			rec, err := e.rows(ctx, h, schema, accs, r[0], txs, pr, catOf, r[0], r[1])
			if err != nil {
				return err
			}
			err = fw.write(rec)
			rec.Release()
			if err != nil {
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

// spill holds one file per partition of people; workers append whole buffers under the
// partition's lock.
type spill struct {
	files []*os.File
	mu    []sync.Mutex
	part  []uint16 // person → partition
}

func newSpill(dir string, parts [][2]int, people int) (*spill, error) {
	if len(parts) > math.MaxUint16 {
		return nil, fmt.Errorf("features: memory budget too small: %d partitions", len(parts))
	}
	sp := &spill{files: make([]*os.File, len(parts)), mu: make([]sync.Mutex, len(parts)), part: make([]uint16, people)}
	for k, r := range parts {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%05d.events", k)))
		if err != nil {
			sp.close()
			return nil, fmt.Errorf("features: spill file: %w", err)
		}
		sp.files[k] = f
		for p := r[0]; p < r[1]; p++ {
			sp.part[p] = uint16(k)
		}
	}
	return sp, nil
}

func (sp *spill) close() {
	for _, f := range sp.files {
		if f != nil {
			f.Close()
		}
	}
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
	b = binary.LittleEndian.AppendUint64(b, uint64(r.ts))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.value))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.person))
	return append(b, r.code, byte(r.page), 0, 0)
}

// fold reads partition k's events into accs (accs[p-base] is person p's), on workers
// goroutines each folding the people of one residue of the person number.
func (sp *spill) fold(k int, accs []features.EventAcc, base int, asOf int64, halfLife float64, workers int) error {
	f := sp.files[k]
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReaderSize(io.NewSectionReader(f, 0, math.MaxInt64), 1<<20)
			var rec [spillRecord]byte
			for {
				if _, err := io.ReadFull(r, rec[:]); err != nil {
					if !errors.Is(err, io.EOF) {
						errs[w] = fmt.Errorf("features: reading spill file: %w", err)
					}
					return
				}
				p := int(int32(binary.LittleEndian.Uint32(rec[16:])))
				if p%workers != w {
					continue
				}
				ts := int64(binary.LittleEndian.Uint64(rec[0:]))
				v := math.Float64frombits(binary.LittleEndian.Uint64(rec[8:]))
				accs[p-base].Add(features.AgeNanos(asOf, ts), ts, int(rec[20]), int(int8(rec[21])), v, halfLife)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
