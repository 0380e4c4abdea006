package history

import (
	"context"
	"path/filepath"
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
