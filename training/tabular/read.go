package tabular

import (
	"time"

	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/frame"
)

// ReadOptions tunes ReadTable. The zero value detects everything.
type ReadOptions struct {
	// Comma is the CSV field delimiter. 0 means sniff it (table.Sniff).
	Comma rune
	// Categorical names columns to read as categorical even when every value is a number:
	// codes such as store numbers. (Codes with a leading zero, "01234", are categorical
	// already.) The same as a categorical entry of Overrides.
	Categorical []string
	// Overrides settles the type of named columns (numeric, categorical, drop, date).
	Overrides map[string]table.Override
	// Keep names columns read as plain text without inference: the label and the id.
	Keep []string
	// Skip names columns not to read at all, whatever their type (for instance a Parquet
	// list column such as merged_ids, which a model cannot use).
	Skip []string
	// Missing lists the tokens read as missing (case-insensitive). Nil means the defaults
	// of table.DefaultMissing.
	Missing []string
	// AsOf is the date date columns count days back from; zero means the latest date in
	// the table (or the recorded one).
	AsOf time.Time
	// Recorded applies the column decisions of a model's training table instead of
	// inference (score --table).
	Recorded *table.Report
}

// ReadError reports a problem with a table file: the file, line, column and what was
// expected there. It is the one error type of internal/table.
type ReadError = table.Error

// Errors wrapped by *ReadError.
var (
	ErrEmpty       = table.ErrEmpty
	ErrHeader      = table.ErrHeader
	ErrUnsupported = table.ErrUnsupported
	ErrMalformed   = table.ErrMalformed
	ErrAmbiguous   = table.ErrAmbiguous
)

func (o ReadOptions) table() table.Options {
	ov := make(map[string]table.Override, len(o.Overrides)+len(o.Categorical))
	for k, v := range o.Overrides {
		ov[k] = v
	}
	for _, c := range o.Categorical {
		ov[c] = table.Override{As: table.AsCategorical}
	}
	return table.Options{Comma: o.Comma, Missing: o.Missing, Overrides: ov, Keep: o.Keep, Skip: o.Skip, AsOf: o.AsOf, Recorded: o.Recorded}
}

// ReadTable reads a Parquet file (a ".parquet" file or a directory of ".parquet" part files,
// read in name order) or a delimited text file into a frame, with internal/table's type
// inference: numbers with a decimal dot or comma, thousands separators and currency signs;
// booleans (yes/no, true/false, ja/nein, 1/0) as 1/0; dates as days before the reference
// date; id-like and free-text columns dropped. Errors are *ReadError.
func ReadTable(path string, opts ReadOptions) (*frame.Frame, error) {
	f, _, err := ReadTableReport(path, opts)
	return f, err
}

// ReadTableReport is ReadTable that also returns the column report: every column's detected
// type, how it is used and its share missing.
func ReadTableReport(path string, opts ReadOptions) (*frame.Frame, *table.Report, error) {
	t, err := table.Read(path, opts.table())
	if err != nil {
		return nil, nil, err
	}
	return Frame(t), &t.Report, nil
}

// Frame converts a table's columns into a frame (sharing their slices).
func Frame(t *table.Table) *frame.Frame {
	f := &frame.Frame{Columns: make([]frame.Column, len(t.Columns))}
	for j, c := range t.Columns {
		if c.Kind == table.Numeric {
			f.Columns[j] = frame.Column{Name: c.Name, Kind: frame.Numeric, Num: c.Num}
		} else {
			f.Columns[j] = frame.Column{Name: c.Name, Kind: frame.Categorical, Cat: c.Cat}
		}
	}
	return f
}
