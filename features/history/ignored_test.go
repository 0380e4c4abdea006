package history

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/features"
)

type contactNestedRow struct {
	ContactID string   `parquet:"contact_id"`
	Age       float64  `parquet:"age,optional"`
	Tags      []string `parquet:"tags,list"`
	Address   struct {
		City string `parquet:"city"`
	} `parquet:"address"`
	Span [12]byte `parquet:"span"` // FIXED_LEN_BYTE_ARRAY(12): how INTERVAL is stored
	Seen int64    `parquet:"seen,timestamp(microsecond)"`
}

// TestUnusableContactColumnsAreReported is issue 17, defect 11: LIST, STRUCT and INTERVAL
// (and timestamp) contact columns were dropped from the attributes without a word. They are
// left out, and each is named in Report.IgnoredColumns with its type.
func TestUnusableContactColumnsAreReported(t *testing.T) {
	dir := t.TempDir()
	contacts := filepath.Join(dir, "contacts.parquet")
	writeRows(t, contacts, []contactNestedRow{{ContactID: "c1", Age: 40, Tags: []string{"a"}}, {ContactID: "c2", Age: 30}})
	writeRows(t, filepath.Join(dir, "events.parquet"), []eventRowT{{TS: micros("2025-12-31T12:00:00Z"), Type: "email_open", ContactID: "c1"}})
	table, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	if got := table.Options().Attributes; len(got) != 1 || got[0].Name != "age" {
		t.Errorf("attributes %v, want [age]", got)
	}
	want := map[string]string{"tags": "LIST", "address": "STRUCT (group)", "span": "FIXED_LEN_BYTE_ARRAY", "seen": "INT64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"}
	for _, c := range rep.IgnoredColumns {
		if c.File != contacts || want[c.Column] != c.Found || c.Expected != "number, string or bool" {
			t.Errorf("ignored %+v", c)
		}
		delete(want, c.Column)
	}
	if len(want) != 0 {
		t.Errorf("not reported: %v", want)
	}
}

// TestReportWarnNamesWhatWasLeftOut: every command that reads a history logs its report
// through Report.Warn (features, score, train, personas, evaluate), so the ignored columns,
// the bad rows of each file and an as-of outside the data reach the user's log.
func TestReportWarnNamesWhatWasLeftOut(t *testing.T) {
	dir := t.TempDir()
	contacts := filepath.Join(dir, "contacts.parquet")
	writeRows(t, contacts, []contactNestedRow{{ContactID: "c1", Age: 40, Tags: []string{"a"}}, {ContactID: "c2", Age: 30}})
	writeRows(t, filepath.Join(dir, "events.parquet"), []eventRowT{
		{TS: micros("2025-12-31T12:00:00Z"), Type: "email_open", ContactID: "c1"},
		{TS: micros("2025-12-31T13:00:00Z"), Type: "email_open", ContactID: ""}, // no identifier: a bad row
	})
	table, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf})
	if err != nil {
		t.Fatal(err)
	}
	table.Release()
	if rep.BadRows == 0 {
		t.Fatalf("fixture has no bad row: %+v", rep)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	rep.Warn(log, testAsOf.AddDate(5, 0, 0))
	out := buf.String()
	for _, want := range []string{
		`msg="bad rows"`, "events.parquet",
		`msg="column not used as an attribute"`, "column=tags", "column=address", "column=span", "column=seen",
		"more than 90 days after the history's last event",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	rep.Warn(nil, testAsOf) // no logger: nothing to do, and no panic
}
