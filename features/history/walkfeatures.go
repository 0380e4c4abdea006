package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/features"
)

// MapPersonsWithFeatures is MapPersonsWithin for callers that need each person's feature row
// as well as their raw history (batch scoring with models): fn also receives the person's row
// of the feature table of dir computed with fopts, or nil when that table has no row with
// the person's contact_id (fopts may stitch people otherwise than opts, with StrictIdentity
// for instance). The rows are those of Engine.Build, value for value.
//
// The table of ten million people does not fit in memory beside the walk (1.2 KB a person
// as an Arrow table), so it is first written, within e's budget, by e.WriteFeatures to a
// temporary Parquet file under e.TmpDir, then read back in step with the walk: before each
// partition of people is visited, the rows of its people are read from the file, which is
// in contact_id order as the walk is, and held compactly until the next partition. Those
// rows are counted in the walk's partitioning, so partitions are smaller than without
// them. The temporary directory is removed when the walk ends, whether it succeeds, fails
// or is cancelled.
//
// fn's row, like its Person, is valid only during the call. The report is the walk's.
func MapPersonsWithFeatures[R any](ctx context.Context, e Engine, dir string, opts, fopts features.Options,
	fn func(p *Person, row *features.Row) (R, error), emit func(R) error) (Report, error) {
	tmp, err := os.MkdirTemp(e.TmpDir, "propensity-features-")
	if err != nil {
		return Report{}, fmt.Errorf("features: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "features.parquet")
	schema, rep, err := e.WriteFeatures(ctx, dir, fopts, path)
	if err != nil {
		return rep, err
	}
	fr, err := openFeatureRows(path, schema)
	if err != nil {
		return Report{}, err
	}
	defer fr.close()
	rows := make([]features.Row, e.workers())
	for w := range rows {
		rows[w] = features.NewRow(schema)
	}
	return mapWalk(ctx, e, dir, opts, fr.personBytes(), func(src *people, lo, hi int) error {
		return fr.load(ctx, src, lo, hi)
	}, func(w, p int, person *Person) (R, error) {
		return fn(person, fr.row(p, &rows[w]))
	}, emit)
}

// featureRowSlack is the memory of a held feature row beyond its numbers (8 bytes each) and
// string headers (16 each): its index and merged-ids offset (8), and an allowance for the
// text of strings that are not shared (a categorical value that is not interned, merged
// ids). The contact id is the walk's own string.
const featureRowSlack = 32

// maxInterned is the most distinct values of a string column whose strings are shared by the
// rows that have them, so that a few stages or segments are not copied into every row.
const maxInterned = 4096

// featureRows reads a feature file written by WriteFeatures sequentially, the rows of one
// partition of a walk's people at a time, and holds them: with nNum numeric and nStr string
// columns, the numbers of row r are nums[r*nNum:(r+1)*nNum], its strings
// strs[r*nStr:(r+1)*nStr], its merged ids merged[mOff[r]:mOff[r+1]]. A features.Row per
// person would take a number and a string header for every column, three times as much; the
// Row handed to fn is built from these on demand, in a buffer of the worker's.
type featureRows struct {
	f       *os.File
	path    string
	schema  *features.Schema
	leafCol []int // leaf column of the file → schema column
	slot    []int // schema column → its index among the row's numbers or strings; -1: merged ids
	isStr   []bool
	numCols []int // schema columns of the numbers, in slot order
	strCols []int // schema columns of the strings, in slot order
	idCol   int   // schema column of contact_id
	idLeaf  int   // leaf column of contact_id
	intern  []map[string]string

	// The reading position: row group g of groups is being read through rr, whose last
	// ReadRows gave buf[:n]; buf[pos] is the next row. rr is closed only once its rows
	// are used: closing it may release the pages their strings point into.
	groups []parquet.RowGroup
	g      int
	rr     parquet.Rows
	rrDone bool
	buf    []parquet.Row
	n, pos int
	prev   string // contact_id of the last row used, for the order check
	read   int64  // rows used

	// The partition held: people lo to lo+len(at)-1; at[p-lo] is person p's row, -1 none.
	lo     int
	at     []int32
	nums   []float64
	strs   []string
	mOff   []int32
	merged []string
}

// openFeatureRows opens the feature file at path, of the given schema.
func openFeatureRows(path string, schema *features.Schema) (*featureRows, error) {
	bad := func(err error) error {
		return &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, bad(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, bad(err)
	}
	pf, err := openParquetSafe(f, st.Size())
	if err != nil {
		f.Close()
		return nil, bad(err)
	}
	fr := &featureRows{f: f, path: path, schema: schema, slot: make([]int, len(schema.Columns)),
		isStr: make([]bool, len(schema.Columns)), idCol: schema.Index("contact_id"), idLeaf: -1,
		groups: pf.RowGroups(), buf: make([]parquet.Row, 256)}
	for c, col := range schema.Columns {
		switch col.Kind {
		case features.KindIDList:
			fr.slot[c] = -1
		case features.KindID, features.KindCategorical:
			fr.slot[c], fr.isStr[c] = len(fr.strCols), true
			fr.strCols = append(fr.strCols, c)
			fr.intern = append(fr.intern, map[string]string{})
		default:
			fr.slot[c] = len(fr.numCols)
			fr.numCols = append(fr.numCols, c)
		}
	}
	fields := pf.Schema().Fields()
	for _, fl := range fields {
		c := schema.Index(fl.Name())
		if c < 0 || len(fields) != len(schema.Columns) {
			f.Close()
			return nil, bad(fmt.Errorf("column %q is not one of the %d of the table", fl.Name(), len(schema.Columns)))
		}
		if c == fr.idCol {
			fr.idLeaf = len(fr.leafCol)
		}
		fr.leafCol = append(fr.leafCol, c)
	}
	if fr.idLeaf < 0 {
		f.Close()
		return nil, bad(errors.New("no contact_id column"))
	}
	return fr, nil
}

func (fr *featureRows) close() {
	if fr.rr != nil {
		fr.rr.Close()
		fr.rr = nil
	}
	fr.f.Close()
}

// personBytes is the memory of one held row.
func (fr *featureRows) personBytes() int64 {
	return int64(8*len(fr.numCols) + 16*len(fr.strCols) + featureRowSlack)
}

// peek returns the next row of the file without using it, or nil at the end.
func (fr *featureRows) peek() (parquet.Row, error) {
	for fr.pos == fr.n {
		if fr.rr != nil && fr.rrDone {
			fr.rr.Close()
			fr.rr = nil
		}
		if fr.rr == nil {
			if fr.g == len(fr.groups) {
				return nil, nil
			}
			fr.rr, fr.rrDone = fr.groups[fr.g].Rows(), false
			fr.g++
		}
		n, err := fr.rr.ReadRows(fr.buf)
		fr.n, fr.pos = n, 0
		if errors.Is(err, io.EOF) {
			fr.rrDone = true
		} else if err != nil {
			return nil, err
		}
	}
	return fr.buf[fr.pos], nil
}

// load reads and holds the rows of people lo to hi-1 of src, dropping those of the previous
// partition. The file and the people are both in contact_id order, so the two are merged:
// rows are read up to the one past the partition's last person, which is left for the next
// partition, and a row whose contact_id no person of the walk has is skipped.
func (fr *featureRows) load(ctx context.Context, src *people, lo, hi int) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("corrupt data: %v", v)
		}
		if err != nil && !errors.Is(err, ctx.Err()) {
			err = &FileError{File: fr.path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
		}
	}()
	fr.lo = lo
	fr.at = fr.at[:0]
	for range hi - lo {
		fr.at = append(fr.at, -1)
	}
	clear(fr.strs)
	clear(fr.merged)
	fr.nums, fr.strs, fr.mOff, fr.merged = fr.nums[:0], fr.strs[:0], append(fr.mOff[:0], 0), fr.merged[:0]
	// Room for every person's row at once: grown row by row, the copies were 7.7 s of CPU
	// of a million people's score with models (CPU profile), and the held memory twice the
	// rows' at times.
	fr.nums = slices.Grow(fr.nums, (hi-lo)*len(fr.numCols))
	fr.strs = slices.Grow(fr.strs, (hi-lo)*len(fr.strCols))
	if lo == hi {
		return nil
	}
	h := src.h
	id := func(p int) string { return h.cid(h.pContact[p]) }
	last := id(hi - 1)
	p, pid := lo, id(lo)
	for {
		if fr.read%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, err := fr.peek()
		if err != nil || row == nil {
			return err
		}
		b, err := fr.rowID(row)
		if err != nil {
			return err
		}
		if string(b) > last {
			return nil
		}
		if fr.read > 0 && string(b) <= fr.prev {
			return fmt.Errorf("row %d: contact_id %q after %q: not in contact_id order", fr.read, b, fr.prev)
		}
		for pid < string(b) { // b <= last: a person of the partition is at b or after it
			p++
			pid = id(p)
		}
		if pid == string(b) {
			fr.at[p-lo] = int32(len(fr.mOff) - 1)
			if err := fr.hold(row, pid); err != nil {
				return fmt.Errorf("row %d: %w", fr.read, err)
			}
			fr.prev = pid
		} else {
			fr.prev = string(b)
		}
		fr.pos++
		fr.read++
	}
}

// rowID returns the contact_id of row.
func (fr *featureRows) rowID(row parquet.Row) ([]byte, error) {
	// Every column before contact_id in the file (by name) has one value a row, unless
	// it is merged_ids.
	if fr.idLeaf < len(row) && row[fr.idLeaf].Column() == fr.idLeaf {
		return row[fr.idLeaf].ByteArray(), nil
	}
	for _, v := range row {
		if v.Column() == fr.idLeaf {
			return v.ByteArray(), nil
		}
	}
	return nil, errors.New("row without a contact_id")
}

// hold appends row, whose contact_id is id, to the held rows.
func (fr *featureRows) hold(row parquet.Row, id string) error {
	nb, sb := len(fr.nums), len(fr.strs)
	for range fr.numCols {
		fr.nums = append(fr.nums, math.NaN())
	}
	for range fr.strCols {
		fr.strs = append(fr.strs, "")
	}
	for _, v := range row {
		li := v.Column()
		if li < 0 || li >= len(fr.leafCol) {
			return errors.New("value of an unknown column")
		}
		c := fr.leafCol[li]
		switch {
		case v.IsNull():
		case c == fr.idCol:
			fr.strs[sb+fr.slot[c]] = id
		case fr.slot[c] < 0:
			fr.merged = append(fr.merged, string(v.ByteArray()))
		case fr.isStr[c]:
			fr.strs[sb+fr.slot[c]] = fr.str(fr.slot[c], v.ByteArray())
		case v.Kind() == parquet.Int64:
			fr.nums[nb+fr.slot[c]] = float64(v.Int64())
		case v.Kind() == parquet.Double:
			fr.nums[nb+fr.slot[c]] = v.Double()
		default:
			return fmt.Errorf("column %q: unexpected %s value", fr.schema.Columns[c].Name, v.Kind())
		}
	}
	fr.mOff = append(fr.mOff, int32(len(fr.merged)))
	return nil
}

// str returns the string of b for string column k, shared with the rows before it that have
// the same value while the column has few distinct values.
func (fr *featureRows) str(k int, b []byte) string {
	m := fr.intern[k]
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(m) < maxInterned {
		m[s] = s
	}
	return s
}

// row returns person p's row, built in r, or nil when the person has none. p is of the
// partition held. Safe for concurrent use with distinct r.
func (fr *featureRows) row(p int, r *features.Row) *features.Row {
	i := int(fr.at[p-fr.lo])
	if i < 0 {
		return nil
	}
	// r's other cells stay as NewRow made them: NaN numbers of the string columns, empty
	// strings of the numeric ones, as in Table.Row.
	nums := fr.nums[i*len(fr.numCols):]
	for k, c := range fr.numCols {
		r.Nums[c] = nums[k]
	}
	strs := fr.strs[i*len(fr.strCols):]
	for k, c := range fr.strCols {
		r.Strs[c] = strs[k]
	}
	r.MergedIDs = nil
	if a, z := fr.mOff[i], fr.mOff[i+1]; a < z {
		r.MergedIDs = fr.merged[a:z:z]
	}
	return r
}
