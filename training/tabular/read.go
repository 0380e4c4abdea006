package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
)

// ReadOptions tunes ReadTable. The zero value detects everything.
type ReadOptions struct {
	// Comma is the CSV field delimiter. 0 means detect it from the header line among
	// ',', ';' and '\t' (the one occurring most often outside quotes; ',' on a tie).
	Comma rune
	// Categorical names columns to read as categorical even when every value is a number:
	// codes such as store numbers. (Postal-code-like values with a leading zero, "01234",
	// already make a column categorical.)
	Categorical []string
	// Skip names columns not to read at all, whatever their type (for instance a Parquet
	// list column such as merged_ids, which a model cannot use).
	Skip []string
}

// Errors wrapped by *ReadError.
var (
	ErrEmpty       = errors.New("no data rows")
	ErrHeader      = errors.New("bad header")
	ErrUnsupported = errors.New("unsupported column type")
	ErrMalformed   = errors.New("malformed file")
)

// ReadError reports a problem with a table file. Line is 1-based (0 when not known or not a
// text file); Column is the column name when known.
type ReadError struct {
	Path   string
	Line   int
	Column string
	Err    error
}

func (e *ReadError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ReadError) Unwrap() error { return e.Err }

// ReadTable reads a Parquet file (a ".parquet" file or a directory of ".parquet" part files,
// read in name order) or a delimited text file into a frame.
//
// Text values are trimmed of surrounding spaces. Blank cells and the tokens NA, N/A, NaN,
// null, NULL and ? are missing. A text column (CSV, or a Parquet string column) is numeric
// when every present value parses as a finite number and none looks like a code with a
// leading zero ("01234"); numbers stored as text, such as Telco's TotalCharges with its
// blanks, are therefore numeric with missing values. Every other text column is categorical,
// including boolean-like Yes/No and true/false columns (two levels; 1/0 columns stay
// numeric). Parquet numbers are numeric, booleans become the categorical values "true" and
// "false", dates and timestamps become numbers of days since 1970-01-01 UTC, and infinite
// floating-point values are read as missing.
//
// Errors are *ReadError naming the file and, where it applies, the line and column.
func ReadTable(path string, opts ReadOptions) (*frame.Frame, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var f *frame.Frame
	if st.IsDir() {
		f, err = readParquetDir(path, opts.Skip)
	} else if isParquet(path) {
		f, err = readParquetFile(path, opts.Skip)
	} else {
		var fh *os.File
		fh, err = os.Open(path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		f, err = readCSV(path, fh, opts.Comma)
	}
	if err != nil {
		return nil, err
	}
	if len(opts.Skip) > 0 {
		for _, s := range opts.Skip {
			if f.Index(s) < 0 && !st.IsDir() && !isParquet(path) {
				return nil, &ReadError{Path: path, Column: s, Err: fmt.Errorf("%w (the table has %s)", ErrColumn, strings.Join(f.Names(), ", "))}
			}
		}
		f = f.Drop(opts.Skip...)
		if len(f.Columns) == 0 {
			return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: every column is skipped", ErrEmpty)}
		}
	}
	if err := applyCategorical(path, f, opts.Categorical); err != nil {
		return nil, err
	}
	return f, nil
}

func isParquet(path string) bool {
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

// applyCategorical turns the named numeric columns into categorical ones, formatting numbers
// in their shortest form.
func applyCategorical(path string, f *frame.Frame, names []string) error {
	for _, name := range names {
		c := f.Column(name)
		if c == nil {
			return &ReadError{Path: path, Column: name, Err: fmt.Errorf("no such column (have %s)", strings.Join(f.Names(), ", "))}
		}
		if c.Kind == frame.Categorical {
			continue
		}
		cat := make([]string, len(c.Num))
		for i, v := range c.Num {
			if !math.IsNaN(v) {
				cat[i] = formatNum(v)
			}
		}
		*c = frame.Column{Name: c.Name, Kind: frame.Categorical, Cat: cat}
	}
	return nil
}

// parseNumber parses a trimmed, present text cell as a finite number. Codes with a leading
// zero ("007", "01234") are not numbers: they would lose their zeros.
func parseNumber(s string) (float64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return 0, false // fast path; also refuses "Inf", "infinity", "0x..." spelled with letters first
	}
	d := s
	if c == '-' || c == '+' {
		d = s[1:]
	}
	if len(d) > 1 && d[0] == '0' && d[1] >= '0' && d[1] <= '9' {
		return 0, false
	}
	if len(d) > 1 && d[0] == '0' && (d[1] == 'x' || d[1] == 'X' || d[1] == 'b' || d[1] == 'o') {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// detectComma picks the delimiter occurring most often outside quotes in the first line.
func detectComma(head []byte) rune {
	counts := map[byte]int{}
	inQuote := false
	for _, b := range head {
		if b == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote {
			continue
		}
		if b == '\n' {
			break
		}
		if b == ',' || b == ';' || b == '\t' {
			counts[b]++
		}
	}
	best, n := byte(','), counts[',']
	for _, c := range []byte{';', '\t'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return rune(best)
}

// readCSV reads a delimited file in two passes over r: the first decides each column's kind,
// the second fills the columns, so no column's text is held in memory unless it is
// categorical.
func readCSV(path string, r io.ReadSeeker, comma rune) (*frame.Frame, error) {
	if comma == 0 {
		br := bufio.NewReader(r)
		head, _ := br.Peek(64 << 10)
		comma = detectComma(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")))
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, &ReadError{Path: path, Err: err}
		}
	}
	if comma == '"' || comma == '\r' || comma == '\n' || comma == 0xFFFD {
		return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: delimiter %q cannot be used", ErrMalformed, comma)}
	}
	newReader := func() (*csv.Reader, error) {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, &ReadError{Path: path, Err: err}
		}
		cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
		cr.Comma = comma
		cr.ReuseRecord = true
		return cr, nil
	}
	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &ReadError{Path: path, Line: pe.Line, Err: fmt.Errorf("%w: %v", ErrMalformed, pe.Err)}
		}
		return &ReadError{Path: path, Err: err}
	}

	cr, err := newReader()
	if err != nil {
		return nil, err
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ReadError{Path: path, Line: 1, Err: fmt.Errorf("%w: the file is empty (want a header line)", ErrHeader)}
	}
	if err != nil {
		return nil, csvErr(err)
	}
	names, err := headerNames(header)
	if err != nil {
		return nil, &ReadError{Path: path, Line: 1, Err: err}
	}
	p := len(names)
	numeric := make([]bool, p)
	present := make([]bool, p)
	for j := range numeric {
		numeric[j] = true
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		rows++
		for j, s := range rec {
			if !numeric[j] {
				continue
			}
			s = strings.TrimSpace(s)
			if classifier.IsMissing(s) {
				continue
			}
			present[j] = true
			if _, ok := parseNumber(s); !ok {
				numeric[j] = false
			}
		}
	}
	if rows == 0 {
		return nil, &ReadError{Path: path, Line: 2, Err: fmt.Errorf("%w: the file has a header but no rows", ErrEmpty)}
	}

	f := &frame.Frame{Columns: make([]frame.Column, p)}
	intern := make([]map[string]string, p)
	for j, name := range names {
		if numeric[j] {
			f.Columns[j] = frame.Column{Name: name, Kind: frame.Numeric, Num: make([]float64, rows)}
		} else {
			f.Columns[j] = frame.Column{Name: name, Kind: frame.Categorical, Cat: make([]string, rows)}
			intern[j] = map[string]string{}
		}
	}
	cr, err = newReader()
	if err != nil {
		return nil, err
	}
	if _, err := cr.Read(); err != nil {
		return nil, csvErr(err)
	}
	for i := 0; i < rows; i++ {
		rec, err := cr.Read()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the file changed between the passes
			}
			return nil, csvErr(err)
		}
		for j, s := range rec {
			s = strings.TrimSpace(s)
			c := &f.Columns[j]
			if numeric[j] {
				v := math.NaN()
				if !classifier.IsMissing(s) {
					x, ok := parseNumber(s)
					if !ok {
						line, _ := cr.FieldPos(j)
						return nil, &ReadError{Path: path, Line: line, Column: names[j], Err: fmt.Errorf("%w: %q changed while reading", ErrMalformed, s)}
					}
					v = x
				}
				c.Num[i] = v
				continue
			}
			if classifier.IsMissing(s) {
				continue
			}
			v, ok := intern[j][s]
			if !ok {
				v = strings.Clone(s) // the record is reused; keep one copy per distinct value
				intern[j][v] = v
			}
			c.Cat[i] = v
		}
	}
	return f, nil
}

// headerNames trims the header, strips a UTF-8 byte-order mark, names blank header cells
// column_N (1-based, as spreadsheet exports leave the index column unnamed) and refuses
// duplicates.
func headerNames(header []string) ([]string, error) {
	names := make([]string, len(header))
	seen := make(map[string]int, len(header))
	for j, h := range header {
		if j == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		if h == "" {
			h = "column_" + strconv.Itoa(j+1)
		}
		if k, dup := seen[h]; dup {
			return nil, fmt.Errorf("%w: column %q appears twice (fields %d and %d)", ErrHeader, h, k+1, j+1)
		}
		seen[h] = j
		names[j] = h
	}
	return names, nil
}

// sortedDistinct returns up to max distinct values of vs, sorted, and whether there were more.
func sortedDistinct(vs map[string]bool, max int) ([]string, bool) {
	out := make([]string, 0, len(vs))
	for v := range vs {
		out = append(out, v)
	}
	sort.Strings(out)
	if len(out) > max {
		return out[:max], true
	}
	return out, false
}

// formatNum writes v in its shortest exact decimal form.
func formatNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
