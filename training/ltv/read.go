package ltv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/table"
)

// Errors of reading a transactions file, wrapped in *ReadError.
var (
	ErrColumn    = table.ErrColumn
	ErrType      = table.ErrUnsupported
	ErrMalformed = table.ErrMalformed
	ErrEmpty     = errors.New("no transactions")
)

// ReadError names the file, and when known the line, the column and what was expected: the
// one error type of internal/table.
type ReadError = table.Error

// Columns names the transaction columns. An empty field means the first of its default
// names present in the file: customer contact_id (docs/contract.md §1), customer_id, customer;
// time ts, date, timestamp, time; amount amount, value, revenue.
type Columns struct {
	Customer string
	Time     string // a DATE or TIMESTAMP column (CSV: YYYY-MM-DD, YYYYMMDD or RFC 3339)
	Amount   string
}

var defaultColumns = [3][]string{
	{"contact_id", "customer_id", "customer"},
	{"ts", "date", "timestamp", "time"},
	{"amount", "value", "revenue"},
}

func (c Columns) withDefaults() Columns {
	if c.Customer == "" {
		c.Customer = defaultColumns[0][0]
	}
	if c.Time == "" {
		c.Time = defaultColumns[1][0]
	}
	if c.Amount == "" {
		c.Amount = defaultColumns[2][0]
	}
	return c
}

// resolve picks the column names among have: explicit names are kept, empty ones take the
// first default present (or the contract's name, so the error names it).
func (c Columns) resolve(have []string) [3]string {
	out := [3]string{c.Customer, c.Time, c.Amount}
	for j := range out {
		if out[j] != "" {
			continue
		}
		out[j] = defaultColumns[j][0]
		for _, cand := range defaultColumns[j] {
			if slices.Contains(have, cand) {
				out[j] = cand
				break
			}
		}
	}
	return out
}

// Transactions holds purchases column-wise: the customer of row i is IDs[Customer[i]], its
// UTC calendar day (days since 1970-01-01) Day[i] and its amount Amount[i].
type Transactions struct {
	IDs      []string
	Customer []int32
	Day      []int64
	Amount   []float64
	// Skipped counts rows that could not be used (null customer, time or amount, NaN amount).
	Skipped int64
}

type builder struct {
	tx     Transactions
	strIDs map[string]int32
	intIDs map[int64]int32
}

func newBuilder() *builder {
	return &builder{strIDs: map[string]int32{}, intIDs: map[int64]int32{}}
}

func (b *builder) idString(s []byte) int32 {
	if j, ok := b.strIDs[string(s)]; ok {
		return j
	}
	j := int32(len(b.tx.IDs))
	k := string(s)
	b.strIDs[k] = j
	b.tx.IDs = append(b.tx.IDs, k)
	return j
}

func (b *builder) idInt(v int64) int32 {
	if j, ok := b.intIDs[v]; ok {
		return j
	}
	j := int32(len(b.tx.IDs))
	b.intIDs[v] = j
	b.tx.IDs = append(b.tx.IDs, strconv.FormatInt(v, 10))
	return j
}

// ReadTransactions reads a Parquet file, a directory of Parquet part files (read in name
// order), or a CSV file (by extension .csv/.tsv/.txt; comma, semicolon or tab separated,
// with a header). Customer ids may be strings or integers; the time column a DATE, a
// TIMESTAMP or (CSV) text. Unusable rows are counted in Skipped, never silently dropped.
func ReadTransactions(path string, cols Columns) (*Transactions, error) {
	b := newBuilder()
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		parts, err := table.PartFiles(path)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			if err := b.readParquet(p, cols); err != nil {
				return nil, err
			}
		}
	case isCSV(path):
		if err := b.readCSV(path, cols); err != nil {
			return nil, err
		}
	default:
		if err := b.readParquet(path, cols); err != nil {
			return nil, err
		}
	}
	if len(b.tx.Day) == 0 {
		return nil, &ReadError{File: path, Err: ErrEmpty}
	}
	return &b.tx, nil
}

func isCSV(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt":
		return true
	}
	return false
}

type pqKind int

const (
	pqString pqKind = iota
	pqInt
	pqFloat
	pqDate      // int32 days
	pqTimestamp // int64 in unit
)

func (b *builder) readParquet(path string, cols Columns) (err error) {
	fh, pf, err := table.OpenParquet(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	defer func() {
		// parquet-go may panic on corrupt pages; a file must never crash the process.
		if r := recover(); r != nil {
			err = &ReadError{File: path, Err: fmt.Errorf("%w: %v", ErrMalformed, r)}
		}
	}()
	names := cols.resolve(columnNames(pf))
	var idx [3]int
	var kind [3]pqKind
	var unit [3]int64 // timestamp units per day
	for j, name := range names {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return &ReadError{File: path, Column: name, Err: fmt.Errorf("%w (have %s)", ErrColumn, strings.Join(columnNames(pf), ", "))}
		}
		idx[j] = leaf.ColumnIndex
		if leaf.MaxRepetitionLevel > 0 {
			return &ReadError{File: path, Column: name, Err: fmt.Errorf("%w: repeated values", ErrType)}
		}
		t := leaf.Node.Type()
		var lt format.LogicalTypeValue
		if l := t.LogicalType(); l != nil {
			lt = l.Value
		}
		k, u, ok := classify(t.Kind(), lt)
		want := [3]string{"a string or integer id", "a DATE or TIMESTAMP", "a number"}[j]
		good := ok && (j == 0 && (k == pqString || k == pqInt) ||
			j == 1 && (k == pqDate || k == pqTimestamp) ||
			j == 2 && (k == pqInt || k == pqFloat))
		if !good {
			return &ReadError{File: path, Column: name, Err: fmt.Errorf("%w: found %s, want %s", ErrType, t, want)}
		}
		kind[j], unit[j] = k, u
	}
	if b.tx.Day == nil {
		// Size everything once: growing 10⁷-row slices and maps dominates reading otherwise.
		n := int(min(pf.NumRows(), 1<<28))
		b.tx.Customer = make([]int32, 0, n)
		b.tx.Day = make([]int64, 0, n)
		b.tx.Amount = make([]float64, 0, n)
		if kind[0] == pqString {
			b.strIDs = make(map[string]int32, n/4)
		} else {
			b.intIDs = make(map[int64]int32, n/4)
		}
	}
	var buf []parquet.Value
	var vals [3][]parquet.Value
	for _, rg := range pf.RowGroups() {
		n := int(rg.NumRows())
		for j := range 3 {
			cc := rg.ColumnChunks()[idx[j]]
			pages := cc.Pages()
			vals[j] = slices.Grow(vals[j][:0], n)
			for {
				pg, err := pages.ReadPage()
				if err == io.EOF {
					break
				}
				if err != nil {
					pages.Close()
					return &ReadError{File: path, Column: names[j], Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
				}
				nv := int(pg.NumValues())
				buf = slices.Grow(buf[:0], nv)[:nv]
				vr := pg.Values()
				got := 0
				for got < nv {
					k, err := vr.ReadValues(buf[got:])
					got += k
					if err == io.EOF || k == 0 {
						break
					}
					if err != nil {
						parquet.Release(pg)
						pages.Close()
						return &ReadError{File: path, Column: names[j], Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
					}
				}
				if kind[j] == pqString {
					for _, v := range buf[:got] {
						vals[j] = append(vals[j], v.Clone()) // the page's bytes are released below
					}
				} else {
					vals[j] = append(vals[j], buf[:got]...)
				}
				parquet.Release(pg)
			}
			pages.Close()
		}
		if len(vals[0]) != n || len(vals[1]) != n || len(vals[2]) != n {
			return &ReadError{File: path, Err: fmt.Errorf("%w: columns have %d, %d, %d values for %d rows", ErrMalformed, len(vals[0]), len(vals[1]), len(vals[2]), n)}
		}
		for i := range n {
			c, t, a := vals[0][i], vals[1][i], vals[2][i]
			if c.IsNull() || t.IsNull() || a.IsNull() {
				b.tx.Skipped++
				continue
			}
			var day int64
			if kind[1] == pqDate {
				day = int64(t.Int32())
			} else {
				day = floorDiv(t.Int64(), unit[1])
			}
			if !dayInRange(day) {
				return &ReadError{File: path, Column: names[1], Err: dayRangeError(day)}
			}
			var amt float64
			switch a.Kind() {
			case parquet.Int32:
				amt = float64(a.Int32())
			case parquet.Int64:
				amt = float64(a.Int64())
			case parquet.Float:
				amt = float64(a.Float())
			default:
				amt = a.Double()
			}
			if features.CheckAmount(amt) != nil { // NaN, infinite or beyond ±1e15
				b.tx.Skipped++
				continue
			}
			var id int32
			if kind[0] == pqString {
				if !utf8.Valid(c.ByteArray()) {
					return &ReadError{File: path, Column: names[0], Err: fmt.Errorf("%w: customer id %q is not UTF-8", ErrMalformed, c.ByteArray())}
				}
				id = b.idString(c.ByteArray())
			} else if c.Kind() == parquet.Int32 {
				id = b.idInt(int64(c.Int32()))
			} else {
				id = b.idInt(c.Int64())
			}
			b.tx.Customer = append(b.tx.Customer, id)
			b.tx.Day = append(b.tx.Day, day)
			b.tx.Amount = append(b.tx.Amount, amt)
		}
	}
	return nil
}

func columnNames(pf *parquet.File) []string {
	var out []string
	for _, f := range pf.Schema().Fields() {
		out = append(out, f.Name())
	}
	return out
}

// classify maps a Parquet physical and logical type to how it is read; for timestamps it
// also returns the number of units in a day.
func classify(k parquet.Kind, lt format.LogicalTypeValue) (pqKind, int64, bool) {
	switch l := lt.(type) {
	case *format.StringType, *format.EnumType, *format.UUIDType:
		return pqString, 0, k == parquet.ByteArray || k == parquet.FixedLenByteArray
	case *format.DateType:
		return pqDate, 0, k == parquet.Int32
	case *format.TimestampType:
		switch l.Unit.Value.(type) {
		case *format.MilliSeconds:
			return pqTimestamp, 86400e3, k == parquet.Int64
		case *format.MicroSeconds:
			return pqTimestamp, 86400e6, k == parquet.Int64
		default:
			return pqTimestamp, 86400e9, k == parquet.Int64
		}
	case *format.DecimalType:
		return 0, 0, false
	}
	switch k {
	case parquet.ByteArray:
		return pqString, 0, true
	case parquet.Int32, parquet.Int64:
		return pqInt, 0, true
	case parquet.Float, parquet.Double:
		return pqFloat, 0, true
	}
	return 0, 0, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// readCSV reads a delimited text file with a header line (internal/table's sniffer). A first
// pass decides the amount column's decimal mark and the time column's date format.
func (b *builder) readCSV(path string, cols Columns) error {
	c, err := table.OpenCSV(path, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	names := cols.resolve(c.Header)
	var idx [3]int
	for j, name := range names {
		if idx[j] = c.Index(name); idx[j] < 0 {
			return &ReadError{File: path, Line: 1, Column: name, Err: ErrColumn, Expected: "one of " + strings.Join(c.Header, ", ")}
		}
	}
	when, amount := table.NewColumnSniffer(nil), table.NewColumnSniffer(nil)
	for {
		rec, line, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		when.Observe(rec[idx[1]], line)
		amount.Observe(rec[idx[2]], line)
	}
	mark, err := amount.DecimalMark(c.Dialect.Comma)
	if err != nil {
		e := err.(*ReadError)
		e.File, e.Column = path, names[2]
		return e
	}
	format, err := when.DateFormat()
	if err != nil {
		e := err.(*ReadError)
		e.File, e.Column = path, names[1]
		return e
	}
	if err := c.Rewind(); err != nil {
		return err
	}
	var lastDate string
	var lastDay int64
	for {
		rec, line, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		id, ts, am := strings.TrimSpace(rec[idx[0]]), strings.TrimSpace(rec[idx[1]]), strings.TrimSpace(rec[idx[2]])
		if table.IsMissing(id) || table.IsMissing(ts) || table.IsMissing(am) {
			b.tx.Skipped++
			continue
		}
		var day int64
		if ts == lastDate {
			day = lastDay
		} else {
			d, ok := parseDay(ts, format)
			if !ok {
				return &ReadError{File: path, Line: line, Column: names[1], Err: fmt.Errorf("%w: %q is not a date", ErrMalformed, ts),
					Expected: "YYYY-MM-DD, YYYYMMDD, RFC 3339, dd.mm.yyyy, dd/mm/yyyy or mm/dd/yyyy, one format per column"}
			}
			if !dayInRange(d) {
				return &ReadError{File: path, Line: line, Column: names[1], Err: dayRangeError(d)}
			}
			day, lastDate, lastDay = d, ts, d
		}
		amt, _, ok := table.ParseNumber(am, mark)
		if !ok {
			if v, err := strconv.ParseFloat(am, 64); err == nil || errors.Is(err, strconv.ErrRange) {
				amt, ok = v, true // Inf, 1e999: skipped below as out of range
			}
		}
		if !ok {
			return &ReadError{File: path, Line: line, Column: names[2], Err: fmt.Errorf("%w: %q is not a number", ErrMalformed, am),
				Expected: fmt.Sprintf("a number with decimal mark %q", mark)}
		}
		if features.CheckAmount(amt) != nil { // NaN, infinite or beyond ±1e15
			b.tx.Skipped++
			continue
		}
		if !utf8.ValidString(id) {
			return &ReadError{File: path, Line: line, Column: names[0], Err: fmt.Errorf("%w: customer id %q is not UTF-8", ErrMalformed, id)}
		}
		b.tx.Customer = append(b.tx.Customer, b.idString([]byte(id)))
		b.tx.Day = append(b.tx.Day, day)
		b.tx.Amount = append(b.tx.Amount, amt)
	}
	return nil
}

// dayInRange reports whether a day number lies in the accepted range of features.TimeRange.
func dayInRange(d int64) bool {
	return d >= features.MinTimeUnix/86400 && d < features.EndTimeUnix/86400
}

func dayRangeError(d int64) error {
	return fmt.Errorf("%w: %s", features.ErrTimeRange, time.Unix(d*86400, 0).UTC().Format("2006-01-02"))
}

// parseDay parses a date or timestamp as its UTC calendar day number: in the column's
// detected format when there is one, else ISO, YYYYMMDD (CDNOW) or RFC 3339.
func parseDay(s, format string) (int64, bool) {
	if format != "" {
		if t, ok := table.ParseDate(s, format); ok {
			return floorDiv(t.Unix(), 86400), true
		}
	}
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, e1 := strconv.Atoi(s[:4])
		m, e2 := strconv.Atoi(s[5:7])
		d, e3 := strconv.Atoi(s[8:])
		if e1 != nil || e2 != nil || e3 != nil || m < 1 || m > 12 || d < 1 || d > 31 {
			return 0, false
		}
		t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if t.Day() != d {
			return 0, false
		}
		return floorDiv(t.Unix(), 86400), true
	}
	for _, layout := range []string{"20060102", time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return floorDiv(t.Unix(), 86400), true
		}
	}
	return 0, false
}
