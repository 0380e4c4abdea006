package table

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options tunes Read. The zero value detects everything.
type Options struct {
	// Comma is the CSV delimiter; 0 means sniff it (Sniff).
	Comma rune
	// Missing lists the tokens read as missing, compared case-insensitively; the empty cell
	// is always missing. Nil means NA, N/A, NaN, null, none, -, ? and #N/A.
	Missing []string
	// Overrides settles the type of named columns.
	Overrides map[string]Override
	// Keep names columns read as plain text, without inference (a label, an identifier).
	Keep []string
	// Skip names columns not read at all (reported as dropped: left out).
	Skip []string
	// AsOf is the reference date columns count days back from. Zero means the latest date
	// in the table (or the recorded reference, with Recorded).
	AsOf time.Time
	// Recorded, when set, is the report of the table a model was trained on: its decisions
	// are applied instead of inference, and a recorded column that is missing or no longer
	// parses is an error naming it.
	Recorded *Report
}

// Kind is the kind of an output column.
type Kind int

const (
	Numeric     Kind = iota // Num holds numbers, NaN when missing
	Categorical             // Cat holds text, "" when missing
)

// Column is one output column.
type Column struct {
	Name string
	Kind Kind
	Num  []float64
	Cat  []string
}

// Table is a table read by Read: the usable columns and the report of every column.
type Table struct {
	Columns []Column
	Report  Report
}

// Rows returns the number of rows.
func (t *Table) Rows() int { return t.Report.Rows }

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// IsParquet reports whether path is Parquet: a directory (of part files), a .parquet file
// or a file starting with the Parquet magic bytes.
func IsParquet(path string) bool {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return true
	}
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		return true
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	var magic [4]byte
	_, err = io.ReadFull(fh, magic[:])
	return err == nil && string(magic[:]) == "PAR1"
}

// Read reads a CSV file, a Parquet file or a directory of Parquet part files (read in name
// order), deciding every column's type (see the package doc). Errors are *Error.
func Read(path string, opts Options) (*Table, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if err := opts.check(path); err != nil {
		return nil, err
	}
	if opts.Recorded != nil && opts.Missing == nil {
		opts.Missing = opts.Recorded.Missing // the tokens the model's table was read with
	}
	var t *Table
	var err error
	if IsParquet(path) {
		t, err = readParquet(path, opts)
	} else {
		t, err = readCSV(path, opts)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.File == "" {
			e.File = path
		}
		return nil, err
	}
	return t, nil
}

func (o *Options) check(path string) error {
	for col, ov := range o.Overrides {
		if err := ov.Validate(); err != nil {
			return &Error{File: path, Column: col, Err: err}
		}
	}
	return nil
}

// checkNames refuses overrides, kept and skipped columns that the table lacks.
func (o *Options) checkNames(path string, names []string) error {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var want []string
	for c := range o.Overrides {
		want = append(want, c)
	}
	want = append(append(want, o.Keep...), o.Skip...)
	sort.Strings(want)
	for _, c := range want {
		if !have[c] {
			return &Error{File: path, Column: c, Err: ErrColumn, Expected: "one of " + strings.Join(names, ", ")}
		}
	}
	if o.Recorded != nil {
		var missing []string
		for _, c := range o.Recorded.Columns {
			if (c.Use == UseNumeric || c.Use == UseCategorical || c.Use == UseDays) && !have[c.Name] {
				missing = append(missing, strconv.Quote(c.Name))
			}
		}
		if len(missing) > 0 {
			return &Error{File: path, Err: fmt.Errorf("%w: %s, used by the model, missing", ErrColumn, strings.Join(missing, ", ")),
				Expected: "the columns of the table the model was trained on"}
		}
	}
	return nil
}

// reference returns the date days count back from.
func (o *Options) reference(latest time.Time) time.Time {
	if !o.AsOf.IsZero() {
		return o.AsOf.UTC()
	}
	if o.Recorded != nil && o.Recorded.Reference != "" {
		if t, err := time.Parse("2006-01-02", o.Recorded.Reference); err == nil {
			return t
		}
	}
	if latest.IsZero() {
		return latest
	}
	// Days count back from the day after the latest date, so that it is 1 day before.
	return latest.Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// recordedFor returns the recorded decision for a column of the file (a copy, with the
// missing share reset), or a dropped column when the model did not record it.
func (o *Options) recordedFor(name string) ColumnReport {
	if c := o.Recorded.Column(name); c != nil {
		r := *c
		r.Missing = 0
		r.Why = slices.Clone(r.Why)
		return r
	}
	return ColumnReport{Name: name, Type: TypeText, Use: UseDropped, Why: []string{"not used by the model"}}
}

// builder fills the output columns of one table from its plans.
type builder struct {
	plans  []*plan
	out    []int // index of each column's output in cols, -1 when dropped
	cols   []Column
	intern []map[string]string
	miss   []int
	rows   int
}

func newBuilder(plans []*plan, capacity int) *builder {
	b := &builder{plans: plans, out: make([]int, len(plans)), intern: make([]map[string]string, len(plans)), miss: make([]int, len(plans))}
	for j, p := range plans {
		b.out[j] = -1
		switch p.rep.Use {
		case UseDropped:
			continue
		case UseNumeric:
			b.out[j] = len(b.cols)
			b.cols = append(b.cols, Column{Name: p.rep.Name, Kind: Numeric, Num: make([]float64, 0, capacity)})
		case UseDays:
			b.out[j] = len(b.cols)
			b.cols = append(b.cols, Column{Name: p.rep.Name, Kind: Numeric, Num: make([]float64, 0, capacity)})
			if p.rep.Weekday {
				b.cols = append(b.cols, Column{Name: p.rep.Name + WeekdaySuffix, Kind: Categorical, Cat: make([]string, 0, capacity)})
			}
		default: // categorical, kept
			b.out[j] = len(b.cols)
			b.cols = append(b.cols, Column{Name: p.rep.Name, Kind: Categorical, Cat: make([]string, 0, capacity)})
			b.intern[j] = map[string]string{}
		}
	}
	return b
}

// add appends a text cell of column j; the error is what the cell should have been.
func (b *builder) add(j int, v string) error {
	o := b.out[j]
	if o < 0 {
		if b.plans[j].miss.is(v) {
			b.miss[j]++
		}
		return nil
	}
	p := b.plans[j]
	c := &b.cols[o]
	if p.miss.is(v) {
		b.miss[j]++
		if c.Kind == Numeric {
			c.Num = append(c.Num, math.NaN())
			if p.rep.Weekday {
				b.cols[o+1].Cat = append(b.cols[o+1].Cat, "")
			}
		} else {
			c.Cat = append(c.Cat, "")
		}
		return nil
	}
	switch p.rep.Use {
	case UseNumeric:
		x, ok := p.number(v)
		if !ok {
			return fmt.Errorf("%w: %q", ErrType, v)
		}
		c.Num = append(c.Num, x)
	case UseDays:
		d, wd, ok := p.date(v)
		if !ok {
			return fmt.Errorf("%w: %q", ErrType, v)
		}
		c.Num = append(c.Num, d)
		if p.rep.Weekday {
			b.cols[o+1].Cat = append(b.cols[o+1].Cat, wd.String())
		}
	default:
		s, ok := b.intern[j][v]
		if !ok {
			s = strings.Clone(v) // records are reused; keep one copy per distinct value
			b.intern[j][s] = s
		}
		c.Cat = append(c.Cat, s)
	}
	return nil
}

// finish completes the reports (missing shares) and returns the columns.
func (b *builder) finish(rep *Report) []Column {
	rep.Rows = b.rows
	for j, p := range b.plans {
		if b.rows > 0 {
			p.rep.Missing = float64(b.miss[j]) / float64(b.rows)
		}
		if p.rep.Use == UseCategorical || p.rep.Use == UseKept {
			p.rep.Levels = len(b.intern[j])
		}
		rep.Columns = append(rep.Columns, p.rep)
	}
	return b.cols
}

func readCSV(path string, opts Options) (*Table, error) {
	c, err := OpenCSV(path, opts.Comma)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := opts.checkNames(path, c.Header); err != nil {
		return nil, err
	}
	miss := newMissingSet(opts.Missing)
	p := len(c.Header)
	rep := Report{File: filepath.Base(path), Format: "csv", Delimiter: string(c.Dialect.Comma), BOM: c.Dialect.BOM, Missing: missingTokens(opts.Missing)}
	keep, skip := setOf(opts.Keep), setOf(opts.Skip)

	// Pass 1: what each column holds (not needed for recorded decisions).
	st := make([]*stats, p)
	rows := 0
	if opts.Recorded == nil {
		for j, name := range c.Header {
			if !keep[name] && !skip[name] {
				st[j] = newStats()
			}
		}
		for {
			rec, line, err := c.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			rows++
			for j, v := range rec {
				if st[j] != nil {
					st[j].observe(trimSpace(v), line, miss)
				}
			}
		}
		if rows == 0 {
			return nil, &Error{File: path, Line: 2, Err: fmt.Errorf("%w: the file has a header but no rows", ErrEmpty), Expected: "at least one data row"}
		}
		if err := c.Rewind(); err != nil {
			return nil, err
		}
	}

	// Decide.
	var mark byte = '.'
	markWhy := ""
	if opts.Recorded != nil {
		rep.Decimal = opts.Recorded.Decimal
	} else {
		mark, markWhy = fileMark(st, c.Dialect.Comma)
	}
	var latest time.Time
	reps := make([]ColumnReport, p)
	for j, name := range c.Header {
		switch {
		case skip[name]:
			reps[j] = ColumnReport{Name: name, Type: TypeText, Use: UseDropped, Why: []string{"left out"}}
		case keep[name]:
			reps[j] = ColumnReport{Name: name, Type: TypeKept, Use: UseKept}
		case opts.Recorded != nil:
			reps[j] = opts.recordedFor(name)
		default:
			var ov *Override
			if o, ok := opts.Overrides[name]; ok {
				ov = &o
			}
			r, err := decide(name, st[j], rows, mark, markWhy, ov)
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					e.File = path
					return nil, e
				}
				return nil, &Error{File: path, Column: name, Err: err}
			}
			reps[j] = r
			if r.Use == UseDays && st[j].maxDate.After(latest) {
				latest = st[j].maxDate
			}
			if r.Use == UseNumeric && r.Type != TypeBoolean && r.Decimal == "," {
				rep.Decimal = ","
			} else if r.Use == UseNumeric && r.Type != TypeBoolean && rep.Decimal == "" {
				rep.Decimal = "."
			}
		}
	}
	ref := opts.reference(latest)
	if !ref.IsZero() {
		rep.Reference = ref.Format("2006-01-02")
	}
	plans := make([]*plan, p)
	for j := range reps {
		plans[j] = newPlan(reps[j], ref, miss)
	}

	// Pass 2: convert.
	b := newBuilder(plans, rows)
	for {
		rec, line, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		b.rows++
		for j, v := range rec {
			if err := b.add(j, trimSpace(v)); err != nil {
				e := &Error{File: path, Line: line, Column: c.Header[j], Err: err, Expected: plans[j].expected()}
				if opts.Recorded != nil {
					e.Err = fmt.Errorf("%w (the column changed type since the model was trained)", err)
				}
				return nil, e
			}
		}
	}
	if b.rows == 0 {
		return nil, &Error{File: path, Line: 2, Err: fmt.Errorf("%w: the file has a header but no rows", ErrEmpty), Expected: "at least one data row"}
	}
	if rows != 0 && b.rows != rows {
		return nil, &Error{File: path, Err: fmt.Errorf("%w: the file changed while being read", ErrMalformed)}
	}
	cols := b.finish(&rep)
	return &Table{Columns: cols, Report: rep}, nil
}

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func missingTokens(tokens []string) []string {
	if tokens == nil {
		return DefaultMissing()
	}
	return tokens
}

// Header returns the column names of a table without reading its rows: the CSV header, or
// the top-level fields of the (first) Parquet file.
func Header(path string, comma rune) ([]string, error) {
	if !IsParquet(path) {
		c, err := OpenCSV(path, comma)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.Header, nil
	}
	parts, err := PartFiles(path)
	if err != nil {
		return nil, err
	}
	f, pf, err := OpenParquet(parts[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	for _, fl := range pf.Schema().Fields() {
		names = append(names, fl.Name())
	}
	return names, nil
}
