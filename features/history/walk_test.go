package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/features"
)

// shuffledHistory copies the generated history with its events shuffled into row groups of
// 700 rows: each person's events are spread over many row groups, which the workers read in
// any order.
func shuffledHistory(t *testing.T) string {
	t.Helper()
	src := generated(t)
	dir := filepath.Join(t.TempDir(), "hist")
	for _, f := range []string{"contacts.parquet", "identities.parquet", "transactions.parquet"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	in, err := os.Open(filepath.Join(src, "events.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(in, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	// Rows are copied as the file has them, whatever its columns.
	r := parquet.NewReader(pf)
	rows := make([]parquet.Row, pf.NumRows())
	if n, err := r.ReadRows(rows); int64(n) != pf.NumRows() {
		t.Fatalf("read %d of %d rows: %v", n, pf.NumRows(), err)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	f, err := os.Create(filepath.Join(dir, "events.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewWriter(f, pf.Schema(), parquet.MaxRowsPerRowGroup(700))
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWalkSpillSameOutput checks that a walk over people that does not fit its budget, done
// partition by partition through spill files, hands out the same people, with the same
// events in the same order, as one that holds every event; for ForEachPerson and
// MapPersons, with one or several workers, with a KeepEvent filter and with strict identity;
// and that it leaves no temporary files.
func TestWalkSpillSameOutput(t *testing.T) {
	dir := shuffledHistory(t)
	cases := map[string]features.Options{
		"all":    {AsOf: testAsOf},
		"strict": {AsOf: testAsOf, StrictIdentity: true},
		"kept":   {AsOf: testAsOf, KeepEvent: func(typ, page string) bool { return typ != "page_view" || page == "/pricing" }},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			var want []string
			events := 0
			rep, err := Engine{Workers: 2, Memory: 1 << 40}.ForEachPerson(context.Background(), dir, opts, func(p *Person) error {
				want = append(want, fmt.Sprintf("%+v", *p))
				events += len(p.Events)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Partitions != 1 || rep.SpillBytes != 0 {
				t.Fatalf("unbounded walk: %d partitions, %d bytes spilled", rep.Partitions, rep.SpillBytes)
			}
			if len(want) < 500 || events < 10000 {
				t.Fatalf("fixture too small: %d people, %d events", len(want), events)
			}
			for _, w := range []int{1, 3} {
				tmp := t.TempDir()
				files := 0
				// mapBytes 1: the partitions share one table of events mapped outside the heap,
				// which each one overwrites (offHeap). mapChunk 40: MapPersonsWithin maps
				// several chunks a partition, each emitted while the next is mapped.
				e := Engine{Workers: w, Memory: 1, TmpDir: tmp, walkRows: 150, mapBytes: 1, mapChunk: 40, afterSpill: func(d string) { files = len(spillFiles(t, d)) }}
				var got []string
				rep, err := e.ForEachPerson(context.Background(), dir, opts, func(p *Person) error {
					got = append(got, fmt.Sprintf("%+v", *p))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Partitions < 4 || files < 8 || rep.SpillBytes == 0 {
					t.Fatalf("workers %d: %d partitions, %d spill files, %d bytes: the budget did not split the walk", w, rep.Partitions, files, rep.SpillBytes)
				}
				sameWalk(t, fmt.Sprintf("ForEachPerson, workers %d", w), got, want)
				got = got[:0]
				if _, err := MapPersonsWithin(context.Background(), e, dir, opts, func(p *Person) (string, error) {
					return fmt.Sprintf("%+v", *p), nil
				}, func(s string) error {
					got = append(got, s)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				sameWalk(t, fmt.Sprintf("MapPersons, workers %d", w), got, want)
				if left := spillFiles(t, tmp); len(left) > 0 {
					t.Errorf("workers %d: temporary files left after success: %v", w, left)
				}
			}
		})
	}
}

func sameWalk(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d people, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: person %d differs:\n got %.300s\nwant %.300s", what, i, got[i], want[i])
		}
	}
}

// TestWalkSpillCleanup interrupts a spilling walk once its events are on disk, and stops one
// with an error from fn, and checks that neither leaves temporary files behind.
func TestWalkSpillCleanup(t *testing.T) {
	dir := generated(t)
	opts := features.Options{AsOf: testAsOf}
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []string
	e := Engine{Workers: 2, Memory: 1, TmpDir: tmp, walkRows: 100, afterSpill: func(d string) { seen = spillFiles(t, d); cancel() }}
	_, err := e.ForEachPerson(ctx, dir, opts, func(*Person) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(seen) == 0 {
		t.Fatal("no spill files existed when the walk was interrupted")
	}
	if left := spillFiles(t, tmp); len(left) > 0 {
		t.Errorf("temporary files left after interrupt: %v", left)
	}
	stop := errors.New("stop")
	e.afterSpill = nil
	n := 0
	_, err = MapPersonsWithin(context.Background(), e, dir, opts, func(*Person) (int, error) { return 0, nil }, func(int) error {
		if n++; n == 250 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the emit error", err)
	}
	if left := spillFiles(t, tmp); len(left) > 0 {
		t.Errorf("temporary files left after an error: %v", left)
	}
}

// TestWalkRecord round-trips events through the spill record, with every optional field
// present or not, large codes and identifiers not in the identifier table, times of each
// form on either side of the base and far from it, places of 3 and 4 bytes, and checks that
// damaged records are refused.
func TestWalkRecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	code := func() int32 {
		switch rng.IntN(3) {
		case 0:
			return 0
		case 1:
			return rng.Int32N(100)
		}
		return rng.Int32()
	}
	asOf := time.Date(2026, 1, 1, 0, 0, 0, 123, time.UTC).UnixNano()
	stamp := func(base int64) int64 {
		switch rng.IntN(6) {
		case 0: // whole seconds, before or after the base
			return base + (rng.Int64N(1<<32)-1<<31)*int64(time.Second)
		case 1: // whole microseconds
			return base + (rng.Int64N(1<<48)-1<<47)*int64(time.Microsecond)
		case 2: // whole seconds just outside the 4-byte range
			return base + (math.MaxInt32+1+rng.Int64N(100))*int64(time.Second)
		case 3:
			return math.MaxInt64 - rng.Int64N(1000)
		case 4:
			return math.MinInt64 + rng.Int64N(1000)
		}
		return rng.Int64()
	}
	forms := map[byte]int{}
	for _, tc := range []struct {
		asOf     int64
		most, lo int
	}{{asOf, 1000, 0}, {asOf, 1 << 24, 5 << 24}, {asOf, 1<<24 + 1, 3}, {0, 77, 1 << 30}, {-asOf, 1 << 26, 11}} {
		f := walkFormat(newRecFormat(tc.asOf, tc.most))
		if want := map[bool]int{false: 3, true: 4}[tc.most > 1<<24]; f.pw != want {
			t.Fatalf("most %d: place of %d bytes, want %d", tc.most, f.pw, want)
		}
		var b []byte
		var want []rawEvent
		var jobs []int
		for range 3000 {
			e := rawEvent{ts: stamp(f.tsBase), value: math.NaN(), person: int32(tc.lo + rng.IntN(tc.most)), typ: code(), page: code(),
				channel: code(), campaign: code(), anonymous: code(), mail: -code(), worker: uint8(rng.IntN(256))}
			if rng.IntN(2) == 0 {
				e.value = rng.NormFloat64()
			}
			job := rng.IntN(1 << 20)
			at := len(b)
			b = f.put(b, &e, job, tc.lo)
			if p := tc.lo + f.place(b[at:]); p != int(e.person) {
				t.Fatalf("person %d from the place, want %d", p, e.person)
			}
			forms[b[at+1+f.pw]&walkTSForm]++
			want, jobs = append(want, e), append(jobs, job)
		}
		for i := 0; len(b) > 0; i++ {
			var e rawEvent
			job, n, err := f.get(b, &e, tc.lo)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			w := want[i]
			if math.IsNaN(w.value) != math.IsNaN(e.value) || !math.IsNaN(w.value) && w.value != e.value {
				t.Fatalf("record %d: value %v, want %v", i, e.value, w.value)
			}
			e.value, w.value = 0, 0
			if e != w || int(job) != jobs[i] {
				t.Fatalf("record %d: got %+v job %d, want %+v job %d", i, e, job, w, jobs[i])
			}
			b = b[n:]
		}
	}
	for _, form := range []byte{walkTSNanos, walkTSSecs, walkTSMicros} {
		if forms[form] == 0 {
			t.Errorf("no record with time form %#x", form)
		}
	}
	f := walkFormat(newRecFormat(asOf, 10))
	one := f.put(nil, &rawEvent{person: 3, typ: 1, value: 2.5, page: 7, ts: f.tsBase - 5*int64(time.Second)}, 9, 0)
	if len(one) != 1+3+2+4+2+1+8 {
		t.Errorf("record of %d bytes, want %d", len(one), 1+3+2+4+2+1+8)
	}
	badForm := slices.Clone(one)
	badForm[4] |= walkTSForm
	for _, bad := range [][]byte{one[:len(one)-1], append([]byte{5}, one[1:]...), append([]byte{byte(len(one) + 1)}, append(one[1:], 0)...), badForm} {
		var e rawEvent
		if _, _, err := f.get(bad, &e, 0); err == nil {
			t.Errorf("damaged record % x accepted", bad)
		}
	}
}
