package history

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// Metadata keys written into the feature table's Parquet file.
const (
	MetaSchemaVersion = "propensity.features.schema_version"
	MetaAsOf          = "propensity.features.as_of"
	MetaHorizon       = "propensity.features.horizon"
	MetaOptions       = "propensity.features.options"
	// MetaBuild is the propensity build that wrote the table (propensity version).
	MetaBuild = "propensity.build"
)

// Errors. Typed errors below wrap them, so callers can use errors.Is. Their texts keep the
// "features:" prefix they had before the history reader left package features.
var (
	ErrEmptyDir      = errors.New("features: no history files")
	ErrMissingColumn = errors.New("features: missing required column")
	ErrColumnType    = errors.New("features: wrong column type")
	ErrUnreadable    = errors.New("features: unreadable file")
	ErrNoColumn      = errors.New("features: no such column")
)

// ColumnError reports a column of a history file that is missing or has the wrong type.
type ColumnError struct {
	File     string // path of the file (or part file)
	Column   string // column name in the file
	Expected string // what was expected, e.g. "timestamp or date"
	Found    string // what was found; empty when the column is missing
	Err      error  // ErrMissingColumn or ErrColumnType
}

func (e *ColumnError) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("%s: missing required column %q (expected %s)", e.File, e.Column, e.Expected)
	}
	return fmt.Sprintf("%s: column %q has type %s, expected %s", e.File, e.Column, e.Found, e.Expected)
}

func (e *ColumnError) Unwrap() error { return e.Err }

// FileError reports a history file that cannot be opened or decoded.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Person is a stitched person with its raw history, as ForEachPerson hands it out: the events
// and transactions of every identifier linked to the surviving contact.
type Person struct {
	ContactID string
	MergedIDs []string
	// Attributes holds the surviving contact's columns as a Profile's do: created_at, stage,
	// stage_since and email (under their mapped names) and every attribute column.
	Attributes map[string]any
	Events     []features.Event
	// Transactions holds all transactions, including those at or after the as-of time (labels).
	Transactions []features.Transaction
}

// Profile returns p as an online profile as of asOf.
func (p *Person) Profile(asOf time.Time) features.Profile {
	return features.Profile{ContactID: p.ContactID, AsOf: asOf, Attributes: p.Attributes, Events: p.Events, Transactions: p.Transactions}
}

// CustomerTransaction is one row of a transactions file, with its customer id.
type CustomerTransaction struct {
	Customer string
	TS       time.Time
	Amount   float64
	Product  string
	Category string
	Quantity int64
}

// Report counts what was read and what was left out, per file and reason.
type Report struct {
	Files        []FileReport `json:"files"`
	People       int64        `json:"people"`
	Contacts     int64        `json:"contacts"`
	Events       int64        `json:"events"`
	Transactions int64        `json:"transactions"`
	Identities   int64        `json:"identities"`
	// Unattributed counts events and transactions whose identifiers reach no contact
	// (anonymous-only people): left out by design, not bad rows.
	Unattributed int64 `json:"unattributed"`
	// BadRows is the sum of FileReport.Bad over all files.
	BadRows int64 `json:"bad_rows"`
	// First and Last are the earliest and latest times of the attributed events and
	// transactions read (zero when there are none). An as-of time outside them is most
	// likely a mistake: see AsOfOutside.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// IgnoredColumns lists the contacts columns that were not used as attributes because of
	// their type (when Options.Attributes is nil and attributes are discovered from the file).
	IgnoredColumns []IgnoredColumn `json:"ignored_columns,omitempty"`
	// Of a feature file written with a memory budget (Engine.WriteFeatures): the partitions
	// of people it was built in (1: all in memory), the bytes of temporary files they were
	// spilled to, and the memory the stitched identities and contacts held, measured where
	// the run could need partitions.
	Partitions    int   `json:"partitions,omitempty"`
	SpillBytes    int64 `json:"spill_bytes,omitempty"`
	StitchedBytes int64 `json:"stitched_bytes,omitempty"`
}

// IgnoredColumn is a column left out of the features because of its type.
type IgnoredColumn struct {
	File     string `json:"file"`
	Column   string `json:"column"`
	Found    string `json:"found"`    // its type, e.g. "LIST" or "FIXED_LEN_BYTE_ARRAY"
	Expected string `json:"expected"` // what a column must be to be used
}

// AsOfOutside returns a warning when asOf lies outside the report's time span: before its
// first event or transaction, or more than 90 days (the longest feature window) after its
// last; else "". Commands log it: features as of such a time are computed, but every event
// is in the future, or every windowed count is zero.
func (r *Report) AsOfOutside(asOf time.Time) string {
	if r.First.IsZero() {
		return ""
	}
	switch {
	case asOf.Before(r.First):
		return fmt.Sprintf("as-of %s is before the history's first event or transaction (%s): every feature is empty",
			asOf.UTC().Format(time.RFC3339), r.First.UTC().Format(time.RFC3339))
	case asOf.After(r.Last.Add(90 * 24 * time.Hour)):
		return fmt.Sprintf("as-of %s is more than 90 days after the history's last event or transaction (%s): every windowed count is zero and labels are empty",
			asOf.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339))
	}
	return ""
}

// Warn logs what a job reading the history should tell its user about it: the bad rows of
// each file by reason, the contact columns left out because of their type, and an as-of
// time outside the history's span (AsOfOutside; zero asOf skips that check). Every command
// that reads a history calls it, so nothing read is dropped without a word.
func (r *Report) Warn(log *slog.Logger, asOf time.Time) {
	if log == nil {
		return
	}
	for _, f := range r.Files {
		for reason, n := range f.Bad {
			log.Warn("bad rows", "file", f.File, "reason", reason, "rows", n)
		}
	}
	for _, c := range r.IgnoredColumns {
		log.Warn("column not used as an attribute", "file", c.File, "column", c.Column, "type", c.Found, "expected", c.Expected)
	}
	if asOf.IsZero() {
		return
	}
	if w := r.AsOfOutside(asOf); w != "" {
		log.Warn(w)
	}
}

// merge adds what o counted to r, o's files after r's.
func (r *Report) merge(o *Report) {
	r.Files = append(r.Files, o.Files...)
	r.People += o.People
	r.Contacts += o.Contacts
	r.Events += o.Events
	r.Transactions += o.Transactions
	r.Identities += o.Identities
	r.Unattributed += o.Unattributed
	r.BadRows += o.BadRows
	if !o.First.IsZero() {
		r.span(o.First.UnixNano(), o.Last.UnixNano())
	}
	r.IgnoredColumns = append(r.IgnoredColumns, o.IgnoredColumns...)
}

// span widens the report's time span to [lo, hi] (Unix nanoseconds; lo > hi: nothing).
func (r *Report) span(lo, hi int64) {
	if lo > hi {
		return
	}
	first, last := time.Unix(0, lo).UTC(), time.Unix(0, hi).UTC()
	if r.First.IsZero() || first.Before(r.First) {
		r.First = first
	}
	if r.Last.IsZero() || last.After(r.Last) {
		r.Last = last
	}
}

// tsSpan tracks the earliest and latest of a run of times.
type tsSpan struct{ lo, hi int64 }

func newSpan() tsSpan { return tsSpan{lo: math.MaxInt64, hi: math.MinInt64} }

func (s *tsSpan) add(ts int64) {
	s.lo = min(s.lo, ts)
	s.hi = max(s.hi, ts)
}

// FileReport is what one file (or part file) contributed.
type FileReport struct {
	File string `json:"file"`
	Rows int64  `json:"rows"`
	// Bad counts unusable rows by reason ("null contact_id", "null ts", "NaN amount", ...).
	Bad map[string]int64 `json:"bad,omitempty"`
}
