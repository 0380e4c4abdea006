package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/propensity-dev/propensity/features"
)

// parquetNode returns the Parquet node of a feature column.
func parquetNode(c features.Column) parquet.Node {
	var n parquet.Node
	switch {
	case c.Kind == features.KindIDList:
		return parquet.List(parquet.String())
	case c.Kind == features.KindID || c.Kind == features.KindCategorical:
		n = parquet.String()
	case c.Integer:
		n = parquet.Int(64)
	default:
		n = parquet.Leaf(parquet.DoubleType)
	}
	if c.Nullable || c.Kind == features.KindCategorical {
		n = parquet.Optional(n)
	}
	return n
}

// writeParquet writes t as Parquet: row groups of groupRows rows, encoded (values,
// dictionaries, compression) on up to workers goroutines and committed in file order. Each
// row group is fed in batches of writeBatch rows, as one writer would be, so the bytes do not
// depend on workers.
func writeParquet(w io.Writer, t *Table, workers, groupRows int) error {
	fw := newFeatureWriter(w, t.schema, t.rec.Schema().Metadata(), workers, groupRows)
	if err := fw.write(t.rec); err != nil {
		return err
	}
	return fw.close()
}

// featureWriter writes record batches of a feature table into one Parquet file. Every batch
// but the last must have a multiple of groupRows rows, so that the file is the same as one
// written from a single batch.
type featureWriter struct {
	schema    *features.Schema
	pw        *parquet.Writer
	leafCol   []int // leaf order of the Parquet schema (fields sorted by name) → our column
	workers   int
	groupRows int
	pool      chan *parquet.ConcurrentRowGroupWriter
}

func newFeatureWriter(w io.Writer, s *features.Schema, md arrow.Metadata, workers, groupRows int) *featureWriter {
	g := parquet.Group{}
	for _, c := range s.Columns {
		g[c.Name] = parquetNode(c)
	}
	ps := parquet.NewSchema("features", g)
	leafCol := make([]int, 0, len(s.Columns))
	for _, f := range ps.Fields() {
		leafCol = append(leafCol, s.Index(f.Name()))
	}
	opts := []parquet.WriterOption{ps, parquet.Compression(&parquet.Snappy)}
	for i, k := range md.Keys() {
		opts = append(opts, parquet.KeyValueMetadata(k, md.Values()[i]))
	}
	workers = max(1, workers)
	fw := &featureWriter{schema: s, pw: parquet.NewWriter(w, opts...), leafCol: leafCol, workers: workers,
		groupRows: groupRows, pool: make(chan *parquet.ConcurrentRowGroupWriter, 2*workers)}
	for range 2 * workers {
		fw.pool <- fw.pw.BeginRowGroup()
	}
	return fw
}

func (fw *featureWriter) close() error {
	if err := fw.pw.Close(); err != nil {
		return fmt.Errorf("features: writing parquet: %w", err)
	}
	return nil
}

// write appends the rows of rec, in row groups encoded concurrently and committed in order.
func (fw *featureWriter) write(rec arrow.RecordBatch) error {
	bufs := make([]padded[valueBufs], fw.workers)
	return fw.run(int(rec.NumRows()), func(w int, rg *parquet.ConcurrentRowGroupWriter, lo, hi int) error {
		return writeRowGroup(rg, fw.schema, rec, fw.leafCol, lo, hi, &bufs[w].v)
	})
}

// valueBufs are one goroutine's buffers for the rows of a row group.
type valueBufs struct {
	rows []parquet.Row
	vals []parquet.Value
}

// run appends n rows in row groups of fw.groupRows rows: encode(w, rg, lo, hi) writes rows
// lo to hi-1 into rg and flushes its pages, on goroutine w of fw.workers (the index picks the
// goroutine's buffers), and the groups are committed in order, so the bytes do not depend on
// the number of goroutines. The first error is returned, after every goroutine has stopped.
func (fw *featureWriter) run(n int, encode func(w int, rg *parquet.ConcurrentRowGroupWriter, lo, hi int) error) error {
	type group struct {
		lo, hi int
		rg     *parquet.ConcurrentRowGroupWriter
		err    error
		done   chan struct{}
	}
	jobs := make(chan *group, fw.workers)
	order := make(chan *group, 2*fw.workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range fw.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.err = encode(w, j.rg, j.lo, j.hi)
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for lo := 0; lo < n; lo += fw.groupRows {
			var rg *parquet.ConcurrentRowGroupWriter
			select {
			case rg = <-fw.pool:
			case <-stop:
				return
			}
			j := &group{lo: lo, hi: min(n, lo+fw.groupRows), rg: rg, done: make(chan struct{})}
			order <- j
			jobs <- j
		}
	}()
	var err error
	for j := range order {
		<-j.done
		if err == nil {
			err = j.err
		}
		if err == nil {
			if _, cerr := j.rg.Commit(); cerr != nil {
				err = fmt.Errorf("features: writing parquet: %w", cerr)
			}
		}
		if err != nil {
			select {
			case <-stop:
			default:
				close(stop) // no more groups: the ones under way finish and are dropped
			}
		}
		fw.pool <- j.rg
	}
	wg.Wait()
	return err
}

// Rows per row group of a feature table file, and rows per write into it.
const (
	writeBatch   = 512
	rowGroupRows = 64 * writeBatch
)

// writeRowGroup writes rows lo to hi-1 of rec into rg and flushes its pages, each row's
// values as appendRowValues gives them for the row it was built from.
func writeRowGroup(rg *parquet.ConcurrentRowGroupWriter, schema *features.Schema, rec arrow.RecordBatch, leafCol []int, lo, hi int,
	bufs *valueBufs) error {
	rows, vals := bufs.rows[:0], bufs.vals[:0]
	defer func() { bufs.rows, bufs.vals = rows[:0], vals[:0] }()
	r := features.NewRow(schema)
	for i := lo; i < hi; i++ {
		fillRow(rec, i, &r)
		start := len(vals)
		vals = appendRowValues(vals, schema, leafCol, &r)
		rows = append(rows, vals[start:len(vals):len(vals)])
		if len(rows) == writeBatch || i == hi-1 {
			if _, err := rg.WriteRows(rows); err != nil {
				return fmt.Errorf("features: writing parquet: %w", err)
			}
			rows, vals = rows[:0], vals[:0]
		}
	}
	if err := rg.Flush(); err != nil {
		return fmt.Errorf("features: writing parquet: %w", err)
	}
	return nil
}

// appendRowValues appends the Parquet values of row r, in leaf order, to buf. A table's rows
// are written through it too (writeRowGroup), so a file written from rows has the bytes of
// one written from their table.
func appendRowValues(buf []parquet.Value, schema *features.Schema, leafCol []int, r *features.Row) []parquet.Value {
	for leaf, ci := range leafCol {
		c := schema.Columns[ci]
		def := 0
		if c.Nullable || c.Kind == features.KindCategorical {
			def = 1
		}
		switch {
		case c.Kind == features.KindIDList:
			if len(r.MergedIDs) == 0 {
				buf = append(buf, parquet.NullValue().Level(0, 0, leaf))
			}
			for j, id := range r.MergedIDs {
				rep := 1
				if j == 0 {
					rep = 0
				}
				buf = append(buf, parquet.ByteArrayValue([]byte(id)).Level(rep, 1, leaf))
			}
		case c.Kind == features.KindID || c.Kind == features.KindCategorical:
			if r.Strs[ci] == "" && c.Kind != features.KindID {
				buf = append(buf, parquet.NullValue().Level(0, 0, leaf))
			} else {
				buf = append(buf, parquet.ByteArrayValue([]byte(r.Strs[ci])).Level(0, def, leaf))
			}
		case math.IsNaN(r.Nums[ci]):
			buf = append(buf, parquet.NullValue().Level(0, 0, leaf))
		case c.Integer:
			buf = append(buf, parquet.Int64Value(int64(r.Nums[ci])).Level(0, def, leaf))
		default:
			buf = append(buf, parquet.DoubleValue(r.Nums[ci]).Level(0, def, leaf))
		}
	}
	return buf
}

// ReadParquet reads a feature table written by WriteParquet back into memory, columns in
// schema order. Other Parquet files of flat columns (such as the DuckDB reference's output) are
// read too, with kinds inferred from names and types.
func ReadParquet(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	pf, err := openParquetSafe(f, st.Size())
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: not a Parquet file: %v", ErrUnreadable, err)}
	}
	var opts features.Options
	if v, ok := pf.Lookup(MetaSchemaVersion); ok && v != strconv.Itoa(features.SchemaVersion) {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: feature schema version %s, this build reads %d", ErrUnreadable, v, features.SchemaVersion)}
	}
	if v, ok := pf.Lookup(MetaOptions); ok {
		var m tableMeta
		if err := json.Unmarshal([]byte(v), &m); err == nil {
			opts = features.Options{AsOf: m.AsOf, Horizon: m.Horizon, HalfLife: m.HalfLife, ProductCategories: m.ProductCategories,
				Attributes: m.Attributes, Mapping: m.Mapping, StrictIdentity: m.StrictIdentity}
		}
	}
	fields := pf.Schema().Fields()
	// columns: from options when they name the same set, else inferred
	var schema *features.Schema
	if !opts.AsOf.IsZero() {
		s := features.SchemaFor(opts)
		if len(s.Columns) == len(fields) {
			ok := true
			for _, fl := range fields {
				if s.Index(fl.Name()) < 0 {
					ok = false
				}
			}
			if ok {
				schema = s
			}
		}
	}
	if schema == nil {
		cols := make([]features.Column, 0, len(fields))
		for _, fl := range fields {
			c := features.Column{Name: fl.Name(), Nullable: fl.Optional()}
			switch {
			case !fl.Leaf():
				c.Kind = features.KindIDList
			case fl.Type().Kind() == parquet.ByteArray:
				c.Kind = features.KindCategorical
			case fl.Type().Kind() == parquet.Int32 || fl.Type().Kind() == parquet.Int64 || fl.Type().Kind() == parquet.Boolean:
				c.Kind, c.Integer = features.KindCount, true
			case fl.Type().Kind() == parquet.Double || fl.Type().Kind() == parquet.Float:
				c.Kind = features.KindNumeric
			default:
				return nil, &FileError{File: path, Err: fmt.Errorf("%w: column %q has type %s, expected string, integer or double", ErrColumnType, fl.Name(), physical(fl.Type()))}
			}
			if c.Name == "contact_id" {
				c.Kind = features.KindID
			} else if len(c.Name) > 6 && c.Name[:6] == "label_" {
				c.Kind = features.KindLabel
			}
			if c.Kind == features.KindNumeric || c.Kind == features.KindLabel {
				c.Nullable = true
			}
			cols = append(cols, c)
		}
		schema = features.NewSchema(cols)
	}
	// leaf column index → schema column
	leafCol := make([]int, len(fields))
	for i, fl := range fields {
		leafCol[i] = schema.Index(fl.Name())
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, arrowSchema(schema, opts))
	defer rb.Release()
	rb.Reserve(int(pf.NumRows()))
	if err := readRowsInto(pf, rb, leafCol, schema); err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	rec := rb.NewRecordBatch()
	return &Table{rec: rec, schema: schema, opts: opts}, nil
}

func readRowsInto(pf *parquet.File, rb *array.RecordBuilder, leafCol []int, schema *features.Schema) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("corrupt data: %v", v)
		}
	}()
	rows := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			n, rerr := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				seen := make([]bool, len(leafCol))
				for _, v := range row {
					li := v.Column()
					if li < 0 || li >= len(leafCol) {
						return errors.New("value of an unknown column")
					}
					ci := leafCol[li]
					fb := rb.Field(ci)
					first := !seen[li]
					seen[li] = true
					switch fb := fb.(type) {
					case *array.ListBuilder:
						if first {
							fb.Append(true)
						}
						if !v.IsNull() {
							fb.ValueBuilder().(*array.StringBuilder).Append(string(v.ByteArray()))
						}
					case *array.StringBuilder:
						if v.IsNull() {
							fb.AppendNull()
						} else {
							fb.Append(string(v.ByteArray()))
						}
					case *array.Int64Builder:
						switch {
						case v.IsNull():
							fb.AppendNull()
						case v.Kind() == parquet.Int32:
							fb.Append(int64(v.Int32()))
						case v.Kind() == parquet.Boolean:
							if v.Boolean() {
								fb.Append(1)
							} else {
								fb.Append(0)
							}
						default:
							fb.Append(v.Int64())
						}
					case *array.Float64Builder:
						switch {
						case v.IsNull():
							fb.AppendNull()
						case v.Kind() == parquet.Float:
							fb.Append(float64(v.Float()))
						default:
							x := v.Double()
							if math.IsNaN(x) {
								fb.AppendNull()
							} else {
								fb.Append(x)
							}
						}
					}
				}
				for li, s := range seen {
					if !s {
						return fmt.Errorf("row without a value for %q", schema.Columns[leafCol[li]].Name)
					}
				}
			}
			if rerr != nil {
				rr.Close()
				if errors.Is(rerr, io.EOF) {
					break
				}
				return rerr
			}
		}
	}
	return nil
}
