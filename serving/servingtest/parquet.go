package servingtest

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ArrowParquet returns a Parquet file of one record batch with the given schema, written by
// pqarrow as batch score files are read (fill appends the rows). Zero props means
// pqarrow.DefaultWriterProps.
func ArrowParquet(tb testing.TB, schema *arrow.Schema, props *pqarrow.ArrowWriterProperties, fill func(b *array.RecordBuilder)) []byte {
	tb.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if props == nil {
		p := pqarrow.DefaultWriterProps()
		props = &p
	}
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), *props)
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
