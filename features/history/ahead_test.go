package history

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestPagesAheadInOrder reads a column of many pages through pagesAhead and directly, and
// finds the same values in the same order; closing after a few pages, with the next one
// read ahead, returns.
func TestPagesAheadInOrder(t *testing.T) {
	type row struct {
		V int64 `parquet:"v"`
	}
	rows := make([]row, 20000)
	for i := range rows {
		rows[i].V = int64(i*7919) % 100003
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.PageBufferSize(1024))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	chunk := func() parquet.Pages { return f.RowGroups()[0].ColumnChunks()[0].Pages() }
	read := func(pages parquet.Pages, most int) (vals []int64, n int) {
		for ; most < 0 || n < most; n++ {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			vs := make([]parquet.Value, p.NumValues())
			k, err := p.Values().ReadValues(vs)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			for _, v := range vs[:k] {
				vals = append(vals, v.Int64())
			}
			parquet.Release(p)
		}
		return vals, n
	}
	direct, pagesDirect := read(chunk(), -1)
	a := readAhead(chunk())
	ahead, pagesRead := read(a, -1)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if pagesDirect < 10 {
		t.Fatalf("the column has %d pages; the test needs many", pagesDirect)
	}
	if pagesRead != pagesDirect || len(ahead) != len(rows) {
		t.Fatalf("read ahead: %d pages and %d values, directly %d pages and %d values", pagesRead, len(ahead), pagesDirect, len(direct))
	}
	for i := range rows {
		if ahead[i] != rows[i].V || direct[i] != rows[i].V {
			t.Fatalf("value %d: ahead %d, directly %d, written %d", i, ahead[i], direct[i], rows[i].V)
		}
	}
	a = readAhead(chunk())
	if _, n := read(a, 3); n != 3 {
		t.Fatalf("read %d pages, want 3", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// panicPages panics on its first ReadPage, as parquet-go may on a corrupt page.
type panicPages struct{ closed bool }

func (p *panicPages) ReadPage() (parquet.Page, error) { panic("index out of range [7] with length 3") }
func (p *panicPages) SeekToRow(int64) error           { return nil }
func (p *panicPages) Close() error                    { p.closed = true; return nil }

// TestPagesAheadPanic turns a panic while reading a page ahead into that page's error, on the
// reader's side, instead of a crash of the process.
func TestPagesAheadPanic(t *testing.T) {
	src := &panicPages{}
	a := readAhead(src)
	_, err := a.ReadPage()
	if err == nil || !strings.Contains(err.Error(), "corrupt data") || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("error = %v, want the panic as corrupt data", err)
	}
	if _, err := a.ReadPage(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the error: %v, want io.EOF", err)
	}
	if err := a.Close(); err != nil || !src.closed {
		t.Fatalf("Close = %v, source closed %v", err, src.closed)
	}
}
