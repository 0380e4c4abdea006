package history

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/buildinfo"
)

// Table is a feature table: one row per person, held as one Arrow record batch so later
// stages (and an Arrow IPC endpoint) can share it without copying.
type Table struct {
	rec    arrow.RecordBatch
	schema *features.Schema
	opts   features.Options
}

// Len returns the number of people (rows).
func (t *Table) Len() int { return int(t.rec.NumRows()) }

// Schema returns the columns of the table.
func (t *Table) Schema() *features.Schema { return t.schema }

// Options returns the options the table was computed with, after defaults and discovery
// (product categories, attributes): pass them to ComputeProfile to get the same columns online.
func (t *Table) Options() features.Options { return t.opts }

// Record returns the Arrow record batch; it stays valid until Release.
func (t *Table) Record() arrow.RecordBatch { return t.rec }

// Release frees the Arrow memory of the table.
func (t *Table) Release() {
	if t.rec != nil {
		t.rec.Release()
		t.rec = nil
	}
}

func (t *Table) column(name string) (arrow.Array, features.Column, error) {
	i := t.schema.Index(name)
	if i < 0 {
		return nil, features.Column{}, fmt.Errorf("%w: %q", ErrNoColumn, name)
	}
	return t.rec.Column(i), t.schema.Columns[i], nil
}

// Float64s returns a numeric, count or label column as float64, NaN for nulls.
func (t *Table) Float64s(name string) ([]float64, error) {
	a, _, err := t.column(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, a.Len())
	switch a := a.(type) {
	case *array.Float64:
		for i := range out {
			if a.IsNull(i) {
				out[i] = math.NaN()
			} else {
				out[i] = a.Value(i)
			}
		}
	case *array.Int64:
		for i := range out {
			if a.IsNull(i) {
				out[i] = math.NaN()
			} else {
				out[i] = float64(a.Value(i))
			}
		}
	case *array.Int32:
		for i := range out {
			if a.IsNull(i) {
				out[i] = math.NaN()
			} else {
				out[i] = float64(a.Value(i))
			}
		}
	default:
		return nil, fmt.Errorf("features: column %q is %s, not numeric", name, a.DataType())
	}
	return out, nil
}

// Strings returns an id or categorical column, "" for nulls.
func (t *Table) Strings(name string) ([]string, error) {
	a, _, err := t.column(name)
	if err != nil {
		return nil, err
	}
	s, ok := a.(*array.String)
	if !ok {
		return nil, fmt.Errorf("features: column %q is %s, not a string column", name, a.DataType())
	}
	out := make([]string, s.Len())
	for i := range out {
		if s.IsValid(i) {
			out[i] = strings.Clone(s.Value(i))
		}
	}
	return out, nil
}

// ContactIDs returns the surviving contact ids in row order.
func (t *Table) ContactIDs() []string {
	ids, _ := t.Strings("contact_id")
	return ids
}

// MergedIDs returns, per row, the other contact ids stitched into the person (nil if none or
// if the table has no merged_ids column).
func (t *Table) MergedIDs() [][]string {
	out := make([][]string, t.Len())
	a, _, err := t.column("merged_ids")
	if err != nil {
		return out
	}
	l, ok := a.(*array.List)
	if !ok {
		return out
	}
	vals, ok := l.ListValues().(*array.String)
	if !ok {
		return out
	}
	offs := l.Offsets()
	for i := range out {
		if l.IsNull(i) {
			continue
		}
		for j := offs[i]; j < offs[i+1]; j++ {
			out[i] = append(out[i], strings.Clone(vals.Value(int(j))))
		}
	}
	return out
}

// Row returns row i as a Row.
func (t *Table) Row(i int) features.Row {
	r := features.NewRow(t.schema)
	fillRow(t.rec, i, &r)
	return r
}

// fillRow sets r, a row of rec's schema, to rec's row i: nulls are NaN and "", as the rows
// the table was built from had them (tableBuilder.append).
func fillRow(rec arrow.RecordBatch, i int, r *features.Row) {
	r.MergedIDs = r.MergedIDs[:0]
	for c := range r.Nums {
		r.Nums[c], r.Strs[c] = math.NaN(), ""
		a := rec.Column(c)
		if a.IsNull(i) {
			continue
		}
		switch a := a.(type) {
		case *array.String:
			r.Strs[c] = a.Value(i)
		case *array.Float64:
			r.Nums[c] = a.Value(i)
		case *array.Int64:
			r.Nums[c] = float64(a.Value(i))
		case *array.Int32:
			r.Nums[c] = float64(a.Value(i))
		case *array.List:
			if vals, ok := a.ListValues().(*array.String); ok {
				offs := a.Offsets()
				for j := offs[i]; j < offs[i+1]; j++ {
					r.MergedIDs = append(r.MergedIDs, vals.Value(int(j)))
				}
			}
		}
	}
}

// arrowType returns the Arrow type of a feature column.
func arrowType(c features.Column) arrow.DataType {
	switch {
	case c.Kind == features.KindID || c.Kind == features.KindCategorical:
		return arrow.BinaryTypes.String
	case c.Kind == features.KindIDList:
		return arrow.ListOf(arrow.BinaryTypes.String)
	case c.Integer:
		return arrow.PrimitiveTypes.Int64
	}
	return arrow.PrimitiveTypes.Float64
}

// tableMeta is what the Parquet key-value metadata records about the options.
type tableMeta struct {
	AsOf              time.Time            `json:"as_of"`
	Horizon           time.Duration        `json:"horizon_ns"`
	HalfLife          time.Duration        `json:"half_life_ns"`
	ProductCategories []string             `json:"product_categories"`
	Attributes        []features.Attribute `json:"attributes"`
	Mapping           features.Mapping     `json:"mapping"`
	StrictIdentity    bool                 `json:"strict_identity,omitempty"`
}

func arrowSchema(s *features.Schema, opts features.Options) *arrow.Schema {
	fields := make([]arrow.Field, len(s.Columns))
	for i, c := range s.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c), Nullable: c.Nullable || c.Kind == features.KindCategorical || c.Kind == features.KindIDList}
	}
	meta, _ := json.Marshal(tableMeta{AsOf: opts.AsOf, Horizon: opts.Horizon, HalfLife: opts.HalfLife,
		ProductCategories: opts.ProductCategories, Attributes: opts.Attributes, Mapping: opts.Mapping, StrictIdentity: opts.StrictIdentity})
	md := arrow.NewMetadata(
		[]string{MetaSchemaVersion, MetaAsOf, MetaHorizon, MetaOptions, MetaBuild},
		[]string{strconv.Itoa(features.SchemaVersion), opts.AsOf.UTC().Format(time.RFC3339Nano), opts.Horizon.String(), string(meta),
			buildinfo.Read().String()})
	return arrow.NewSchema(fields, &md)
}

// tableBuilder appends rows to Arrow builders, column by column.
type tableBuilder struct {
	schema *features.Schema
	opts   features.Options
	rb     *array.RecordBuilder
}

func newTableBuilder(s *features.Schema, opts features.Options, capacity int) *tableBuilder {
	rb := array.NewRecordBuilder(memory.DefaultAllocator, arrowSchema(s, opts))
	rb.Reserve(capacity)
	return &tableBuilder{schema: s, opts: opts, rb: rb}
}

func (b *tableBuilder) append(r *features.Row) {
	for i, c := range b.schema.Columns {
		fb := b.rb.Field(i)
		switch fb := fb.(type) {
		case *array.StringBuilder:
			if r.Strs[i] == "" && c.Kind != features.KindID {
				fb.AppendNull()
			} else {
				fb.Append(r.Strs[i])
			}
		case *array.Int64Builder:
			if math.IsNaN(r.Nums[i]) {
				fb.AppendNull()
			} else {
				fb.Append(int64(r.Nums[i]))
			}
		case *array.Float64Builder:
			if math.IsNaN(r.Nums[i]) {
				fb.AppendNull()
			} else {
				fb.Append(r.Nums[i])
			}
		case *array.ListBuilder:
			fb.Append(true)
			vb := fb.ValueBuilder().(*array.StringBuilder)
			for _, id := range r.MergedIDs {
				vb.Append(id)
			}
		}
	}
}

func (b *tableBuilder) finish() *Table {
	rec := b.rb.NewRecordBatch()
	b.rb.Release()
	return &Table{rec: rec, schema: b.schema, opts: b.opts}
}

// NewTable builds a table from rows computed with the same options (e.g. ComputeProfile
// results); all rows must share the schema SchemaFor(opts).
func NewTable(rows []features.Row, opts features.Options) (*Table, error) {
	opts = opts.EnsureDefaults()
	s := features.SchemaFor(opts)
	b := newTableBuilder(s, opts, len(rows))
	for i := range rows {
		if len(rows[i].Nums) != len(s.Columns) || len(rows[i].Strs) != len(s.Columns) {
			b.rb.Release()
			return nil, fmt.Errorf("%w: row %d has %d columns, schema has %d", features.ErrBadOptions, i, len(rows[i].Nums), len(s.Columns))
		}
		b.append(&rows[i])
	}
	return b.finish(), nil
}

// WriteParquet writes t to path atomically (temp file + rename), with the schema version,
// as-of, horizon and options in the file's key-value metadata.
// Its row groups are encoded on GOMAXPROCS goroutines; the file does not depend on their
// number.
func WriteParquet(path string, t *Table) error {
	return Engine{}.WriteParquet(path, t)
}

// WriteParquet is the package's WriteParquet with row groups encoded on e.Workers goroutines.
func (e Engine) WriteParquet(path string, t *Table) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return writeParquet(w, t, e.workers(), e.rowGroup())
	})
}
