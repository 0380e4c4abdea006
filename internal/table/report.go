package table

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Column types, as reported.
const (
	TypeNumber      = "number"
	TypeInteger     = "integer"
	TypeBoolean     = "boolean"
	TypeDate        = "date"
	TypeID          = "id"
	TypeCategorical = "categorical"
	TypeText        = "text"
	TypeEmpty       = "empty"
	TypeKept        = "kept" // read as plain text for the caller (label, id): Options.Keep
)

// Uses of a column, as reported (the first word of ColumnReport.Use).
const (
	UseNumeric     = "numeric"
	UseCategorical = "categorical"
	UseDays        = "days"
	UseDropped     = "dropped"
	UseKept        = "kept"
)

// ColumnReport is the decision taken for one column: its detected type, how it is used, and
// the rule its cells are parsed with (recorded so that a table scored later is read alike).
type ColumnReport struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Use is how the column is used: numeric, categorical, days (before Report.Reference),
	// kept (for the caller), or dropped.
	Use string `json:"use"`
	// Why says why a column was dropped, or what was done to its values (decimal comma,
	// currency sign stripped, weekday added); empty when there is nothing to say.
	Why []string `json:"why,omitempty"`
	// Missing is the share of rows whose value is missing.
	Missing float64 `json:"missing_share"`
	// Levels is the number of distinct values of a categorical or boolean column.
	Levels int `json:"levels,omitempty"`
	// Override is the override the user set for the column, if any.
	Override string `json:"override,omitempty"`

	// Decimal is the decimal mark of a number column read from text: "." or ",".
	Decimal string `json:"decimal,omitempty"`
	// DateFormat is the format of a date column read from text (yyyy-mm-dd, dd.mm.yyyy,
	// dd/mm/yyyy, mm/dd/yyyy).
	DateFormat string `json:"date_format,omitempty"`
	// True is the value of a boolean column read as 1 (the other reads as 0).
	True string `json:"true,omitempty"`
	// Weekday: a date column also yields Name + WeekdaySuffix, the day of the week.
	Weekday bool `json:"weekday,omitempty"`
	// Parquet: the column came typed from a Parquet file (no text parsing).
	Parquet bool `json:"parquet,omitempty"`
}

// WeekdaySuffix names the day-of-week column added beside a date column.
const WeekdaySuffix = " (weekday)"

// Report is the column report of one table.
type Report struct {
	File string `json:"file"`
	// Format is "csv" or "parquet".
	Format string `json:"format"`
	// Delimiter and BOM describe a CSV file.
	Delimiter string `json:"delimiter,omitempty"`
	BOM       bool   `json:"bom,omitempty"`
	// Decimal is the decimal mark of the file's numbers read from text.
	Decimal string `json:"decimal,omitempty"`
	// Reference is the date that date columns count days back from (YYYY-MM-DD): the as-of
	// date given, else the latest date in the table.
	Reference string `json:"reference,omitempty"`
	// Missing lists the tokens read as missing.
	Missing []string       `json:"missing_tokens"`
	Rows    int            `json:"rows"`
	Columns []ColumnReport `json:"columns"`
}

// Column returns the report of a column, or nil.
func (r *Report) Column(name string) *ColumnReport {
	for i := range r.Columns {
		if r.Columns[i].Name == name {
			return &r.Columns[i]
		}
	}
	return nil
}

// Dropped returns the names of the dropped columns.
func (r *Report) Dropped() []string {
	var out []string
	for _, c := range r.Columns {
		if c.Use == UseDropped {
			out = append(out, c.Name)
		}
	}
	return out
}

// UseText returns how a column is used, in words: "numeric", "categorical (4 levels)",
// "days before 2024-06-30 + weekday", "dropped: id-like (unique per row)".
func (c *ColumnReport) UseText(ref string) string {
	switch c.Use {
	case UseCategorical:
		return fmt.Sprintf("categorical (%d levels)", c.Levels)
	case UseDays:
		s := "days before " + ref
		if c.Weekday {
			s += " + weekday"
		}
		return s
	case UseDropped, UseKept:
		if len(c.Why) > 0 {
			return c.Use + ": " + c.Why[0]
		}
	}
	return c.Use
}

// notes returns the notes of a column other than its drop reason.
func (c *ColumnReport) notes() []string {
	if (c.Use == UseDropped || c.Use == UseKept) && len(c.Why) > 0 {
		return c.Why[1:]
	}
	return c.Why
}

// WriteText writes the report as an aligned table: column, type, use, share missing, notes.
func (r *Report) WriteText(w io.Writer) error {
	head := fmt.Sprintf("columns of %s (%d rows", r.File, r.Rows)
	if r.Format == "csv" {
		head += fmt.Sprintf(", delimiter %q", r.Delimiter)
		if r.Decimal != "" {
			head += fmt.Sprintf(", decimal %q", r.Decimal)
		}
		if r.BOM {
			head += ", byte-order mark skipped"
		}
	}
	head += "):\n"
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  column\ttype\tuse\tmissing\tnotes")
	for i := range r.Columns {
		c := &r.Columns[i]
		notes := strings.Join(c.notes(), "; ")
		if c.Override != "" {
			notes = strings.TrimPrefix(notes+"; override "+c.Override, "; ")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%.1f%%\t%s\n", c.Name, c.Type, c.UseText(r.Reference), 100*c.Missing, notes)
	}
	return tw.Flush()
}

// Rows returns the report as table rows (column, type, use, missing, notes), for HTML.
func (r *Report) TableRows() [][]string {
	out := make([][]string, 0, len(r.Columns))
	for i := range r.Columns {
		c := &r.Columns[i]
		notes := strings.Join(c.notes(), "; ")
		if c.Override != "" {
			notes = strings.TrimPrefix(notes+"; override "+c.Override, "; ")
		}
		out = append(out, []string{c.Name, c.Type, c.UseText(r.Reference), fmt.Sprintf("%.1f%%", 100*c.Missing), notes})
	}
	return out
}
