package history

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/shareddata"
)

// Alternative layouts the readers must accept: date instead of timestamp, integer ids.
type cdnowRow struct {
	CustomerID int64   `parquet:"customer_id"`
	Date       int32   `parquet:"date,date"`
	Amount     float64 `parquet:"amount"`
}

type intContactRow struct {
	ContactID int64 `parquet:"contact_id"`
}

type intEventRow struct {
	TS        int32  `parquet:"ts,date"`
	Type      string `parquet:"type"`
	ContactID int64  `parquet:"contact_id"`
}

type badTSEventRow struct {
	TS        string `parquet:"ts"`
	Type      string `parquet:"type"`
	ContactID string `parquet:"contact_id"`
}

type noTypeEventRow struct {
	TS        int64  `parquet:"ts,timestamp(microsecond)"`
	ContactID string `parquet:"contact_id"`
}

func micros(s string) int64 {
	t, err := features.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

func f64(x float64) *float64 { return &x }

// smallHistory writes a hand-checked history: three contacts of whom c1 and c2 are one person
// (shared email), an anonymous visitor linked to c3, one anonymous-only visitor.
func smallHistory(t *testing.T) string {
	dir := t.TempDir()
	writeRows(t, filepath.Join(dir, "contacts.parquet"), []contactRow{
		{ContactID: "c2", CreatedAt: micros("2025-01-01"), Email: "a@x", Stage: "lead", Age: 30, Plan: "pro"},
		{ContactID: "c1", CreatedAt: micros("2025-01-01"), Email: "a@x", Stage: "customer", Age: 40, Plan: "free"},
		{ContactID: "c3", Email: "b@x", Stage: "lead"},
		{ContactID: "", Email: "nobody@x"}, // bad row
	})
	writeRows(t, filepath.Join(dir, "events.parquet"), []eventRowT{
		{TS: micros("2025-12-31T12:00:00Z"), Type: "email_open", ContactID: "c2"},
		{TS: micros("2025-12-31T12:05:00Z"), Type: "email_click", Email: "a@x"},
		{TS: micros("2025-12-20T00:00:00Z"), Type: "page_view", AnonymousID: "anon-1", Page: "/Pricing"},
		{TS: micros("2025-12-21T00:00:00Z"), Type: "form_submit", AnonymousID: "anon-1", Email: "b@x"},
		{TS: micros("2025-11-01T00:00:00Z"), Type: "survey", ContactID: "c3", Value: f64(6)},
		{TS: micros("2025-12-01T00:00:00Z"), Type: "survey", ContactID: "c3", Value: f64(9)},
		{TS: micros("2025-12-25T00:00:00Z"), Type: "page_view", AnonymousID: "anon-only"},
		{TS: micros("2026-01-01T00:00:00Z"), Type: "page_view", ContactID: "c1"}, // at T: not a feature
		{Type: "page_view", ContactID: "c1"},                                     // null ts: bad
	})
	writeRows(t, filepath.Join(dir, "transactions.parquet"), []txRowT{
		{ContactID: "c1", TS: micros("2025-06-01T10:00:00Z"), Amount: 10, Product: "book"},
		{ContactID: "a@x", TS: micros("2025-06-01T18:00:00Z"), Amount: 5, Product: "music"},
		{ContactID: "c2", TS: micros("2025-09-01T00:00:00Z"), Amount: 20, Product: "book"},
		{ContactID: "c1", TS: micros("2026-02-01T00:00:00Z"), Amount: 7, Product: "book"}, // label window
		{ContactID: "c3", TS: micros("2025-09-01T00:00:00Z"), Amount: math.NaN()},         // bad
	})
	return dir
}

func TestSmallHistory(t *testing.T) {
	dir := smallHistory(t)
	table, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	if got := table.ContactIDs(); strings.Join(got, ",") != "c1,c3" {
		t.Fatalf("people = %v, want [c1 c3] (c2 merged into c1: same created_at, smaller id)", got)
	}
	if m := table.MergedIDs(); len(m[0]) != 1 || m[0][0] != "c2" || len(m[1]) != 0 {
		t.Errorf("merged_ids = %v", m)
	}
	if rep.BadRows != 3 || rep.Unattributed != 1 {
		t.Errorf("report: %d bad rows (want 3), %d unattributed (want 1): %+v", rep.BadRows, rep.Unattributed, rep)
	}
	want := map[string][2]float64{ // column → (c1, c3)
		"n_events_30d":             {2, 2},
		"n_email_open_7d":          {1, 0},
		"n_email_click_7d":         {1, 0},
		"n_page_view_30d":          {0, 1},
		"page_pricing_30d":         {0, 1},
		"n_survey_90d":             {0, 2},
		"purchase_count":           {3, 0},
		"purchase_amount_sum":      {35, 0},
		"rfm_frequency":            {1, math.NaN()}, // two purchase days: 2025-06-01, 2025-09-01
		"rfm_recency_days":         {92, math.NaN()},
		"rfm_age_days":             {213, math.NaN()}, // 2025-06-01 → 2025-12-31
		"rfm_monetary":             {20, math.NaN()},
		"spend_book":               {30, 0},
		"satisfaction_last":        {math.NaN(), 9},
		"satisfaction_trend":       {math.NaN(), 3},
		"days_since_last_event":    {(11 + 55.0/60) / 24, 11},
		"tenure_days":              {365, math.NaN()},
		"label_purchase":           {1, 0},
		"label_converted":          {math.NaN(), 0},
		"label_churned":            {0, math.NaN()},
		"label_spend":              {7, 0},
		"age":                      {40, math.NaN()},
		"email_click_to_open_90d":  {1, math.NaN()},
		"days_since_last_purchase": {122, math.NaN()},
	}
	for name, w := range want {
		got, err := table.Float64s(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for i := range 2 {
			if !sameValue(got[i], w[i]) {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], w[i])
			}
		}
	}
	for name, w := range map[string][2]string{"stage": {"customer", "lead"}, "plan": {"free", ""}, "preferred_category": {"book", ""}} {
		got, err := table.Strings(name)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != w[0] || got[1] != w[1] {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
	// round trip through Parquet
	out := filepath.Join(t.TempDir(), "f.parquet")
	if err := WriteParquet(out, table); err != nil {
		t.Fatal(err)
	}
	back, err := ReadParquet(out)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Release()
	if strings.Join(back.Schema().Names(), ",") != strings.Join(table.Schema().Names(), ",") {
		t.Fatalf("columns changed in the round trip")
	}
	for i := range table.Len() {
		a, b := table.Row(i), back.Row(i)
		for c := range a.Nums {
			if !sameValue(a.Nums[c], b.Nums[c]) || a.Strs[c] != b.Strs[c] {
				t.Errorf("row %d column %s: %v/%q → %v/%q", i, a.Schema.Columns[c].Name, a.Nums[c], a.Strs[c], b.Nums[c], b.Strs[c])
			}
		}
		if strings.Join(a.MergedIDs, ",") != strings.Join(b.MergedIDs, ",") {
			t.Errorf("row %d merged_ids %v → %v", i, a.MergedIDs, b.MergedIDs)
		}
	}
	if back.Options().AsOf != testAsOf || back.Options().Horizon != 90*24*time.Hour {
		t.Errorf("options not kept: %+v", back.Options())
	}
}

func TestReadErrors(t *testing.T) {
	good := smallHistory(t)
	cases := []struct {
		name  string
		setup func(dir string)
		want  error
		msg   string // substring of the message
	}{
		{"wrong type", func(dir string) {
			writeRows(t, filepath.Join(dir, "events.parquet"), []badTSEventRow{{TS: "yesterday", Type: "x", ContactID: "c1"}})
		}, ErrColumnType, `column "ts" has type BYTE_ARRAY`},
		{"missing column", func(dir string) {
			writeRows(t, filepath.Join(dir, "events.parquet"), []noTypeEventRow{{TS: 1, ContactID: "c1"}})
		}, ErrMissingColumn, `missing required column "type"`},
		{"unreadable file", func(dir string) {
			os.WriteFile(filepath.Join(dir, "transactions.parquet"), []byte("not parquet at all"), 0o644)
		}, ErrUnreadable, "transactions.parquet"},
		{"events and transactions both bad: the events' error, as read in sequence", func(dir string) {
			writeRows(t, filepath.Join(dir, "events.parquet"), []badTSEventRow{{TS: "yesterday", Type: "x", ContactID: "c1"}})
			os.WriteFile(filepath.Join(dir, "transactions.parquet"), []byte("not parquet at all"), 0o644)
		}, ErrColumnType, `column "ts" has type BYTE_ARRAY`},
		{"empty part directory", func(dir string) {
			os.Remove(filepath.Join(dir, "events.parquet"))
			os.Mkdir(filepath.Join(dir, "events.parquet"), 0o755)
		}, ErrEmptyDir, "events.parquet"},
		{"no contacts", func(dir string) {
			os.Remove(filepath.Join(dir, "contacts.parquet"))
		}, ErrEmptyDir, "contacts.parquet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"contacts", "events", "transactions"} {
				copyFile(t, filepath.Join(good, f+".parquet"), filepath.Join(dir, f+".parquet"))
			}
			tc.setup(dir)
			_, _, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	t.Run("empty directory", func(t *testing.T) {
		_, _, err := Build(context.Background(), t.TempDir(), features.Options{AsOf: testAsOf})
		if !errors.Is(err, ErrEmptyDir) {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("no as-of", func(t *testing.T) {
		_, _, err := Build(context.Background(), good, features.Options{})
		if !errors.Is(err, features.ErrBadOptions) {
			t.Fatalf("error = %v", err)
		}
	})
}

// TestIntegerIDsAndDates reads integer ids as strings and dates as midnight UTC.
func TestIntegerIDsAndDates(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, filepath.Join(dir, "contacts.parquet"), []intContactRow{{7}, {8}})
	writeRows(t, filepath.Join(dir, "events.parquet"), []intEventRow{{TS: int32(micros("2025-12-30") / 86400e6), Type: "chat", ContactID: 7}})
	table, _, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	days, _ := table.Float64s("days_since_last_event")
	if ids := table.ContactIDs(); ids[0] != "7" || days[0] != 2 || !math.IsNaN(days[1]) {
		t.Errorf("ids %v, days_since_last_event %v", ids, days)
	}
}

func TestReadTransactions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tx.parquet")
	writeRows(t, p, []cdnowRow{{1, 9862, 29.33}, {1, 9900, 12}, {2, 9863, math.NaN()}})
	txs, rep, err := ReadTransactions(p, features.TransactionColumns{ContactID: "customer_id", TS: "date", Amount: "amount"})
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 2 || rep.BadRows != 1 || txs[0].Customer != "1" || !txs[0].TS.Equal(time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v, report %+v", txs, rep)
	}
	csvPath := filepath.Join(dir, "tx.csv")
	os.WriteFile(csvPath, []byte("customer_id;date;amount\n1;19970101;29.33\n2;1997-01-02;x\n"), 0o644)
	txs, rep, err = ReadTransactions(csvPath, features.TransactionColumns{ContactID: "customer_id", TS: "date", Amount: "amount"})
	if err != nil || len(txs) != 1 || rep.BadRows != 1 || txs[0].Amount != 29.33 {
		t.Errorf("csv: %+v %+v %v", txs, rep, err)
	}
	_, _, err = ReadTransactions(p, features.TransactionColumns{ContactID: "customer_id", TS: "when", Amount: "amount"})
	if !errors.Is(err, ErrMissingColumn) {
		t.Errorf("missing column: %v", err)
	}
}

// TestCDNOW reads the published CDNOW sample (customer_id int64, date DATE, amount double).
func TestCDNOW(t *testing.T) {
	p := filepath.Join(shareddata.Dir(t), "cdnow", "transactions_sample.parquet")
	txs, rep, err := ReadTransactions(p, features.TransactionColumns{ContactID: "customer_id", TS: "date", Amount: "amount"})
	if err != nil {
		t.Fatal(err)
	}
	customers := map[string]bool{}
	for _, x := range txs {
		customers[x.Customer] = true
	}
	// 6,919 purchases of 2,357 customers (the datasets README, docs/performance.md)
	if len(txs) != 6919 || len(customers) != 2357 || rep.BadRows != 0 {
		t.Errorf("%d transactions of %d customers, %d bad rows", len(txs), len(customers), rep.BadRows)
	}
}

// FuzzReadHistory feeds arbitrary bytes as an events file: errors, never panics.
func FuzzReadHistory(f *testing.F) {
	var buf bytes.Buffer
	if err := writeRowsTo(&buf, []eventRowT{{TS: 1, Type: "page_view", ContactID: "c1", Page: "/p", Value: f64(2)}, {Type: "x"}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	var cbuf bytes.Buffer
	if err := writeRowsTo(&cbuf, []contactRow{{ContactID: "c1"}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "contacts.parquet"), cbuf.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "events.parquet"), data, 0o644)
		table, _, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
		if err == nil {
			table.Release()
		}
	})
}

// FuzzReadTransactions feeds arbitrary bytes to the Parquet and CSV transaction readers.
func FuzzReadTransactions(f *testing.F) {
	var buf bytes.Buffer
	if err := writeRowsTo(&buf, []cdnowRow{{1, 9862, 29.33}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes(), false)
	f.Add([]byte("customer_id,date,amount\n1,1997-01-01,3\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		name := "tx.parquet"
		if csv {
			name = "tx.csv"
		}
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, data, 0o644)
		txs, _, err := ReadTransactions(p, features.TransactionColumns{ContactID: "customer_id", TS: "date", Amount: "amount"})
		if err != nil {
			return
		}
		for _, x := range txs {
			if math.IsNaN(x.Amount) || x.Customer == "" {
				t.Fatalf("bad transaction returned: %+v", x)
			}
		}
	})
}

// TestDefect11StrictProfileJSON: bodies encoding/json accepted silently (issue 17, defect
// 11) are refused, naming the field: duplicate keys (the last used to win), a null body (an
// empty profile), {} (an empty contact_id), and keys in another case.
func TestDefect11StrictProfileJSON(t *testing.T) {
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ name, body, field, msg string }{
		{"duplicate top-level key", `{"contact_id":"a","contact_id":"b"}`, "contact_id", "twice"},
		{"duplicate attribute", `{"contact_id":"a","attributes":{"age":40,"age":"x"}}`, "attributes.age", "twice"},
		{"duplicate event key", `{"contact_id":"a","events":[{"type":"x","ts":"2026-01-01"},{"type":"a","ts":"2026-01-01","type":"b"}]}`, "events[1].type", "twice"},
		{"duplicate transaction key", `{"contact_id":"a","transactions":[{"ts":"2026-01-01","amount":1,"amount":2}]}`, "transactions[0].amount", "twice"},
		{"null body", `null`, "(body)", "got null"},
		{"array body", ` [] `, "(body)", "array"},
		{"empty object", `{}`, "contact_id", "required"},
		{"null id", `{"contact_id":null}`, "contact_id", "required"},
		{"empty id", `{"contact_id":""}`, "contact_id", "required"},
		{"case variant", `{"Contact_ID":"x"}`, "Contact_ID", "case-sensitive"},
		{"case duplicate", `{"contact_id":"a","CONTACT_ID":"b"}`, "CONTACT_ID", "case-sensitive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := features.DecodeProfile(strings.NewReader(c.body), now)
			var fe *features.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Errorf("%s: error %v, want field %s (%q)", c.body, err, c.field, c.msg)
			}
		})
	}
	// Attribute keys differing only in case are distinct attributes.
	if _, err := features.DecodeProfile(strings.NewReader(`{"contact_id":"a","attributes":{"age":1,"Age":2}}`), now); err != nil {
		t.Errorf("attributes age and Age: %v", err)
	}
}

// TestDuplicateContactIDs checks how the contacts file's repeated ids are read: the first
// row of an id is kept and a later one is a bad row ("duplicate contact_id"); an id that is
// another contact's email is not a duplicate but a second contact of the same person.
func TestDuplicateContactIDs(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, filepath.Join(dir, "contacts.parquet"), []contactRow{
		{ContactID: "c1", CreatedAt: micros("2025-01-01"), Email: "shared@x", Age: 30},
		{ContactID: "c2", CreatedAt: micros("2025-02-01"), Age: 40},
		{ContactID: "c1", CreatedAt: micros("2025-03-01"), Age: 50}, // duplicate: refused
		{ContactID: "shared@x", CreatedAt: micros("2025-04-01"), Age: 60},
		{ContactID: "c2", Age: 70}, // duplicate: refused
	})
	writeRows(t, filepath.Join(dir, "events.parquet"), []eventRowT{
		{TS: micros("2025-12-01T00:00:00Z"), Type: "page_view", ContactID: "c1"},
	})
	tab, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Release()
	var bad map[string]int64
	for _, f := range rep.Files {
		if filepath.Base(f.File) == "contacts.parquet" {
			bad = f.Bad
		}
	}
	if bad["duplicate contact_id"] != 2 || rep.BadRows != 2 {
		t.Errorf("bad rows %v (total %d), want 2 duplicate contact_id", bad, rep.BadRows)
	}
	if got := tab.ContactIDs(); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("people %v, want c1 (merged with the contact shared@x) and c2", got)
	}
	if got := tab.MergedIDs(); !slices.Equal(got[0], []string{"shared@x"}) || len(got[1]) != 0 {
		t.Errorf("merged ids %v, want [[shared@x] []]", got)
	}
	age, err := tab.Float64s("age")
	if err != nil {
		t.Fatal(err)
	}
	if age[0] != 30 || age[1] != 40 {
		t.Errorf("age %v, want the first rows' 30 and 40", age)
	}
}
