package history

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
	"github.com/propensity-dev/propensity/features"
)

// want is the type a history column must have.
type want int

const (
	wantString want = iota // BYTE_ARRAY; integer ids accepted and formatted in decimal
	wantTime               // timestamp (any unit) or date (midnight UTC)
	wantFloat              // double, float or integer
	wantInt                // integer
	wantAny                // attribute: numeric, string or bool, decided by the file
)

func (w want) String() string {
	switch w {
	case wantString:
		return "string (or integer id)"
	case wantTime:
		return "timestamp or date"
	case wantFloat:
		return "double (or float, integer)"
	case wantInt:
		return "integer"
	}
	return "number, string or bool"
}

// conv is how a physical column is turned into a vec.
type conv int

const (
	convBytes     conv = iota // byte array → str
	convIntStr                // int32/int64 → decimal str
	convTimeNanos             // int64 timestamp × mult → i64 nanos
	convDate                  // int32 days → i64 nanos
	convF64                   // double → f64
	convF32                   // float → f64
	convI32F                  // int32 → f64
	convI64F                  // int64 → f64
	convBoolStr               // boolean → "true"/"false"
	convI32I                  // int32 → i64
	convI64I                  // int64 → i64
)

// colSpec asks for a column by name.
type colSpec struct {
	name     string
	want     want
	required bool
}

// vec holds one column's values for a run of rows. Which slice is filled depends on conv.
type vec struct {
	valid []bool
	str   [][]byte
	i64   []int64
	f64   []float64
	// rej marks rows whose value the reader refuses (a time outside TimeRange, a number that
	// is not finite or beyond its bound, text that is not UTF-8); nil when there is none.
	// dropRejected takes such rows out, counted as bad rows naming the column.
	rej []bool
}

// move copies row src to row dst (dst <= src), for dropRejected.
func (v *vec) move(dst, src int) {
	if v.valid == nil {
		return // a column absent from the file
	}
	v.valid[dst] = v.valid[src]
	if v.str != nil {
		v.str[dst] = v.str[src]
	}
	if v.i64 != nil {
		v.i64[dst] = v.i64[src]
	}
	if v.f64 != nil {
		v.f64[dst] = v.f64[src]
	}
}

func (v *vec) slice(i, j int) vec {
	out := vec{valid: v.valid[i:j]}
	if v.rej != nil {
		out.rej = v.rej[i:j]
	}
	if v.str != nil {
		out.str = v.str[i:j]
	}
	if v.i64 != nil {
		out.i64 = v.i64[i:j]
	}
	if v.f64 != nil {
		out.f64 = v.f64[i:j]
	}
	return out
}

// isNum reports whether a conversion yields f64 values.
func (c conv) isNum() bool { return c == convF64 || c == convF32 || c == convI32F || c == convI64F }

// isStr reports whether a conversion yields str values.
func (c conv) isStr() bool { return c == convBytes || c == convIntStr || c == convBoolStr }

const dayNanos = int64(24 * 60 * 60 * 1e9)

// physical returns a readable name of a column's type, e.g. "INT64 (TIMESTAMP(...))".
func physical(t parquet.Type) string {
	s := t.Kind().String()
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		s += " (" + lt.String() + ")"
	}
	return s
}

// chooseConv checks a leaf against what is wanted.
func chooseConv(t parquet.Type, w want) (conv, int64, bool) {
	lt := t.LogicalType()
	var isTS, isDate, isStr bool
	var mult int64 = 1
	if lt != nil {
		switch v := lt.Value.(type) {
		case *format.TimestampType:
			isTS = true
			switch v.Unit.Value.(type) {
			case *format.MilliSeconds:
				mult = 1e6
			case *format.MicroSeconds:
				mult = 1e3
			}
		case *format.DateType:
			isDate = true
		case *format.StringType, *format.EnumType, *format.JsonType:
			isStr = true
		case *format.DecimalType:
			return 0, 0, false
		}
	}
	if ct := t.ConvertedType(); ct != nil && !isTS && !isDate {
		switch *ct {
		case 9: // TIMESTAMP_MILLIS
			isTS, mult = true, 1e6
		case 10: // TIMESTAMP_MICROS
			isTS, mult = true, 1e3
		case 6: // DATE
			isDate = true
		}
	}
	kind := t.Kind()
	switch w {
	case wantString:
		switch {
		case kind == parquet.ByteArray:
			return convBytes, 0, true
		case (kind == parquet.Int32 || kind == parquet.Int64) && !isTS && !isDate:
			return convIntStr, 0, true
		}
	case wantTime:
		switch {
		case kind == parquet.Int64 && isTS:
			return convTimeNanos, mult, true
		case kind == parquet.Int32 && isDate:
			return convDate, 0, true
		}
	case wantFloat, wantAny:
		switch {
		case isTS || isDate:
		case kind == parquet.Double:
			return convF64, 0, true
		case kind == parquet.Float:
			return convF32, 0, true
		case kind == parquet.Int32:
			return convI32F, 0, true
		case kind == parquet.Int64:
			return convI64F, 0, true
		case w == wantAny && kind == parquet.ByteArray:
			return convBytes, 0, true
		case w == wantAny && kind == parquet.Boolean:
			return convBoolStr, 0, true
		}
		_ = isStr
	case wantInt:
		switch {
		case isTS || isDate:
		case kind == parquet.Int32:
			return convI32I, 0, true
		case kind == parquet.Int64:
			return convI64I, 0, true
		}
	}
	return 0, 0, false
}

// partFiles lists the Parquet files of a history file: the file itself, or the *.parquet part
// files of a directory, in name order. ok is false when the path does not exist.
func partFiles(path string) (files []string, ok bool, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	if !st.IsDir() {
		return []string{path}, true, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, false, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".parquet") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, false, &FileError{File: path, Err: fmt.Errorf("%w: directory has no .parquet part files", ErrEmptyDir)}
	}
	return files, true, nil
}

// pqFile is one open Parquet file with the columns asked for.
type pqFile struct {
	path  string
	f     *os.File
	pf    *parquet.File
	cols  []*colRef       // one per spec; nil when an optional column is absent
	other []parquet.Field // top-level columns not asked for (attributes), nested ones included
}

type colRef struct {
	spec   colSpec
	leaf   parquet.LeafColumn
	conv   conv
	mult   int64
	maxDef int
	// The accepted values: times in [lo, hi) in the column's own unit, before conversion
	// to nanoseconds (where an out-of-range one would overflow); numbers up to lim in
	// magnitude (NaN and infinities never).
	lo, hi int64
	lim    float64
}

// newColRef returns the reference to a column read by conversion c, with its accepted range.
func newColRef(s colSpec, leaf parquet.LeafColumn, c conv, mult int64) *colRef {
	r := &colRef{spec: s, leaf: leaf, conv: c, mult: mult, maxDef: leaf.MaxDefinitionLevel, lim: math.Inf(1)}
	switch c {
	case convTimeNanos:
		r.lo, r.hi = features.MinTimeNanos/mult, features.EndTimeNanos/mult
	case convDate:
		r.lo, r.hi = features.MinTimeDays, features.EndTimeDays
	}
	if s.want == wantFloat {
		r.lim = features.MaxAmount
	} else {
		r.lim = math.MaxFloat64
	}
	return r
}

// rejectReason is the bad-row reason of a row whose value in this column is refused.
func (r *colRef) rejectReason() string {
	switch {
	case r.conv == convTimeNanos || r.conv == convDate:
		return "out-of-range " + r.spec.name
	case r.conv.isNum() && r.spec.want == wantFloat:
		return "non-finite or out-of-range " + r.spec.name
	case r.conv.isNum():
		return "non-finite " + r.spec.name
	}
	return "non-UTF-8 " + r.spec.name
}

// dropRejected takes the rows with a refused value (vec.rej) out of the n rows of views,
// counting each in st under the reason of its first refused column, and returns the number
// of rows left. Rows keep their order.
func dropRejected(cols []*colRef, st *fileStats, views []vec, n int) int {
	some := false
	for i := range views {
		if views[i].rej != nil {
			some = true
		}
	}
	if !some {
		return n
	}
	k := 0
	for r := range n {
		bad := -1
		for i := range views {
			if views[i].rej != nil && views[i].rej[r] {
				bad = i
				break
			}
		}
		if bad >= 0 {
			st.bad(cols[bad].rejectReason())
			continue
		}
		if k != r {
			for i := range views {
				views[i].move(k, r)
			}
		}
		k++
	}
	return k
}

// openParquet opens path and checks the asked columns' types.
func openParquet(path string, specs []colSpec) (*pqFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	pf, err := openParquetSafe(f, st.Size())
	if err != nil {
		f.Close()
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: not a Parquet file: %v", ErrUnreadable, err)}
	}
	p := &pqFile{path: path, f: f, pf: pf, cols: make([]*colRef, len(specs))}
	asked := map[string]bool{}
	for i, s := range specs {
		asked[s.name] = true
		leaf, ok := pf.Schema().Lookup(s.name)
		if !ok || leaf.Node == nil || !leaf.Node.Leaf() {
			if s.required {
				f.Close()
				return nil, &ColumnError{File: path, Column: s.name, Expected: s.want.String(), Err: ErrMissingColumn}
			}
			continue
		}
		c, mult, ok := chooseConv(leaf.Node.Type(), s.want)
		if !ok || leaf.MaxRepetitionLevel > 0 {
			found := physical(leaf.Node.Type())
			if leaf.MaxRepetitionLevel > 0 {
				found = "repeated " + found
			}
			f.Close()
			return nil, &ColumnError{File: path, Column: s.name, Expected: s.want.String(), Found: found, Err: ErrColumnType}
		}
		p.cols[i] = newColRef(s, leaf, c, mult)
	}
	for _, fld := range pf.Schema().Fields() {
		if !asked[fld.Name()] {
			p.other = append(p.other, fld)
		}
	}
	return p, nil
}

// describeField names the type of a top-level column for a message: the physical type of a
// leaf (with its logical type), or the kind of a nested column.
func describeField(f parquet.Field) string {
	if f.Leaf() {
		s := physical(f.Type())
		if f.Repeated() {
			s = "repeated " + s
		}
		return s
	}
	if lt := f.Type().LogicalType(); lt != nil {
		switch lt.Value.(type) {
		case *format.ListType:
			return "LIST"
		case *format.MapType:
			return "MAP"
		}
	}
	if f.Repeated() {
		return "repeated group"
	}
	return "STRUCT (group)"
}

// openParquetSafe guards against panics inside the Parquet decoder on corrupt input.
func openParquetSafe(r io.ReaderAt, size int64) (pf *parquet.File, err error) {
	defer func() {
		if v := recover(); v != nil {
			pf, err = nil, fmt.Errorf("corrupt file: %v", v)
		}
	}()
	return parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

func (p *pqFile) Close() error { return p.f.Close() }

// cursor walks the pages of one column chunk, decoding the current page into per-row values.
type cursor struct {
	ref   *colRef
	pages parquet.Pages
	page  parquet.Page
	v     vec
	n     int
	pos   int
	buf   []byte // scratch for formatted ints
	rej   []bool // storage of v.rej
	// The dictionary whose text was last checked (its data's first byte and length), and
	// whether all of it is UTF-8: pages of a chunk share one dictionary.
	textData *byte
	textLen  int
	textOK   bool
}

// reject marks row i's value as refused.
func (c *cursor) reject(i int) {
	if c.v.rej == nil {
		c.rej = grow(c.rej, c.n)
		clear(c.rej)
		c.v.rej = c.rej
	}
	c.v.rej[i] = true
}

func (c *cursor) close() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
}

// load reads the next page; io.EOF at the end of the chunk.
func (c *cursor) load() error {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	page, err := c.pages.ReadPage()
	if err != nil {
		return err
	}
	c.page = page
	c.pos = 0
	return c.decode(page)
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// pageRows is a decoded page's layout: which rows hold a value, and where in data the j-th
// value is (through the dictionary indexes when the page is dictionary-encoded).
type pageRows struct {
	n      int
	defs   []byte
	maxDef byte
	idx    []int32 // dictionary indexes; nil for a plain page
	dict   bool    // data is the dictionary's
	data   encoding.Values
}

// present reports whether row i holds a value (is not null).
func (p *pageRows) present(i int) bool { return len(p.defs) == 0 || p.defs[i] == p.maxDef }

// pos returns the position in data of the j-th present value.
func (p *pageRows) pos(j int) int {
	if p.idx != nil {
		return int(p.idx[j])
	}
	return j
}

// decode turns a page into c.v, one value (or null) per row, by the column's conversion.
func (c *cursor) decode(page parquet.Page) error {
	n := int(page.NumRows())
	defs := page.DefinitionLevels()
	if len(defs) != 0 && len(defs) != n {
		return fmt.Errorf("column %q: unsupported page layout", c.ref.spec.name)
	}
	c.n = n
	c.v.valid = grow(c.v.valid, n)
	c.v.rej = nil
	pr := pageRows{n: n, defs: defs, maxDef: byte(c.ref.maxDef), data: page.Data()}
	if dict := page.Dictionary(); dict != nil {
		pr.dict = true
		pr.idx = pr.data.Int32()
		pr.data = dict.Page().Data()
		count := 0
		for i := range n {
			if pr.present(i) {
				count++
			}
		}
		if len(pr.idx) < count {
			return fmt.Errorf("column %q: page has %d values for %d rows", c.ref.spec.name, len(pr.idx), count)
		}
	}
	switch c.ref.conv {
	case convBytes:
		return c.decodeBytes(&pr)
	case convBoolStr:
		return c.decodeBools(page, n)
	case convIntStr:
		return c.decodeIntStrings(&pr)
	case convTimeNanos, convDate, convI32I, convI64I:
		return c.decodeInts(&pr)
	}
	return c.decodeFloats(&pr)
}

func (c *cursor) corrupt() error { return fmt.Errorf("column %q: corrupt page", c.ref.spec.name) }

// decodeBytes reads a byte-array column: each value is a sub-slice of the page's data.
// Values that are not UTF-8 are refused; the text is checked once per page (or dictionary)
// and value by value only when some of it is not UTF-8.
func (c *cursor) decodeBytes(pr *pageRows) error {
	v := &c.v
	v.str = grow(v.str, pr.n)
	d, offs := pr.data.ByteArray()
	var textOK bool
	switch {
	case len(d) == 0:
		textOK = true
	case pr.dict && c.textData == &d[0] && c.textLen == len(d):
		textOK = c.textOK
	default:
		textOK = allText(d, offs)
		if pr.dict {
			c.textData, c.textLen, c.textOK = &d[0], len(d), textOK
		}
	}
	j := 0
	for i := range pr.n {
		if !pr.present(i) {
			v.valid[i], v.str[i] = false, nil
			continue
		}
		k := pr.pos(j)
		j++
		if k+1 >= len(offs) || offs[k] > offs[k+1] || int(offs[k+1]) > len(d) {
			return c.corrupt()
		}
		v.valid[i], v.str[i] = true, d[offs[k]:offs[k+1]]
		if !textOK && !utf8.Valid(v.str[i]) {
			c.reject(i)
		}
	}
	return nil
}

// allText reports whether every value of a byte-array page (d cut at offs) is UTF-8: d is,
// and no value starts inside a multi-byte character.
func allText(d []byte, offs []uint32) bool {
	if !utf8.Valid(d) {
		return false
	}
	for _, o := range offs {
		if int(o) < len(d) && !utf8.RuneStart(d[o]) {
			return false
		}
	}
	return true
}

// decodeBools reads a boolean column as the strings "true" and "false".
func (c *cursor) decodeBools(page parquet.Page, n int) error {
	v := &c.v
	v.str = grow(v.str, n)
	vals := make([]parquet.Value, page.NumValues())
	m, err := page.Values().ReadValues(vals)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if m != n {
		return c.corrupt()
	}
	for i := range n {
		switch {
		case vals[i].IsNull():
			v.valid[i], v.str[i] = false, nil
		case vals[i].Boolean():
			v.valid[i], v.str[i] = true, []byte("true")
		default:
			v.valid[i], v.str[i] = true, []byte("false")
		}
	}
	return nil
}

// intAt returns the k-th value of an int32 or int64 page as an int64.
func intAt(i32 []int32, i64 []int64, k int) (int64, bool) {
	if i32 != nil {
		if k >= len(i32) {
			return 0, false
		}
		return int64(i32[k]), true
	}
	if k >= len(i64) {
		return 0, false
	}
	return i64[k], true
}

// ints returns the page's values as int32 or int64, whichever it holds.
func ints(data encoding.Values) ([]int32, []int64) {
	if data.Kind() == encoding.Int32 {
		return data.Int32(), nil
	}
	return nil, data.Int64()
}

// decodeIntStrings reads an integer id column as decimal strings, formatted into c.buf.
func (c *cursor) decodeIntStrings(pr *pageRows) error {
	v := &c.v
	v.str = grow(v.str, pr.n)
	c.buf = c.buf[:0]
	starts := make([]int, 0, pr.n+1)
	i32, i64 := ints(pr.data)
	j := 0
	for i := range pr.n {
		if !pr.present(i) {
			v.valid[i] = false
			starts = append(starts, -1)
			continue
		}
		x, ok := intAt(i32, i64, pr.pos(j))
		j++
		if !ok {
			return c.corrupt()
		}
		starts = append(starts, len(c.buf))
		c.buf = strconv.AppendInt(c.buf, x, 10)
		v.valid[i] = true
	}
	// c.buf may have moved while growing: slice it once it is complete.
	end := len(c.buf)
	for i := pr.n - 1; i >= 0; i-- {
		if starts[i] < 0 {
			v.str[i] = nil
			continue
		}
		v.str[i] = c.buf[starts[i]:end:end]
		end = starts[i]
	}
	return nil
}

// decodeInts reads an integer column, or a timestamp or date column as Unix nanoseconds.
func (c *cursor) decodeInts(pr *pageRows) error {
	v := &c.v
	v.i64 = grow(v.i64, pr.n)
	i32, i64 := ints(pr.data)
	j := 0
	for i := range pr.n {
		if !pr.present(i) {
			v.valid[i], v.i64[i] = false, 0
			continue
		}
		x, ok := intAt(i32, i64, pr.pos(j))
		j++
		if !ok {
			return c.corrupt()
		}
		switch c.ref.conv {
		case convTimeNanos, convDate:
			if x < c.ref.lo || x >= c.ref.hi {
				c.reject(i)
				x = 0
			} else if c.ref.conv == convDate {
				x *= dayNanos
			} else {
				x *= c.ref.mult
			}
		}
		v.valid[i], v.i64[i] = true, x
	}
	return nil
}

// decodeFloats reads a numeric column as float64.
func (c *cursor) decodeFloats(pr *pageRows) error {
	v := &c.v
	v.f64 = grow(v.f64, pr.n)
	var (
		f64 []float64
		f32 []float32
		i32 []int32
		i64 []int64
	)
	switch c.ref.conv {
	case convF64:
		f64 = pr.data.Double()
	case convF32:
		f32 = pr.data.Float()
	case convI32F:
		i32 = pr.data.Int32()
	case convI64F:
		i64 = pr.data.Int64()
	}
	j := 0
	for i := range pr.n {
		if !pr.present(i) {
			v.valid[i], v.f64[i] = false, math.NaN()
			continue
		}
		k := pr.pos(j)
		j++
		var x float64
		switch {
		case f64 != nil && k < len(f64):
			x = f64[k]
		case f32 != nil && k < len(f32):
			x = float64(f32[k])
		case i32 != nil && k < len(i32):
			x = float64(i32[k])
		case i64 != nil && k < len(i64):
			x = float64(i64[k])
		default:
			return c.corrupt()
		}
		if !(math.Abs(x) <= c.ref.lim) {
			c.reject(i)
		}
		v.valid[i], v.f64[i] = true, x
	}
	return nil
}

// rowIter zips the cursors of the asked columns over a file's row groups.
type rowIter struct {
	p     *pqFile
	rg    int
	first int // first row group to read
	last  int // last row group to read (inclusive); -1: all
	begun bool
	curs  []*cursor // parallel to p.cols; nil for absent columns
	views []vec
	done  bool
	// ahead makes each column read its pages one ahead of the decoding, on a goroutine of
	// its own (pagesAhead), for a reader whose decoding is on the longest stretch of a job.
	ahead bool
}

func newRowIter(p *pqFile) *rowIter {
	return &rowIter{p: p, rg: -1, last: -1, curs: make([]*cursor, len(p.cols)), views: make([]vec, len(p.cols))}
}

// restart makes it read row groups first..last again, keeping its buffers.
func (it *rowIter) restart(first, last int) {
	it.close()
	it.first, it.last, it.begun, it.done = first, last, false, false
}

func (it *rowIter) close() {
	for _, c := range it.curs {
		if c != nil {
			c.close()
		}
	}
}

// next returns the number of rows available in it.views (0 at the end).
func (it *rowIter) next() (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, &FileError{File: it.p.path, Err: fmt.Errorf("%w: corrupt data: %v", ErrUnreadable, v)}
		}
	}()
	for !it.done {
		if it.begun {
			// make sure every cursor has rows
			eof := false
			n = math.MaxInt
			live := 0
			for _, c := range it.curs {
				if c == nil {
					continue
				}
				live++
				for c.pos >= c.n {
					if err := c.load(); err != nil {
						if errors.Is(err, io.EOF) {
							eof = true
							break
						}
						return 0, &FileError{File: it.p.path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
					}
				}
				if eof {
					break
				}
				n = min(n, c.n-c.pos)
			}
			if live == 0 {
				// no asked column present: nothing to read
				it.done = true
				return 0, nil
			}
			if !eof && n > 0 {
				for i, c := range it.curs {
					if c != nil {
						it.views[i] = c.v.slice(c.pos, c.pos+n)
						c.pos += n
					}
				}
				return n, nil
			}
		}
		// next row group
		for _, c := range it.curs {
			if c != nil {
				c.close()
			}
		}
		if it.begun {
			it.rg++
		} else {
			it.rg, it.begun = it.first, true
		}
		rgs := it.p.pf.RowGroups()
		if it.rg >= len(rgs) || (it.last >= 0 && it.rg > it.last) {
			it.done = true
			return 0, nil
		}
		chunks := rgs[it.rg].ColumnChunks()
		for i, ref := range it.p.cols {
			if ref == nil {
				it.curs[i] = nil
				continue
			}
			if ref.leaf.ColumnIndex >= len(chunks) {
				return 0, &FileError{File: it.p.path, Err: fmt.Errorf("%w: row group %d lacks column %q", ErrUnreadable, it.rg, ref.spec.name)}
			}
			c := it.curs[i]
			if c == nil {
				c = &cursor{ref: ref}
				it.curs[i] = c
			}
			c.pages = chunks[ref.leaf.ColumnIndex].Pages()
			if it.ahead {
				c.pages = readAhead(c.pages)
			}
			c.n, c.pos = 0, 0
		}
	}
	return 0, nil
}

// pagesAhead reads a column chunk's pages one ahead of its reader, on a goroutine of its
// own: the next page is read from the file, decompressed and decoded by parquet-go while
// the reader converts the current one. Pages are reference-counted (parquet.Release), so
// two may be held at once. parquet-go has the same wrapper (parquet.AsyncPages), but a
// panic on a corrupt page would kill the process from its goroutine; here it becomes the
// page's error, as it does on the reader's goroutine (rowIter.next).
type pagesAhead struct {
	src  parquet.Pages
	next chan pageRead
	stop chan struct{}
	done chan struct{}
}

type pageRead struct {
	page parquet.Page
	err  error
}

func readAhead(src parquet.Pages) *pagesAhead {
	a := &pagesAhead{src: src, next: make(chan pageRead), stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

// run reads pages until an error (io.EOF at the end) has been handed over or Close stops it.
func (a *pagesAhead) run() {
	defer close(a.done)
	defer close(a.next)
	for {
		page, err := readPage(a.src)
		select {
		case a.next <- pageRead{page, err}:
			if err != nil {
				return
			}
		case <-a.stop:
			if page != nil {
				parquet.Release(page)
			}
			return
		}
	}
}

func readPage(src parquet.Pages) (page parquet.Page, err error) {
	defer func() {
		if v := recover(); v != nil {
			page, err = nil, fmt.Errorf("corrupt data: %v", v)
		}
	}()
	return src.ReadPage()
}

// ReadPage returns the page read ahead and lets the next one be read.
func (a *pagesAhead) ReadPage() (parquet.Page, error) {
	r, ok := <-a.next
	if !ok {
		return nil, io.EOF
	}
	return r.page, r.err
}

// SeekToRow is not supported: the reader reads every page in order.
func (a *pagesAhead) SeekToRow(int64) error {
	return errors.New("history: pages read ahead cannot seek")
}

// Close stops the reading, releases the page read ahead and closes the chunk's pages.
func (a *pagesAhead) Close() error {
	close(a.stop)
	<-a.done
	return a.src.Close()
}
