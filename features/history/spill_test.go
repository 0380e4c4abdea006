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

// TestFoldRecordsRefusesDamage checks that a spill block that does not hold whole records of
// the partition's people is an error, not a fold of garbage: a record cut short, a time or a
// value cut short, and a person outside the partition.
func TestFoldRecordsRefusesDamage(t *testing.T) {
	accs := make([]features.EventAcc, 10)
	asOf := testAsOf.UnixNano()
	f := newRecFormat(asOf, len(accs))
	rec := func(person int32, ts int64, value float64) []byte {
		return f.put(nil, &evRec{person: person, ts: ts, code: 1, page: features.NoPage, value: value}, 100)
	}
	short, long := asOf-1e9, asOf-1 // 4-byte and 8-byte times
	good := append(rec(100, short, math.NaN()), rec(109, long, 2.5)...)
	if err := f.fold(good, accs, asOf, 30); err != nil {
		t.Fatalf("whole records of the partition: %v", err)
	}
	for name, b := range map[string][]byte{
		"record cut short": good[:f.minLen()-1],
		"long time cut":    rec(101, long, math.NaN())[:f.minLen()+2],
		"value cut short":  rec(101, short, 1)[:f.minLen()+4],
		"person beyond":    rec(110, short, math.NaN()),
		"second cut short": append(rec(100, short, math.NaN()), rec(101, short, math.NaN())[:3]...),
		"second value cut": append(rec(100, short, math.NaN()), rec(101, long, 7)[:f.minLen()+8]...),
	} {
		if err := f.fold(b, accs, asOf, 30); !errors.Is(err, errSpillRecord) {
			t.Errorf("%s: got %v, want errSpillRecord", name, err)
		}
	}
}

// TestSpillRecordsRoundTrip checks that every shape of spill record (a time in whole seconds
// or microseconds before the base or neither, far in the past, after the base; with and
// without a page and a value; places of 3 and 4 bytes) folds into the same accumulator as
// the event folded directly, and that recordLen finds each record's end.
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
					recs = append(recs, evRec{person: int32(1000 + len(recs)%4), ts: ts, code: uint8(len(recs) % 14), page: page, value: value})
				}
			}
		}
		if most > 4 { // a place of four bytes; not folded (sixteen million accumulators)
			r := evRec{person: 1000 + 1<<24 + 5, ts: base, code: 2, page: features.NoPage, value: math.NaN()}
			if got := f.place(f.put(nil, &r, 1000)); got != 1<<24+5 {
				t.Errorf("place %d, want %d", got, 1<<24+5)
			}
		}
		var b []byte
		lens := map[int]bool{}
		for i := range recs {
			n := len(b)
			b = f.put(b, &recs[i], 1000)
			if got := f.recordLen(b[n:]); got != len(b)-n {
				t.Fatalf("most %d, record %d: recordLen %d, written %d", most, i, got, len(b)-n)
			}
			if got, want := f.place(b[n:]), int(recs[i].person)-1000; got != want {
				t.Fatalf("most %d, record %d: place %d, want %d", most, i, got, want)
			}
			lens[len(b)-n-f.pw] = true
		}
		for _, n := range []int{5, 7, 9, 1 + 1 + 8 + 8} { // seconds, microseconds, nanoseconds; page and value
			if !lens[n] {
				t.Errorf("most %d: record lengths past the place %v: want %d among them", most, lens, n)
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
