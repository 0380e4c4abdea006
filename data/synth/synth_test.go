package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// history is one small generated history shared by the tests that only read it.
type history struct {
	dir      string
	sum      *Summary
	contacts []contactRow
	events   []eventRow
	txs      []txRow
	ids      []identityRow
	truth    []truthRow
}

var (
	shared     history
	sharedErr  error
	sharedOnce sync.Once
)

const testContacts = 3000

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func readRows[T any](t testing.TB, path string) []T {
	t.Helper()
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return rows
}

func loadShared(t *testing.T) *history {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "synth-test-")
		if err != nil {
			sharedErr = err
			return
		}
		shared.dir = dir
		shared.sum, sharedErr = Generate(context.Background(), dir, Options{Contacts: testContacts, Seed: 7})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	h := &shared
	if h.truth == nil {
		h.contacts = readRows[contactRow](t, filepath.Join(h.dir, ContactsFile))
		h.events = readRows[eventRow](t, filepath.Join(h.dir, EventsFile))
		h.txs = readRows[txRow](t, filepath.Join(h.dir, TransactionsFile))
		h.ids = readRows[identityRow](t, filepath.Join(h.dir, IdentitiesFile))
		h.truth = readRows[truthRow](t, filepath.Join(h.dir, TruthFile))
	}
	return h
}

func TestDeterministic(t *testing.T) {
	opts := Options{Contacts: 1200, Seed: 3}
	a, b := t.TempDir(), t.TempDir()
	opts.Workers = 1
	if _, err := Generate(context.Background(), a, opts); err != nil {
		t.Fatal(err)
	}
	opts.Workers = 3
	if _, err := Generate(context.Background(), b, opts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ContactsFile, EventsFile, TransactionsFile, IdentitiesFile, TruthFile, GeneratorFile} {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with seed 3", name)
		}
	}
	// A different seed gives a different history.
	c := t.TempDir()
	opts.Seed = 4
	if _, err := Generate(context.Background(), c, opts); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(a, EventsFile))
	y, _ := os.ReadFile(filepath.Join(c, EventsFile))
	if bytes.Equal(x, y) {
		t.Error("seeds 3 and 4 gave the same events")
	}
}

func TestAllEventTypesOccur(t *testing.T) {
	h := loadShared(t)
	seen := map[string]int{}
	for _, e := range h.events {
		seen[e.Type]++
	}
	for _, ty := range EventTypes() {
		if seen[ty] == 0 {
			t.Errorf("no %s event in %d events", ty, len(h.events))
		}
	}
	perPerson := float64(len(h.events)) / testContacts
	t.Logf("%.1f events per person; by type %v", perPerson, seen)
	if perPerson < 20 || perPerson > 80 {
		t.Errorf("%.1f events per person, want about 30–60", perPerson)
	}
	for _, e := range h.events {
		if e.Type == "survey" && (e.Value == nil || *e.Value < 0 || *e.Value > 10) {
			t.Fatalf("survey event without an NPS value in 0..10: %+v", e)
		}
		if e.Type != "survey" && e.Value != nil {
			t.Fatalf("%s event with a value", e.Type)
		}
	}
}

// TestAnonymousEventsResolve checks that every anonymous-only event can be attributed to a
// contact through an event carrying both ids or an identities row, and that such events
// exist.
func TestAnonymousEventsResolve(t *testing.T) {
	h := loadShared(t)
	linked := map[string]bool{}
	for _, e := range h.events {
		if e.ContactID != "" && e.AnonymousID != "" {
			linked[e.AnonymousID] = true
		}
	}
	viaIdentities := 0
	for _, r := range h.ids {
		linked[r.IDB] = true
		viaIdentities++
	}
	anon, anonIDs := 0, map[string]bool{}
	for _, e := range h.events {
		if e.ContactID == "" && e.AnonymousID != "" {
			anon++
			anonIDs[e.AnonymousID] = true
			if !linked[e.AnonymousID] {
				t.Fatalf("anonymous id %s is never linked to a contact", e.AnonymousID)
			}
		}
	}
	if anon == 0 || viaIdentities == 0 {
		t.Fatalf("%d anonymous events, %d identity rows: want both > 0", anon, viaIdentities)
	}
	t.Logf("%d anonymous events from %d cookies; %d identity rows", anon, len(anonIDs), viaIdentities)
}

func TestTruthColumns(t *testing.T) {
	h := loadShared(t)
	f, err := os.Open(filepath.Join(h.dir, TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"contact_id", "persona", "persona_name", "p_convert", "converted", "p_churn", "churned", "lambda", "p"} {
		if _, ok := pf.Schema().Lookup(col); !ok {
			t.Errorf("truth.parquet has no %s column", col)
		}
	}
	if len(h.truth) != testContacts {
		t.Errorf("truth has %d rows, want one per person (%d)", len(h.truth), testContacts)
	}
	personas := map[int32]bool{}
	for _, r := range h.truth {
		personas[r.Persona] = true
		if (r.PConvert == nil) == (r.PChurn == nil) || (r.PConvert == nil) != (r.Converted == nil) || (r.PChurn == nil) != (r.Churned == nil) {
			t.Fatalf("%s: want exactly one of (p_convert, converted) and (p_churn, churned)", r.ContactID)
		}
		for _, p := range []*float64{r.PConvert, r.PChurn} {
			if p != nil && !(*p >= 0 && *p <= 1) {
				t.Fatalf("%s: probability %v outside [0, 1]", r.ContactID, *p)
			}
		}
		if math.IsNaN(r.Lambda) || r.Lambda <= 0 || !(r.P >= 0 && r.P <= 1) {
			t.Fatalf("%s: bad BG/NBD draw λ=%v p=%v", r.ContactID, r.Lambda, r.P)
		}
	}
	if len(personas) != DefaultPersonas {
		t.Errorf("%d personas in truth, want %d", len(personas), DefaultPersonas)
	}
}

// TestLabelsMatchFiles derives docs/contract.md §6's label_converted and label_churned from the
// files (people stitched by shared email) and compares them with the truth.
func TestLabelsMatchFiles(t *testing.T) {
	h := loadShared(t)
	asOf, end := DefaultAsOf().UnixMicro(), DefaultAsOf().Add(DefaultHorizon).UnixMicro()
	// Surviving contact per email: earliest created_at, then smallest id.
	survivor := map[string]contactRow{}
	for _, c := range h.contacts {
		s, ok := survivor[c.Email]
		if !ok || c.CreatedAt < s.CreatedAt || (c.CreatedAt == s.CreatedAt && c.ContactID < s.ContactID) {
			survivor[c.Email] = c
		}
	}
	person := map[string]string{}
	for _, c := range h.contacts {
		person[c.ContactID] = survivor[c.Email].ContactID
	}
	before, during := map[string]int{}, map[string]int{}
	for _, x := range h.txs {
		p, ok := person[x.ContactID]
		if !ok {
			t.Fatalf("transaction of unknown contact %s", x.ContactID)
		}
		switch {
		case x.TS < asOf:
			before[p]++
		case x.TS < end:
			during[p]++
		}
	}
	var scores []float64
	var labels []bool
	for _, r := range h.truth {
		if person[r.ContactID] != r.ContactID {
			t.Fatalf("truth row %s is not a surviving contact", r.ContactID)
		}
		if before[r.ContactID] == 0 {
			if r.Converted == nil || (*r.Converted == 1) != (during[r.ContactID] > 0) {
				t.Fatalf("%s: converted=%v but %d purchases in the horizon", r.ContactID, r.Converted, during[r.ContactID])
			}
			scores = append(scores, *r.PConvert)
			labels = append(labels, *r.Converted == 1)
		} else if r.Churned == nil || (*r.Churned == 1) != (during[r.ContactID] == 0) {
			t.Fatalf("%s: churned=%v but %d purchases in the horizon", r.ContactID, r.Churned, during[r.ContactID])
		}
	}
	auc := AUC(scores, labels)
	t.Logf("conversion: %d prospects, AUC of true p_convert = %.3f", len(scores), auc)
	if !(auc > 0.7) {
		t.Errorf("AUC of p_convert vs converted = %.3f, want well above 0.5", auc)
	}
	if math.Abs(auc-h.sum.ConversionAUC) > 1e-12 {
		t.Errorf("summary AUC %.6f, recomputed %.6f", h.sum.ConversionAUC, auc)
	}
}

func TestConversionRate(t *testing.T) {
	h := loadShared(t)
	if r := h.sum.ConversionRate; r < 0.01 || r > 0.2 {
		t.Errorf("conversion rate %.3f, want a few percent", r)
	}
	// Students essentially never convert.
	student := map[string]bool{}
	for _, c := range h.contacts {
		student[c.ContactID] = c.Occupation == "student"
	}
	var sum float64
	var n int
	for _, r := range h.truth {
		if student[r.ContactID] && r.PConvert != nil {
			if *r.PConvert > 0.05 {
				t.Fatalf("student %s has p_convert %.3f", r.ContactID, *r.PConvert)
			}
			sum += *r.PConvert
			n++
		}
	}
	if n == 0 || sum/float64(n) > 0.002 {
		t.Errorf("%d student prospects with mean p_convert %.4f, want some, near 0", n, sum/float64(n))
	}
}

func TestDuplicatesShareEmail(t *testing.T) {
	h := loadShared(t)
	byEmail := map[string][]contactRow{}
	for _, c := range h.contacts {
		byEmail[c.Email] = append(byEmail[c.Email], c)
	}
	dups := 0
	for _, cs := range byEmail {
		if len(cs) > 1 {
			dups++
		}
	}
	if dups == 0 || int64(dups) != h.sum.Duplicates {
		t.Errorf("%d emails shared by two contacts, summary says %d", dups, h.sum.Duplicates)
	}
}

func TestTimestampsInRange(t *testing.T) {
	h := loadShared(t)
	lo := DefaultAsOf().Add(-DefaultHistory - 90*24*time.Hour).UnixMicro()
	hi := DefaultAsOf().Add(DefaultHorizon).UnixMicro()
	for _, e := range h.events {
		if e.TS < lo || e.TS >= hi {
			t.Fatalf("event at %s outside the history", time.UnixMicro(e.TS).UTC())
		}
	}
	for _, x := range h.txs {
		if x.TS < lo || x.TS >= hi || !(x.Amount > 0) || x.Quantity < 1 {
			t.Fatalf("bad transaction %+v", x)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero value", Options{}, true},
		{"negative contacts", Options{Contacts: -1}, false},
		{"too many personas", Options{Personas: 99}, false},
		{"negative personas", Options{Personas: -2}, false},
		{"negative horizon", Options{Horizon: -time.Hour}, false},
		{"windows longer than history", Options{History: 100 * 24 * time.Hour, ConversionWindows: 3}, false},
		{"bad BG/NBD", Options{Purchases: &BGNBD{R: 0, Alpha: 1, A: 1, B: 1}}, false},
		{"bad Gamma-Gamma", Options{Spend: &GammaGamma{P: 1, Q: 0.5, Gamma: 1}}, false},
		{"shared BG/NBD", Options{Purchases: &BGNBD{R: 0.24, Alpha: 4.4, A: 0.79, B: 2.4}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.EnsureDefaults().Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrOptions) {
				t.Fatalf("error %v does not wrap ErrOptions", err)
			}
		})
	}
}

func TestBadOutputDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file, filepath.Join(file, "sub")} {
		if _, err := Generate(context.Background(), dir, Options{Contacts: 10}); !errors.Is(err, ErrOutput) {
			t.Errorf("Generate(%q) = %v, want ErrOutput", dir, err)
		}
	}
	if _, err := Generate(context.Background(), t.TempDir(), Options{Contacts: -5}); !errors.Is(err, ErrOptions) {
		t.Errorf("negative contacts: %v, want ErrOptions", err)
	}
}

func TestTinyHistories(t *testing.T) {
	for _, o := range []Options{{Contacts: 1}, {Contacts: 7, Personas: 1}, {Contacts: 50, Personas: len(Catalog())},
		{Contacts: 40, ConversionWindows: 1, Horizon: 7 * 24 * time.Hour, DuplicateRate: -1}} {
		dir := t.TempDir()
		sum, err := Generate(context.Background(), dir, o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		data, err := os.ReadFile(filepath.Join(dir, GeneratorFile))
		if err != nil || !json.Valid(data) {
			t.Fatalf("%+v: generator.json invalid: %v", o, err)
		}
		if sum.People != o.Contacts || len(readRows[truthRow](t, filepath.Join(dir, TruthFile))) != o.Contacts {
			t.Errorf("%+v: %d people", o, sum.People)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, err := Generate(ctx, dir, Options{Contacts: 5000}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("cancelled run left %d files", len(left))
	}
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5},
		// One of four positive-negative pairs is misordered: 3/4.
		{"one swap", []float64{0.1, 0.3, 0.2, 0.4}, []bool{false, false, true, true}, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AUC(tc.scores, tc.labels); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
	if !math.IsNaN(AUC([]float64{1}, []bool{true})) {
		t.Error("AUC with one class should be NaN")
	}
}

func BenchmarkGenerate(b *testing.B) {
	dir := b.TempDir()
	var events int64
	b.ReportAllocs()
	for b.Loop() {
		sum, err := Generate(context.Background(), dir, Options{Contacts: 5000})
		if err != nil {
			b.Fatal(err)
		}
		events += sum.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// TestEventCodes ties the generator's event constants to the canonical names they index.
func TestEventCodes(t *testing.T) {
	types := EventTypes()
	if nEventTypes != len(types) {
		t.Fatalf("nEventTypes = %d, want %d", nEventTypes, len(types))
	}
	for code, want := range map[int]string{
		evPageView: "page_view", evEmailOpen: "email_open", evEmailClick: "email_click",
		evUnsubscribe: "email_unsubscribe", evFormSubmit: "form_submit", evDownload: "download",
		evWebinar: "webinar", evChat: "chat", evSocial: "social", evTrialStart: "trial_start",
		evSurvey: "survey", evPurchase: "purchase",
	} {
		if types[code] != want {
			t.Errorf("constant %d names %q, want %q", code, types[code], want)
		}
	}
}
