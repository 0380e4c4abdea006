package table

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
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// pqKind is how one Parquet leaf column is read.
type pqKind int

const (
	pqNumber pqKind = iota // ints and floats
	pqText                 // strings: typed by inference, like CSV cells
	pqBool                 // booleans
	pqDays                 // dates and timestamps: days since 1970-01-01 UTC
)

// rawColumn is one Parquet column as read, before decisions.
type rawColumn struct {
	name  string
	kind  pqKind
	scale float64 // multiply the raw number by this (decimals, time units)
	uns   bool    // unsigned integer
	num   []float64
	text  []string
	null  []bool // text: the value was null
}

// PartFiles lists the Parquet files of path: the file itself, or the *.parquet files of a
// directory in name order.
func PartFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.parquet"))
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if len(files) == 0 {
		return nil, &Error{File: path, Err: fmt.Errorf("%w: the directory holds no .parquet files", ErrEmpty), Expected: "Parquet part files"}
	}
	sort.Strings(files)
	return files, nil
}

// OpenParquet opens a Parquet file with parquet-go, turning a panic on a corrupt file into
// an *Error. Close the returned file when done.
func OpenParquet(path string) (f *os.File, pf *parquet.File, err error) {
	defer func() {
		// parquet-go may panic on some corrupt inputs; a file must never crash the process.
		if r := recover(); r != nil {
			if f != nil {
				f.Close()
			}
			f, pf, err = nil, nil, &Error{File: path, Err: fmt.Errorf("%w: %v", ErrMalformed, r)}
		}
	}()
	f, err = os.Open(path)
	if err != nil {
		return nil, nil, &Error{File: path, Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, &Error{File: path, Err: err}
	}
	pf, err = parquet.OpenFile(f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, &Error{File: path, Err: fmt.Errorf("%w: %v", ErrMalformed, err), Expected: "a Parquet file"}
	}
	return f, pf, nil
}

func readParquet(path string, opts Options) (*Table, error) {
	parts, err := PartFiles(path)
	if err != nil {
		return nil, err
	}
	skip := setOf(opts.Skip)
	var cols []*rawColumn
	for _, p := range parts {
		got, err := readParquetFile(p, skip)
		if err != nil {
			if errors.Is(err, ErrEmpty) && len(parts) > 1 {
				continue
			}
			return nil, err
		}
		if cols == nil {
			cols = got
			continue
		}
		if err := appendRaw(p, cols, got); err != nil {
			return nil, err
		}
	}
	if cols == nil {
		return nil, &Error{File: path, Err: fmt.Errorf("%w: every part file is empty", ErrEmpty)}
	}
	return decideParquet(path, cols, opts)
}

func appendRaw(path string, dst, src []*rawColumn) error {
	if len(dst) != len(src) {
		return &Error{File: path, Err: fmt.Errorf("%w: %d columns, the first part has %d", ErrHeader, len(src), len(dst)), Expected: "one schema for every part file"}
	}
	for j := range dst {
		d, s := dst[j], src[j]
		if d.name != s.name || d.kind != s.kind {
			return &Error{File: path, Column: s.name, Err: fmt.Errorf("%w: differs from the first part file", ErrHeader), Expected: "one schema for every part file"}
		}
		d.num = append(d.num, s.num...)
		d.text = append(d.text, s.text...)
		d.null = append(d.null, s.null...)
	}
	return nil
}

func readParquetFile(path string, skip map[string]bool) (cols []*rawColumn, err error) {
	fh, pf, err := OpenParquet(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	defer func() {
		if r := recover(); r != nil {
			cols, err = nil, &Error{File: path, Err: fmt.Errorf("%w: %v", ErrMalformed, r)}
		}
	}()
	fields := pf.Schema().Fields()
	have := make([]string, len(fields))
	for i, f := range fields {
		have[i] = f.Name()
	}
	for s := range skip {
		found := false
		for _, h := range have {
			found = found || h == s
		}
		if !found {
			return nil, &Error{File: path, Column: s, Err: ErrColumn, Expected: "one of " + strings.Join(have, ", ")}
		}
	}
	// Leaf columns in order: a value's Column() indexes this list; skipped ones read into nil.
	byLeaf := make([]*rawColumn, len(pf.Schema().Columns()))
	leaf := 0
	for _, fl := range fields {
		width := len(leafPaths(fl))
		if skip[fl.Name()] {
			leaf += width
			continue
		}
		c, err := rawColumnOf(fl)
		if err != nil {
			return nil, &Error{File: path, Column: fl.Name(), Err: err, Expected: "a number, string, boolean, date or timestamp (leave the column out)"}
		}
		if leaf >= len(byLeaf) {
			return nil, &Error{File: path, Err: fmt.Errorf("%w: schema has more fields than leaf columns", ErrMalformed)}
		}
		byLeaf[leaf] = c
		cols = append(cols, c)
		leaf += width
	}
	n := int(pf.NumRows())
	if n == 0 {
		return nil, &Error{File: path, Err: fmt.Errorf("%w: the file has no rows", ErrEmpty)}
	}
	intern := make(map[string]string)
	rd := parquet.NewReader(pf)
	defer rd.Close()
	buf := make([]parquet.Row, 1024)
	for {
		k, err := rd.ReadRows(buf)
		for _, row := range buf[:k] {
			for _, v := range row {
				j := v.Column()
				if j < 0 || j >= len(byLeaf) {
					return nil, &Error{File: path, Err: fmt.Errorf("%w: value for column %d", ErrMalformed, j)}
				}
				if byLeaf[j] != nil {
					byLeaf[j].add(v, intern)
				}
			}
		}
		if err == io.EOF || (err == nil && k == 0) {
			break
		}
		if err != nil {
			return nil, &Error{File: path, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
		}
	}
	return cols, nil
}

func rawColumnOf(fl parquet.Field) (*rawColumn, error) {
	if !fl.Leaf() {
		return nil, fmt.Errorf("%w: nested group", ErrUnsupported)
	}
	if fl.Repeated() {
		return nil, fmt.Errorf("%w: repeated (list) values", ErrUnsupported)
	}
	c := &rawColumn{name: fl.Name(), scale: 1}
	t := fl.Type()
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch l := lt.(type) {
	case *format.StringType, *format.EnumType, *format.JsonType, *format.UUIDType:
		c.kind = pqText
		return c, nil
	case *format.DateType:
		c.kind = pqDays
		return c, nil
	case *format.TimestampType:
		c.kind = pqDays
		switch l.Unit.Value.(type) {
		case *format.MilliSeconds:
			c.scale = 1 / 86400e3
		case *format.MicroSeconds:
			c.scale = 1 / 86400e6
		default:
			c.scale = 1 / 86400e9
		}
		return c, nil
	case *format.DecimalType:
		c.scale = math.Pow10(-int(l.Scale))
	case *format.IntType:
		c.uns = !l.IsSigned
	}
	switch t.Kind() {
	case parquet.Boolean:
		c.kind = pqBool
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		c.kind = pqNumber
	case parquet.ByteArray:
		if _, dec := lt.(*format.DecimalType); dec {
			return nil, fmt.Errorf("%w: decimal stored as bytes", ErrUnsupported)
		}
		c.kind = pqText
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, t)
	}
	return c, nil
}

func (c *rawColumn) add(v parquet.Value, intern map[string]string) {
	if c.kind == pqText {
		if v.IsNull() {
			c.text = append(c.text, "")
			return
		}
		b := v.ByteArray()
		s, ok := intern[string(b)]
		if !ok {
			s = string(b)
			intern[s] = s
		}
		c.text = append(c.text, s)
		return
	}
	if v.IsNull() {
		c.num = append(c.num, math.NaN())
		return
	}
	var x float64
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			x = 1
		}
	case parquet.Int32:
		if c.uns {
			x = float64(uint32(v.Int32()))
		} else {
			x = float64(v.Int32())
		}
	case parquet.Int64:
		if c.uns {
			x = float64(uint64(v.Int64()))
		} else {
			x = float64(v.Int64())
		}
	case parquet.Float:
		x = float64(v.Float())
	case parquet.Double:
		x = v.Double()
	default:
		x = math.NaN()
	}
	x *= c.scale
	if math.IsInf(x, 0) {
		x = math.NaN()
	}
	c.num = append(c.num, x)
}

// leafPaths returns the leaf columns under a node (itself when it is a leaf).
func leafPaths(n parquet.Node) [][]string {
	if n.Leaf() {
		return [][]string{nil}
	}
	var out [][]string
	for _, f := range n.Fields() {
		out = append(out, leafPaths(f)...)
	}
	return out
}

// typedReport decides a typed Parquet column (not text).
func typedReport(c *rawColumn, opts *Options) (ColumnReport, error) {
	r := ColumnReport{Name: c.name, Parquet: true}
	switch c.kind {
	case pqBool:
		r.Type, r.Use, r.True, r.Levels = TypeBoolean, UseNumeric, "true", 2
	case pqDays:
		r.Type, r.Use = TypeDate, UseDays
		days := map[float64]bool{}
		for _, d := range c.num {
			if !math.IsNaN(d) && len(days) < 14 {
				days[math.Floor(d)] = true
			}
		}
		r.Weekday = len(days) >= 14
	default:
		r.Type, r.Use = TypeInteger, UseNumeric
		for _, x := range c.num {
			if !math.IsNaN(x) && x != math.Trunc(x) {
				r.Type = TypeNumber
				break
			}
		}
	}
	if opts.Recorded != nil {
		rec := opts.recordedFor(c.name)
		switch {
		case rec.Use == UseDropped || rec.Use == UseKept:
			return rec, nil
		case rec.Use == UseCategorical && c.kind != pqDays:
			return rec, nil
		case rec.Use != r.Use || (rec.Type == TypeBoolean) != (r.Type == TypeBoolean) && rec.Type != TypeNumber && rec.Type != TypeInteger:
			return r, fmt.Errorf("%w: the column is %s now, it was %s when the model was trained", ErrType, r.Type, rec.Type)
		}
		rec.Missing = 0
		return rec, nil
	}
	if ov, ok := opts.Overrides[c.name]; ok {
		r.Override = ov.String()
		switch ov.As {
		case AsDrop:
			r.Use, r.Why = UseDropped, []string{"override"}
		case AsCategorical:
			r.Use = UseCategorical
		case AsNumeric:
			if c.kind == pqDays {
				return r, fmt.Errorf("%w: a date column cannot be made numeric (it is read as days already)", ErrType)
			}
		case AsDate:
			if c.kind != pqDays {
				return r, fmt.Errorf("%w: a %s column cannot be read as a date", ErrType, r.Type)
			}
		}
	}
	return r, nil
}

func decideParquet(path string, raw []*rawColumn, opts Options) (*Table, error) {
	names := make([]string, len(raw))
	for j, c := range raw {
		names[j] = c.name
	}
	if err := opts.checkNames(path, append(names, opts.Skip...)); err != nil {
		return nil, err
	}
	miss := newMissingSet(opts.Missing)
	keep := setOf(opts.Keep)
	rows := len(raw[0].num) + len(raw[0].text)
	rep := Report{File: filepath.Base(path), Format: "parquet", Missing: missingTokens(opts.Missing), Rows: rows}
	reps := make([]ColumnReport, len(raw))
	st := make([]*stats, len(raw))
	var latest time.Time
	for j, c := range raw {
		if c.kind != pqText || keep[c.name] || opts.Recorded != nil {
			continue
		}
		st[j] = newStats()
		for i, v := range c.text {
			st[j].observe(trimSpace(v), i+1, miss)
		}
	}
	mark, markWhy := fileMark(st, ',')
	for j, c := range raw {
		var err error
		switch {
		case keep[c.name]:
			reps[j] = ColumnReport{Name: c.name, Type: TypeKept, Use: UseKept}
		case c.kind != pqText:
			reps[j], err = typedReport(c, &opts)
			if c.kind == pqDays && reps[j].Use == UseDays {
				for _, d := range c.num {
					if !math.IsNaN(d) {
						if t := time.Unix(int64(math.Floor(d))*86400, 0).UTC(); t.After(latest) {
							latest = t
						}
					}
				}
			}
		case opts.Recorded != nil:
			reps[j] = opts.recordedFor(c.name)
		default:
			var ov *Override
			if o, ok := opts.Overrides[c.name]; ok {
				ov = &o
			}
			reps[j], err = decide(c.name, st[j], rows, mark, markWhy, ov)
			if reps[j].Use == UseDays && st[j].maxDate.After(latest) {
				latest = st[j].maxDate
			}
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.File = path
				return nil, e
			}
			return nil, &Error{File: path, Column: c.name, Err: err}
		}
		if reps[j].Decimal == "," {
			rep.Decimal = ","
		}
	}
	ref := opts.reference(latest)
	if !ref.IsZero() {
		rep.Reference = ref.Format("2006-01-02")
	}
	plans := make([]*plan, len(raw))
	for j := range raw {
		plans[j] = newPlan(reps[j], ref, miss)
	}
	b := newBuilder(plans, rows)
	b.rows = rows
	refDays := float64(ref.Unix()) / 86400
	for j, c := range raw {
		o := b.out[j]
		if c.kind == pqText {
			for i, v := range c.text {
				if err := b.add(j, trimSpace(v)); err != nil {
					e := &Error{File: path, Column: c.name, Err: fmt.Errorf("row %d: %w", i+1, err), Expected: plans[j].expected()}
					return nil, e
				}
			}
			continue
		}
		for _, x := range c.num {
			if math.IsNaN(x) {
				b.miss[j]++
			}
		}
		if o < 0 {
			continue
		}
		switch plans[j].rep.Use {
		case UseDays:
			out := make([]float64, len(c.num))
			var wd []string
			if plans[j].rep.Weekday {
				wd = make([]string, len(c.num))
			}
			for i, d := range c.num {
				out[i] = refDays - d
				if wd != nil && !math.IsNaN(d) {
					wd[i] = time.Unix(int64(math.Floor(d))*86400, 0).UTC().Weekday().String()
				}
			}
			b.cols[o].Num = out
			if wd != nil {
				b.cols[o+1].Cat = wd
			}
		case UseNumeric:
			b.cols[o].Num = c.num
		default: // categorical or kept: numbers as text
			cat := make([]string, len(c.num))
			for i, x := range c.num {
				if !math.IsNaN(x) {
					if c.kind == pqBool {
						cat[i] = strconv.FormatBool(x == 1)
					} else {
						cat[i] = strconv.FormatFloat(x, 'f', -1, 64)
					}
				}
			}
			lv := map[string]bool{}
			for _, s := range cat {
				lv[s] = true
			}
			b.cols[o].Cat = cat
			b.intern[j] = map[string]string{}
			for s := range lv {
				if s != "" {
					b.intern[j][s] = s
				}
			}
		}
	}
	cols := b.finish(&rep)
	rep.Rows = rows
	return &Table{Columns: cols, Report: rep}, nil
}
