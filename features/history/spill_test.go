package history

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/progress"
)

// TestSpillSameOutput checks that a budget small enough to split the people into many
// partitions (events spilled to disk) gives the same feature file, byte for byte, as an
// unbounded in-memory run, whatever the number of workers, and leaves no temporary files.
func TestSpillSameOutput(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour}
	ref := Engine{Workers: 1, groupRows: 128}
	tab, _, err := ref.Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(t.TempDir(), "want.parquet")
	if err := ref.WriteParquet(want, tab); err != nil {
		t.Fatal(err)
	}
	tab.Release()
	wantBytes, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{1, 3} {
		tmp := t.TempDir()
		spilled := false
		e := Engine{Workers: w, groupRows: 128, Memory: 300 << 10, TmpDir: tmp,
			afterSpill: func(d string) { spilled = len(spillFiles(t, d)) > 3 }}
		out := filepath.Join(t.TempDir(), "got.parquet")
		if _, _, err := e.WriteFeatures(context.Background(), dir, opts, out); err != nil {
			t.Fatal(err)
		}
		if !spilled {
			t.Fatalf("workers %d: the budget did not split the people into several spilled partitions", w)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantBytes) {
			t.Errorf("workers %d: feature file with a small budget differs from the unbounded one", w)
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("workers %d: temporary files left after success: %v", w, left)
		}
	}
	// An unbounded WriteFeatures writes the same file too.
	out := filepath.Join(t.TempDir(), "mem.parquet")
	if _, _, err := (Engine{Workers: 2, groupRows: 128, Memory: 1 << 40}).WriteFeatures(context.Background(), dir, opts, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, wantBytes) {
		t.Error("WriteFeatures in memory differs from Build + WriteParquet")
	}
}

// TestSpillCleanup interrupts a spilling run once its events are on disk, and makes one fail
// at its output, and checks that neither leaves temporary files or an output behind.
func TestSpillCleanup(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf}
	t.Run("interrupted", func(t *testing.T) {
		tmp := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var seen []string
		e := Engine{Workers: 2, groupRows: 128, Memory: 300 << 10, TmpDir: tmp,
			afterSpill: func(d string) { seen = spillFiles(t, d); cancel() }}
		out := filepath.Join(t.TempDir(), "f.parquet")
		_, _, err := e.WriteFeatures(ctx, dir, opts, out)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(seen) == 0 {
			t.Fatal("no spill files existed when the run was interrupted")
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("temporary files left after interrupt: %v", left)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("output exists after interrupt (%v)", err)
		}
	})
	t.Run("failed", func(t *testing.T) {
		tmp := t.TempDir()
		out := filepath.Join(t.TempDir(), "missing", "f.parquet")
		e := Engine{Workers: 2, groupRows: 128, Memory: 300 << 10, TmpDir: tmp}
		if _, _, err := e.WriteFeatures(context.Background(), dir, opts, out); err == nil {
			t.Fatal("writing into a missing directory succeeded")
		}
		if left := spillFiles(t, tmp); len(left) > 0 {
			t.Errorf("temporary files left after failure: %v", left)
		}
	})
}

// spillFiles lists every file and directory under d.
func spillFiles(t *testing.T, d string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(d, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != d {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFoldRecordsRefusesDamage checks that a spill group that does not hold whole records of
// the partition's people is an error, not a fold of garbage: a person record or an event
// record cut short (in its time or its value), an event before any person record, a person
// record with other flags, and a person outside the partition.
func TestFoldRecordsRefusesDamage(t *testing.T) {
	accs := make([]features.EventAcc, 10)
	asOf := testAsOf.UnixNano()
	f := newRecFormat(asOf, len(accs))
	ev := func(ts int64, value float64) []byte {
		return f.putEvent(nil, &evRec{ts: ts, code: 1, page: features.NoPage, value: value})
	}
	person := func(q uint32) []byte { return f.putPerson(nil, q) }
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	short, long := asOf-1e9, asOf-1 // 4-byte and 8-byte times
	good := cat(person(0), ev(short, math.NaN()), person(9), ev(long, 2.5), ev(short, 1))
	if err := f.fold(good, accs, asOf, 30); err != nil {
		t.Fatalf("whole records of the partition: %v", err)
	}
	badFlags := person(1)
	badFlags[0] |= spillHasValue
	for name, b := range map[string][]byte{
		"person cut short":       person(1)[:2],
		"event before a person":  ev(short, math.NaN()),
		"long time cut":          cat(person(1), ev(long, math.NaN())[:3]),
		"short time cut":         cat(person(1), ev(short, math.NaN())[:4]),
		"value cut short":        cat(person(1), ev(short, 1)[:1+4+4]),
		"person beyond":          cat(person(10), ev(short, math.NaN())),
		"person with flags":      cat(badFlags, ev(short, math.NaN())),
		"second person cut":      cat(person(0), ev(short, math.NaN()), person(1)[:3]),
		"second event value cut": cat(person(0), ev(short, math.NaN()), ev(long, 7)[:1+8+4]),
	} {
		if err := f.fold(b, accs, asOf, 30); !errors.Is(err, errSpillRecord) {
			t.Errorf("%s: got %v, want errSpillRecord", name, err)
		}
	}
}

// TestSpillRecordsRoundTrip checks that every shape of event record (a time in whole seconds
// or microseconds before the base or neither, far in the past, after the base; with and
// without a page and a value), after person records with places of 3 and 4 bytes, folds into
// the same accumulator as the event folded directly, and that eventLen finds each event
// record's end.
func TestSpillRecordsRoundTrip(t *testing.T) {
	asOf := testAsOf.UnixNano() + 123 // not a whole second: the base is below it
	base := spillBase(asOf)
	if base > asOf || asOf-base >= 1e9 || base%1e9 != 0 {
		t.Fatalf("spillBase(%d) = %d", asOf, base)
	}
	if neg := spillBase(-1_500_000_000); neg != -2e9 {
		t.Errorf("spillBase(-1.5 s) = %d, want -2e9", neg)
	}
	times := []int64{base - 86400e9, base - 1, base, asOf - 1, base - 1000, base - 7_000, asOf + 5e9,
		base - (math.MaxUint32+1)*1e9, base - math.MaxUint32*1e9, base - (1<<48)*1e3, base - (1<<48-1)*1e3, features.MinTimeNanos}
	for _, most := range []int{4, 1<<24 + 1} {
		f := newRecFormat(asOf, most)
		var recs []evRec
		for _, ts := range times {
			for _, page := range []int8{features.NoPage, 0, 3} {
				for _, value := range []float64{math.NaN(), 0, -2.5} {
					// runs of one to three events of a person, people revisited
					recs = append(recs, evRec{person: int32(1000 + len(recs)/3%4), ts: ts, code: uint8(len(recs) % 14), page: page, value: value})
				}
			}
		}
		if most > 4 { // a place of four bytes; not folded (sixteen million accumulators)
			b := f.putPerson(nil, 1<<24+5)
			if len(b) != 5 || f.place(b[1:]) != 1<<24+5 {
				t.Errorf("person record %x: want 5 bytes holding place %d", b, 1<<24+5)
			}
		}
		var b []byte
		lens := map[int]bool{}
		last := int32(-1)
		for i := range recs {
			if recs[i].person != last {
				last = recs[i].person
				n := len(b)
				b = f.putPerson(b, uint32(last-1000))
				if len(b)-n != 1+f.pw || f.place(b[n+1:]) != int(last-1000) {
					t.Fatalf("most %d, record %d: person record %x for place %d", most, i, b[n:], last-1000)
				}
			}
			n := len(b)
			b = f.putEvent(b, &recs[i])
			if got := eventLen(b[n]); got != len(b)-n {
				t.Fatalf("most %d, record %d: eventLen %d, written %d", most, i, got, len(b)-n)
			}
			if b[n]&spillTSForm == spillPerson {
				t.Fatalf("most %d, record %d: event flags %#x read as a person record", most, i, b[n])
			}
			lens[len(b)-n] = true
		}
		for _, n := range []int{5, 7, 9, 1 + 1 + 8 + 8} { // seconds, microseconds, nanoseconds; page and value
			if !lens[n] {
				t.Errorf("most %d: event record lengths %v: want %d among them", most, lens, n)
			}
		}
		got, want := make([]features.EventAcc, 4), make([]features.EventAcc, 4)
		if err := f.fold(b, got, asOf, 30); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			want[r.person-1000].Add(features.AgeNanos(asOf, r.ts), r.ts, int(r.code), int(r.page), r.value, 30)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("most %d: accumulators folded from spill records differ from those folded directly", most)
		}
	}
}

// TestEventBufsBlocks puts the events of two workers through the spill's event buffers, in
// runs of a person's events as a history in person order gives them, enough to fill several
// blocks per worker and partition, and checks that folding each partition back gives every
// person the accumulator of its events folded directly, that each run costs one person
// record (and each block at most one more per group), and that the files hold no more.
func TestEventBufsBlocks(t *testing.T) {
	asOf := testAsOf.UnixNano()
	parts := [][2]int{{0, 50}, {50, 130}, {130, 200}}
	sp, err := newSpill(t.TempDir(), parts, 200, asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	const workers = 2
	eb := newEventBufs(sp, workers)
	want := make([]features.EventAcc, 200)
	var evBytes, runs int64
	for w := range workers {
		for i := range 30000 {
			// runs of 7 events of a person; worker w has the people of its parity, so that
			// each person's events come in one known order
			p := int32(50 + (i/7*2+w)%150)
			r := evRec{person: p, ts: asOf - int64(i+1)*1e6*int64(1+i%5), code: uint8(i % 14), page: features.NoPage, value: math.NaN()}
			if i%3 == 0 {
				r.page = int8(i % 5)
			}
			if i%11 == 0 {
				r.value = float64(i) / 4
			}
			if i%7 == 0 {
				runs++
			}
			k := int(sp.part[p])
			if err := eb.put(w, k, &r); err != nil {
				t.Fatal(err)
			}
			want[p].Add(features.AgeNanos(asOf, r.ts), r.ts, int(r.code), int(r.page), r.value, 30)
			evBytes += int64(len(sp.rec.putEvent(nil, &r)))
		}
		eb.flushAll(w)
	}
	if eb.err != nil {
		t.Fatal(eb.err)
	}
	var spilled, blocks int64
	for k := 1; k < len(parts); k++ {
		accs := make([]features.EventAcc, parts[k][1]-parts[k][0])
		if err := sp.fold(k, accs, asOf, 30, progress.Start(context.Background(), "", 0, "")); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(accs, want[parts[k][0]:parts[k][1]]) {
			t.Errorf("partition %d: accumulators folded back differ from those folded directly", k)
		}
		st, err := sp.files[k].Stat()
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != sp.sizes[k] {
			t.Errorf("partition %d: file of %d bytes, %d noted", k, st.Size(), sp.sizes[k])
		}
		spilled += sp.sizes[k]
		blocks += int64(len(sp.blocks[k]))
	}
	if blocks < 2*workers*2 {
		t.Errorf("%d blocks: the test means to fill several per worker and partition", blocks)
	}
	// Person records are 4 bytes here: one per run, and at most one more per group of a
	// block, where a run is cut by the block's end.
	least, most := evBytes+runs*4, evBytes+(runs+blocks*workers)*4
	if spilled < least || spilled > most {
		t.Errorf("%d bytes spilled for %d bytes of event records in %d runs and %d blocks: want %d to %d", spilled, evBytes, runs, blocks, least, most)
	}
}

// TestSpillCodesFit checks that every event type code fits the bits a spill record gives it.
func TestSpillCodesFit(t *testing.T) {
	for _, ty := range []string{"page_view", "email_open", "purchase", "email_send", "survey", "something else"} {
		if c := features.TypeCode([]byte(ty)); c < 0 || c > spillCode {
			t.Errorf("type code of %q is %d: does not fit %#x", ty, c, spillCode)
		}
	}
}

// TestSpillTransactionsRoundTrip writes transactions through the spill files (amounts that
// are whole cents and those that are not, negative zero, NaN and infinities; times of each
// form; codes and quantities of every size; many chunks) and reads them back as
// readTransactions would sort them, whatever the number of workers; then checks that damaged
// records are refused.
func TestSpillTransactionsRoundTrip(t *testing.T) {
	asOf := testAsOf.UnixNano() + 123
	base := spillBase(asOf)
	amounts := []float64{0, math.Copysign(0, -1), 19.99, -5.01, 0.1, 1e12 + 0.25, 1e14, 1.0 / 3,
		math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, 123456789.12}
	times := []int64{base - 86400e9, base, base - 1, base - 7_000, asOf + 5e9, base - (math.MaxUint32+1)*1e9, features.MinTimeNanos}
	codes := []int32{0, 1, 127, 128, 1 << 20, math.MaxInt32}
	qtys := []int64{0, 1, -1, 1 << 40, math.MinInt64, math.MaxInt64}
	parts := [][2]int{{0, 40}, {40, 90}, {90, 91}}
	var in []txRec
	for i := range 20_000 {
		in = append(in, txRec{person: int32((i * 7919) % 91), ts: times[i%len(times)] - int64(i)*1e9,
			amount: amounts[i%len(amounts)], prod: codes[i%len(codes)], key: codes[(i/3)%len(codes)], qty: qtys[(i/5)%len(qtys)]})
	}
	sp, err := newSpill(t.TempDir(), parts, 91, asOf)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	for i := range in {
		if err := sp.writeTx(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.flushTx(); err != nil {
		t.Fatal(err)
	}
	if len(sp.txChunks[0]) < 4 {
		t.Fatalf("%d chunks in partition 0, want several", len(sp.txChunks[0]))
	}
	same := func(a, b txRec) bool {
		return a.person == b.person && a.ts == b.ts && a.prod == b.prod && a.key == b.key && a.qty == b.qty &&
			math.Float64bits(a.amount) == math.Float64bits(b.amount)
	}
	for k, r := range parts {
		var want []txRec
		for _, x := range in {
			if int(x.person) >= r[0] && int(x.person) < r[1] {
				want = append(want, x)
			}
		}
		off := make([]int, r[1]-r[0]+1)
		for _, x := range want {
			off[int(x.person)-r[0]+1]++
		}
		for p := range r[1] - r[0] {
			off[p+1] += off[p]
		}
		slices.SortStableFunc(want, func(a, b txRec) int { return int(a.person - b.person) })
		sortByTime(want, off, 0, r[1]-r[0])
		for _, workers := range []int{1, 3, 8} {
			got, err := sp.transactions(k, r[0], r[1], workers)
			if err != nil {
				t.Fatalf("partition %d, %d workers: %v", k, workers, err)
			}
			if len(got) != len(want) {
				t.Fatalf("partition %d, %d workers: %d transactions, want %d", k, workers, len(got), len(want))
			}
			for i := range got {
				if !same(got[i], want[i]) {
					t.Fatalf("partition %d, %d workers, row %d: %+v, want %+v", k, workers, i, got[i], want[i])
				}
			}
		}
	}
	f := sp.rec
	one := f.putTx(nil, &txRec{person: 3, ts: base - 60e9, amount: 19.99, prod: 2, key: 5, qty: 1}, 0)
	if len(one) != txMinSize+1 { // 1999 cents take two bytes
		t.Errorf("a transaction of %d bytes, want %d", len(one), txMinSize+1)
	}
	badFlags := slices.Clone(one)
	badFlags[3] |= 0x80
	for _, bad := range [][]byte{one[:len(one)-1], one[:5], badFlags} {
		var r txRec
		if _, err := f.getTx(bad, &r, 0); err == nil {
			t.Errorf("damaged record % x accepted", bad)
		}
	}
}
