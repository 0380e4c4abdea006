package table

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// bom is the UTF-8 byte-order mark some spreadsheet programs write at the start of a file.
const bom = "\ufeff"

// Dialect is what Sniff found at the start of a delimited file.
type Dialect struct {
	Comma rune // field delimiter: ',', ';', '\t' or '|'
	BOM   bool // the file starts with a UTF-8 byte-order mark
}

// Sniff detects the dialect from the first bytes of a file: the delimiter is the one of
// ',', ';', '\t' and '|' occurring most often outside double quotes in the first record
// (',' on a tie).
func Sniff(head []byte) Dialect {
	d := Dialect{Comma: ','}
	if bytes.HasPrefix(head, []byte(bom)) {
		d.BOM = true
		head = head[len(bom):]
	}
	var counts [4]int
	seps := [4]byte{',', ';', '\t', '|'}
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
		for k, s := range seps {
			if b == s {
				counts[k]++
			}
		}
	}
	best := 0
	for k := range seps {
		if counts[k] > counts[best] {
			best = k
		}
	}
	d.Comma = rune(seps[best])
	return d
}

// CSV reads the records of a delimited text file with a header line.
type CSV struct {
	// Path is the file, for errors.
	Path string
	// Dialect is the delimiter and byte-order mark found (or given).
	Dialect Dialect
	// Header holds the column names: trimmed, without the byte-order mark, blank ones named
	// column_N (1-based), never two alike.
	Header []string

	f  *os.File
	cr *csv.Reader
}

// OpenCSV opens a delimited file, sniffs its dialect (comma 0) or uses the given delimiter,
// and reads the header. Close it when done.
func OpenCSV(path string, comma rune) (*CSV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	c := &CSV{Path: path, f: f}
	if err := c.start(comma); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func (c *CSV) start(comma rune) error {
	br := bufio.NewReaderSize(c.f, 1<<20)
	head, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return &Error{File: c.Path, Err: err}
	}
	c.Dialect = Sniff(head)
	if comma != 0 {
		c.Dialect.Comma = comma
	}
	if r := c.Dialect.Comma; r == '"' || r == '\r' || r == '\n' || r == 0xFFFD {
		return &Error{File: c.Path, Err: fmt.Errorf("%w: delimiter %q cannot be used", ErrMalformed, r), Expected: "',', ';', tab or '|'"}
	}
	if c.Dialect.BOM {
		br.Discard(len(bom))
	}
	c.cr = csv.NewReader(br)
	c.cr.Comma = c.Dialect.Comma
	c.cr.ReuseRecord = true
	c.cr.FieldsPerRecord = -1
	hdr, err := c.cr.Read()
	if err == io.EOF {
		return &Error{File: c.Path, Line: 1, Err: fmt.Errorf("%w: the file is empty", ErrHeader), Expected: "a header line"}
	}
	if err != nil {
		return c.err(err)
	}
	c.Header, err = headerNames(hdr)
	if err != nil {
		return &Error{File: c.Path, Line: 1, Err: err, Expected: "distinct column names"}
	}
	return nil
}

// Rewind goes back to the first record after the header, for a second pass.
func (c *CSV) Rewind() error {
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		return &Error{File: c.Path, Err: err}
	}
	return c.start(c.Dialect.Comma)
}

// Read returns the next record (reused by the next call) and its line, or io.EOF. A record
// with more or fewer fields than the header is an *Error naming the line.
func (c *CSV) Read() ([]string, int, error) {
	rec, err := c.cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		return nil, 0, c.err(err)
	}
	line, _ := c.cr.FieldPos(0)
	if len(rec) != len(c.Header) {
		// A trailing empty field beyond the header is what some exporters write; anything
		// else is a broken row.
		if !(len(rec) == len(c.Header)+1 && strings.TrimSpace(rec[len(rec)-1]) == "") {
			return nil, line, &Error{File: c.Path, Line: line, Err: fmt.Errorf("%w: %d fields", ErrMalformed, len(rec)),
				Expected: strconv.Itoa(len(c.Header)) + " fields, as in the header"}
		}
		rec = rec[:len(c.Header)]
	}
	return rec, line, nil
}

// Close closes the file.
func (c *CSV) Close() error { return c.f.Close() }

func (c *CSV) err(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: c.Path, Line: pe.Line, Err: fmt.Errorf("%w: %v", ErrMalformed, pe.Err)}
	}
	return &Error{File: c.Path, Err: err}
}

// Index returns the position of a header name, or -1.
func (c *CSV) Index(name string) int {
	for i, h := range c.Header {
		if h == name {
			return i
		}
	}
	return -1
}

// headerNames trims the header, names blank cells column_N (spreadsheet exports leave the
// index column unnamed) and refuses duplicates.
func headerNames(header []string) ([]string, error) {
	names := make([]string, len(header))
	seen := make(map[string]int, len(header))
	for j, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, bom))
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
