package history

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/features"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestCheckTimeEdges(t *testing.T) {
	for _, c := range []struct {
		t  time.Time
		ok bool
	}{
		{date(1899, 12, 31).Add(24*time.Hour - time.Nanosecond), false},
		{date(1900, 1, 1), true},
		{date(2026, 1, 1), true},
		{date(2200, 12, 31).Add(24*time.Hour - time.Nanosecond), true},
		{date(2201, 1, 1), false},
		{date(9999, 12, 31), false},
		{date(1, 1, 1), false},
		{date(1677, 1, 1), false},
	} {
		err := features.CheckTime(c.t)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, features.ErrTimeRange)) {
			t.Errorf("CheckTime(%s) = %v, want ok=%v", c.t, err, c.ok)
		}
	}
	first, end := features.TimeRange()
	if first != date(1900, 1, 1) || end != date(2201, 1, 1) {
		t.Errorf("TimeRange() = %s, %s", first, end)
	}
	if err := (features.Options{AsOf: date(1600, 1, 1)}).Validate(); !errors.Is(err, features.ErrBadOptions) || !errors.Is(err, features.ErrTimeRange) {
		t.Errorf("as-of 1600: %v, want ErrBadOptions and ErrTimeRange", err)
	}
}

// edgeHistory writes contacts c1 (valid) and c2 (created in 1700), and for c1 events and
// transactions at times that used to overflow int64 nanoseconds.
func edgeHistory(t *testing.T) string {
	dir := t.TempDir()
	writeRows(t, filepath.Join(dir, "contacts.parquet"), []contactRow{
		{ContactID: "c1", CreatedAt: micros("2025-01-01")},
		{ContactID: "c2", CreatedAt: date(1700, 1, 1).UnixMicro()}, // bad: out of range
	})
	writeRows(t, filepath.Join(dir, "events.parquet"), []eventRowT{
		{TS: micros("2025-12-01T00:00:00Z"), Type: "page_view", ContactID: "c1"},
		{TS: date(2300, 1, 1).UnixMicro(), Type: "page_view", ContactID: "c1"},   // panicked
		{TS: date(2262, 5, 1).UnixMicro(), Type: "page_view", ContactID: "c1"},   // panicked
		{TS: date(1700, 1, 1).UnixMicro(), Type: "page_view", ContactID: "c1"},   // panicked
		{TS: date(9999, 12, 31).UnixMicro(), Type: "page_view", ContactID: "c1"}, // counted as past
		{TS: date(1, 1, 1).UnixMicro(), Type: "page_view", ContactID: "c1"},      // wrong days
		{TS: date(1677, 6, 1).UnixMicro(), Type: "page_view", ContactID: "c1"},   // vanished
	})
	writeRows(t, filepath.Join(dir, "transactions.parquet"), []txRowT{
		{ContactID: "c1", TS: micros("2025-06-01T00:00:00Z"), Amount: 10},
		{ContactID: "c1", TS: date(9999, 12, 31).UnixMicro(), Amount: 10},
		{ContactID: "c1", TS: micros("2025-07-01T00:00:00Z"), Amount: 1e308}, // sum overflowed
		{ContactID: "c1", TS: micros("2025-08-01T00:00:00Z"), Amount: 1e308},
		{ContactID: "c1", TS: micros("2025-09-01T00:00:00Z"), Amount: math.Inf(1)},
	})
	return dir
}

// TestBuildTimesOutOfRange: events at 2300, 2262, 1700 made Build panic, one at 9999 counted
// as a past event, 0001 gave wrong days, 1677 vanished, created_at 1700 gave a negative
// tenure (issue 17, defect 4); two amounts of 1e308 summed to +Inf (defect 5). Now each such
// row is a bad row naming its column, and the features use the valid rows only.
func TestBuildTimesOutOfRange(t *testing.T) {
	dir := edgeHistory(t)
	table, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	bad := map[string]map[string]int64{}
	for _, f := range rep.Files {
		bad[filepath.Base(f.File)] = f.Bad
	}
	want := map[string]map[string]int64{
		"contacts.parquet":     {"out-of-range created_at": 1},
		"events.parquet":       {"out-of-range ts": 6},
		"transactions.parquet": {"out-of-range ts": 1, "non-finite or out-of-range amount": 3},
	}
	for file, reasons := range want {
		for reason, n := range reasons {
			if bad[file][reason] != n {
				t.Errorf("%s: %d rows %q, want %d (report %v)", file, bad[file][reason], reason, n, bad[file])
			}
		}
	}
	if rep.BadRows != 11 {
		t.Errorf("bad rows = %d, want 11", rep.BadRows)
	}
	if ids := table.ContactIDs(); len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("people = %v, want [c1] (c2's created_at is out of range)", ids)
	}
	for name, w := range map[string]float64{
		"days_since_last_event": 31, // 2025-12-01, not 9999 nor 1677
		"n_events_total":        1,
		"purchase_count":        1,
		"purchase_amount_sum":   10,
		"tenure_days":           365,
	} {
		got, err := table.Float64s(name)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != w {
			t.Errorf("%s = %v, want %v", name, got[0], w)
		}
	}
	if !rep.First.Equal(date(2025, 6, 1)) || !rep.Last.Equal(date(2025, 12, 1)) {
		t.Errorf("report span %s .. %s, want 2025-06-01 .. 2025-12-01", rep.First, rep.Last)
	}
	if msg := rep.AsOfOutside(date(2100, 1, 1)); !strings.Contains(msg, "after the history's last") {
		t.Errorf("AsOfOutside(2100) = %q", msg)
	}
	if msg := rep.AsOfOutside(date(2020, 1, 1)); !strings.Contains(msg, "before the history's first") {
		t.Errorf("AsOfOutside(2020) = %q", msg)
	}
	if msg := rep.AsOfOutside(testAsOf); msg != "" {
		t.Errorf("AsOfOutside(%s) = %q, want none", testAsOf, msg)
	}
	// The walk over people reads the same rows.
	n := 0
	prep, err := ForEachPerson(context.Background(), dir, features.Options{AsOf: testAsOf}, func(p *Person) error {
		n++
		if len(p.Events) != 1 || len(p.Transactions) != 1 {
			t.Errorf("%s: %d events, %d transactions, want 1 and 1", p.ContactID, len(p.Events), len(p.Transactions))
		}
		return nil
	})
	if err != nil || n != 1 || prep.BadRows != 11 {
		t.Errorf("ForEachPerson: %v, %d people, %d bad rows; want 1 person, 11 bad rows", err, n, prep.BadRows)
	}
}

// TestTimeArithmeticAcrossCenturies: the accepted range spans 301 years, more than int64
// nanoseconds (292): as-of and event times at its two ends must not wrap around.
func TestTimeArithmeticAcrossCenturies(t *testing.T) {
	asOf := date(2200, 12, 31)
	first := date(1900, 1, 2)
	p := features.Profile{ContactID: "c", AsOf: asOf,
		Attributes:   map[string]any{"created_at": "1900-01-01"},
		Events:       []features.Event{{TS: first, Type: "page_view", Value: math.NaN()}},
		Transactions: []features.Transaction{{TS: first, Amount: 5}}}
	row, err := features.ComputeProfile(p, features.Options{Horizon: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	days := float64(asOf.Unix()-first.Unix()) / 86400
	for name, w := range map[string]float64{
		"days_since_last_event":    days,
		"days_since_last_purchase": days,
		"tenure_days":              days + 1,
		"n_events_90d":             0,
		"purchase_count_90d":       0,
		"purchase_count":           1,
		"decayed_events":           0,
	} {
		if got, _ := row.Float(name); math.Abs(got-w) > 1e-6 {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
}

type edgeTxCSV struct{ name, body string }

// TestReadTransactionsRefusesValues: the CSV reader counts a date outside the range, an
// amount that is not finite or beyond 1e15, and an id that is not UTF-8 as bad rows.
func TestReadTransactionsRefusesValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tx.csv")
	body := "contact_id,ts,amount\n" +
		"a,2025-01-01,10\n" +
		"b,9999-12-31,10\n" +
		"c,1600-01-01,10\n" +
		"d,2025-01-02,1e308\n" +
		"e,2025-01-02,Infinity\n" +
		"f,2025-01-02,1e400\n" +
		"g\xff,2025-01-02,3\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	txs, rep, err := ReadTransactions(path, features.TransactionColumns{})
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 1 || txs[0].Customer != "a" {
		t.Errorf("read %+v, want only a's row", txs)
	}
	want := map[string]int64{"out-of-range ts": 2, "non-finite or out-of-range amount": 3, "non-UTF-8 contact_id": 1}
	for reason, n := range want {
		if rep.Files[0].Bad[reason] != n {
			t.Errorf("%q: %d, want %d (%v)", reason, rep.Files[0].Bad[reason], n, rep.Files[0].Bad)
		}
	}
}

type dictEventRow struct {
	TS        int64  `parquet:"ts,timestamp(microsecond)"`
	Type      string `parquet:"type,dict"`
	ContactID string `parquet:"contact_id,dict"`
	Page      string `parquet:"page,dict,optional"`
}

type utf8ContactRow struct {
	ContactID string  `parquet:"contact_id"`
	Age       float64 `parquet:"age,optional"`
	Income    string  `parquet:"income,optional"`
}

// TestBuildRefusesInvalidText: strings that are not UTF-8 passed into the feature table
// (which DuckDB then refused to read; issue 17, defect 9). Now their rows are bad rows, in
// plain and dictionary-encoded columns, and every string written is UTF-8. Non-finite
// contact attributes (a double +Inf, a text "-inf" of a numeric column) are bad rows too.
func TestBuildRefusesInvalidText(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, filepath.Join(dir, "contacts.parquet"), []utf8ContactRow{
		{ContactID: "c1", Age: 30, Income: "1000"},
		{ContactID: "c\xff2", Age: 31},
		{ContactID: "c3", Age: math.Inf(1)},
		{ContactID: "c4", Income: "-inf"},
		{ContactID: "c5", Income: "lots"}, // not a number: missing, not bad
	})
	writeRows(t, filepath.Join(dir, "events.parquet"), []dictEventRow{
		{TS: micros("2025-12-01T00:00:00Z"), Type: "page_view", ContactID: "c1", Page: "/ok"},
		{TS: micros("2025-12-02T00:00:00Z"), Type: "page_view", ContactID: "c1", Page: "/bad\xc3"},
		{TS: micros("2025-12-03T00:00:00Z"), Type: "page\xffview", ContactID: "c1"},
		{TS: micros("2025-12-04T00:00:00Z"), Type: "page_view", ContactID: "c1", Page: "/ok"},
	})
	table, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf,
		Attributes: []features.Attribute{{Name: "age"}, {Name: "income"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	bad := map[string]int64{}
	for _, f := range rep.Files {
		for k, v := range f.Bad {
			bad[filepath.Base(f.File)+": "+k] += v
		}
	}
	for reason, n := range map[string]int64{
		"contacts.parquet: non-UTF-8 contact_id": 1,
		"contacts.parquet: non-finite age":       1,
		"contacts.parquet: non-finite income":    1,
		"events.parquet: non-UTF-8 page":         1,
		"events.parquet: non-UTF-8 type":         1,
	} {
		if bad[reason] != n {
			t.Errorf("%s: %d, want %d (%v)", reason, bad[reason], n, bad)
		}
	}
	if ids := strings.Join(table.ContactIDs(), ","); ids != "c1,c5" {
		t.Errorf("people = %s, want c1,c5", ids)
	}
	if got, _ := table.Float64s("n_events_total"); got[0] != 2 {
		t.Errorf("c1 has %v events, want 2", got[0])
	}
	for i := range table.Len() {
		r := table.Row(i)
		for c, s := range r.Strs {
			if !utf8.ValidString(s) {
				t.Errorf("row %d column %s: %q is not UTF-8", i, r.Schema.Columns[c].Name, s)
			}
		}
	}
}

// TestDecodeProfileRefusesValues: every value outside what features accepts is refused with
// the field named (issue 17, defects 4, 5 and 9); encoding/json used to turn invalid UTF-8
// into U+FFFD without a word.
func TestDecodeProfileRefusesValues(t *testing.T) {
	now := testAsOf
	for _, c := range []struct {
		name, body, field string
	}{
		{"event in 2300", `{"contact_id":"c","events":[{"type":"x","ts":"2026-01-01"},{"type":"x","ts":"2300-01-01"}]}`, "events[1].ts"},
		{"event in 1899", `{"contact_id":"c","events":[{"type":"x","ts":"1899-12-31T23:59:59Z"}]}`, "events[0].ts"},
		{"as_of 1600", `{"contact_id":"c","as_of":"1600-01-01"}`, "as_of"},
		{"as_of 3000", `{"contact_id":"c","as_of":"3000-01-01"}`, "as_of"},
		{"transaction in 9999", `{"contact_id":"c","transactions":[{"ts":"9999-12-31","amount":1}]}`, "transactions[0].ts"},
		{"created_at 1700", `{"contact_id":"c","attributes":{"created_at":"1700-01-01"}}`, "attributes.created_at"},
		{"amount 1e308", `{"contact_id":"c","transactions":[{"ts":"2025-01-01","amount":1e308}]}`, "transactions[0].amount"},
		{"value 1e308", `{"contact_id":"c","events":[{"type":"x","ts":"2025-01-01","value":-1e308}]}`, "events[0].value"},
		{"contact_id not UTF-8", "{\"contact_id\":\"c\xff\"}", "contact_id"},
		{"page not UTF-8", "{\"contact_id\":\"c\",\"events\":[{\"type\":\"x\",\"ts\":\"2025-01-01\",\"page\":\"\xc3\"}]}", "events[0].page"},
		{"lone surrogate", `{"contact_id":"c","events":[{"type":"x","ts":"2025-01-01","page":"a\ud800b"}]}`, "events[0].page"},
		{"low surrogate", `{"contact_id":"\udc00"}`, "contact_id"},
		{"attribute value", "{\"contact_id\":\"c\",\"attributes\":{\"plan\":\"\xff\"}}", "attributes.plan"},
		{"attribute key", "{\"contact_id\":\"c\",\"attributes\":{\"\xff\":1}}", "attributes (a key)"},
		{"product", "{\"contact_id\":\"c\",\"transactions\":[{\"ts\":\"2025-01-01\",\"amount\":1,\"product\":\"\xfe\"}]}", "transactions[0].product"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := features.DecodeProfile(strings.NewReader(c.body), now)
			var fe *features.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err = %v, want a FieldError naming %s", err, c.field)
			}
		})
	}
	for _, body := range []string{
		`{"contact_id":"c","events":[{"type":"x","ts":"1900-01-01"},{"type":"x","ts":"2200-12-31T23:59:59Z"}]}`,
		`{"contact_id":"\ud83d\ude00 ok","as_of":"2200-12-31","transactions":[{"ts":"2025-01-01","amount":1e15}]}`,
		`{"contact_id":"é","attributes":{"plan":"Infinity","income":"NaN"}}`, // strings, not numbers, until a model asks
	} {
		if _, err := features.DecodeProfile(strings.NewReader(body), now); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// TestNonFiniteAttributeStrings: "Infinity", "-inf", "+Inf" and "NaN" were parsed as numbers
// for a numeric attribute (HTTP 500; issue 17, defect 5). They are bad input naming the
// attribute; text that is no number at all is a missing value; categorical attributes keep
// the text.
func TestNonFiniteAttributeStrings(t *testing.T) {
	opts := features.Options{AsOf: testAsOf, Attributes: []features.Attribute{{Name: "income"}, {Name: "plan", Categorical: true}}}
	for _, c := range []struct {
		v   any
		bad bool
	}{
		{"Infinity", true}, {"-inf", true}, {"+Inf", true}, {"NaN", true}, {"1e400", true}, {math.Inf(-1), true},
		{"1e308", false}, {"lots", false}, {12.5, false}, {nil, false}, {math.NaN(), false},
	} {
		p := features.Profile{ContactID: "c", Attributes: map[string]any{"income": c.v, "plan": "Infinity"}}
		row, err := features.ComputeProfile(p, opts)
		var fe *features.FieldError
		if c.bad != (err != nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != "attributes.income")) {
			t.Errorf("income %v: err = %v, want bad=%v naming attributes.income", c.v, err, c.bad)
			continue
		}
		if err == nil {
			if s, _ := row.String("plan"); s != "Infinity" {
				t.Errorf("plan = %q, want the text", s)
			}
			if x, _ := row.Float("income"); math.IsInf(x, 0) {
				t.Errorf("income %v gave %v", c.v, x)
			}
		}
	}
}
