package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

type hugeContact struct {
	ContactID string `parquet:"contact_id"`
	CreatedAt int64  `parquet:"created_at,timestamp(microsecond)"`
	Email     string `parquet:"email,optional"`
	Stage     string `parquet:"stage,optional"`
}

type hugeEvent struct {
	TS          int64    `parquet:"ts,timestamp(microsecond)"`
	Type        string   `parquet:"type,dict"`
	ContactID   string   `parquet:"contact_id,optional,dict"`
	AnonymousID string   `parquet:"anonymous_id,optional,dict"`
	Page        string   `parquet:"page,optional,dict"`
	Value       *float64 `parquet:"value,optional"`
}

type hugeTx struct {
	ContactID string  `parquet:"contact_id"`
	TS        int64   `parquet:"ts,timestamp(microsecond)"`
	Amount    float64 `parquet:"amount"`
	Product   string  `parquet:"product"`
}

// writeParts writes rows as parts part files of row groups of at most rg rows under dir/name.
func writeParts[T any](t *testing.T, dir, name string, rows []T, parts, rg int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	per := (len(rows) + parts - 1) / parts
	for p := range parts {
		lo, hi := min(p*per, len(rows)), min((p+1)*per, len(rows))
		f, err := os.Create(filepath.Join(dir, name, "part-"+strconv.Itoa(p)+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[T](f, parquet.MaxRowsPerRowGroup(int64(rg)))
		if _, err := w.Write(rows[lo:hi]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// hugeEvents is the number of events of the one huge person.
const hugeEvents = 1_500_000

// TestOneHugePerson: one person holds 1.5 million events (under two identifiers, the
// contact id and an anonymous id linked to it), beside a few ordinary people; the events are
// spread over part files and many row groups, and a contact id is duplicated across part
// files. The Beam job must give the embedded build's rows; the test logs the process's peak
// heap (Prism and its in-process worker together) next to the size of the events.
func TestOneHugePerson(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1.5M events and runs Prism: not in -short")
	}
	dir := t.TempDir()
	asOf := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	us := func(tm time.Time) int64 { return tm.UnixMicro() }
	contacts := []hugeContact{
		{ContactID: "huge", CreatedAt: us(asOf.AddDate(-2, 0, 0)), Email: "huge@example.com", Stage: "customer"},
		{ContactID: "a", CreatedAt: us(asOf.AddDate(-1, 0, 0)), Email: "a@example.com"},
		{ContactID: "b", CreatedAt: us(asOf.AddDate(-1, 1, 0)), Email: "a@example.com"}, // merged into a
		{ContactID: "c", CreatedAt: us(asOf.AddDate(0, -3, 0))},
		{ContactID: "c", CreatedAt: us(asOf.AddDate(0, -1, 0)), Email: "dup@example.com"}, // duplicate: dropped
	}
	writeParts(t, dir, "contacts.parquet", contacts, 2, 1)
	types := []string{"page_view", "email_open", "email_click", "form_submit", "email_send", "survey", "download"}
	pages := []string{"/pricing", "/blog/x", "", "/careers", "/product/y"}
	var evs []hugeEvent
	for i := range hugeEvents {
		e := hugeEvent{TS: us(asOf.Add(-time.Duration(1+i%(400*24*60)) * time.Minute)), Type: types[i%len(types)],
			ContactID: "huge", Page: pages[i%len(pages)]}
		if i%3 == 0 {
			e.ContactID, e.AnonymousID = "", "anon-huge"
		}
		if i == 7 {
			e.ContactID = "huge" // links anon-huge to huge
		}
		if e.Type == "survey" {
			v := float64(i % 11)
			e.Value = &v
		}
		evs = append(evs, e)
	}
	for i := range 1000 {
		id := []string{"a", "b", "c", "nobody"}[i%4]
		evs = append(evs, hugeEvent{TS: us(asOf.Add(-time.Duration(i+1) * time.Hour)), Type: types[i%len(types)], ContactID: id})
	}
	writeParts(t, dir, "events.parquet", evs, 3, 100_000)
	var txs []hugeTx
	for i := range 2000 {
		id := []string{"huge", "a", "b", "c"}[i%4]
		txs = append(txs, hugeTx{ContactID: id, TS: us(asOf.Add(-time.Duration(i%50) * 24 * time.Hour)), Amount: float64(i%97) + 0.1,
			Product: []string{"p1", "p2", "p3"}[i%3]})
	}
	writeParts(t, dir, "transactions.parquet", txs, 2, 300)
	evs = nil

	opts := features.Options{AsOf: asOf, Horizon: 30 * 24 * time.Hour}
	want, _, err := history.Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()

	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the heap while the job runs
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	runtime.GC()
	out := t.TempDir()
	p, err := Features(Config{Dir: dir, Opts: opts, Out: out, Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	runPrism(t, p)
	close(stop)
	<-done
	got, _, schema := readFeatureShards(t, out)
	if len(got) != want.Len() {
		t.Fatalf("%d people, want %d", len(got), want.Len())
	}
	for i := range want.Len() {
		w := want.Row(i)
		g := got[w.Strs[0]]
		for c, col := range schema.Columns {
			if !same(g.Nums[c], w.Nums[c]) || g.Strs[c] != w.Strs[c] {
				t.Errorf("person %s, %s: got %v %q, want %v %q", w.Strs[0], col.Name, g.Nums[c], g.Strs[c], w.Nums[c], w.Strs[c])
			}
		}
	}
	if n := got["huge"].Nums[schema.Index("n_events_total")]; n < hugeEvents/2 {
		t.Fatalf("the huge person has %v events before T, want most of %d", n, hugeEvents)
	}
	// The stated worker memory (docs/scale-out.md): the person's state is one accumulator,
	// so the job's heap stays far below what its events would take as values.
	const workerMemory = 512 << 20
	if peak.Load() > workerMemory {
		t.Errorf("peak heap %d MB during the job, over the stated worker memory of %d MB", peak.Load()>>20, workerMemory>>20)
	}
	t.Logf("peak heap of the test process during the job: %.0f MB (the person's %d events would be %.0f MB as features.Event values, before their strings)",
		float64(peak.Load())/(1<<20), hugeEvents, float64(hugeEvents)*float64(reflect.TypeFor[features.Event]().Size())/(1<<20))
}
