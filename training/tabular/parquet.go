package tabular

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
)

// readParquetDir reads the ".parquet" part files of dir in name order as one table; they must
// share one schema.
func readParquetDir(dir string, skip []string) (*frame.Frame, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return nil, &ReadError{Path: dir, Err: err}
	}
	if len(matches) == 0 {
		return nil, &ReadError{Path: dir, Err: fmt.Errorf("%w: directory holds no .parquet files", ErrEmpty)}
	}
	sort.Strings(matches)
	var out *frame.Frame
	for _, p := range matches {
		f, err := readParquetFile(p, skip)
		if err != nil {
			if errors.Is(err, ErrEmpty) {
				continue
			}
			return nil, err
		}
		if out == nil {
			out = f
			continue
		}
		if err := appendFrame(out, f); err != nil {
			return nil, &ReadError{Path: p, Err: err}
		}
	}
	if out == nil {
		return nil, &ReadError{Path: dir, Err: fmt.Errorf("%w: every part file is empty", ErrEmpty)}
	}
	return out, nil
}

func appendFrame(dst, src *frame.Frame) error {
	if strings.Join(dst.Names(), "\x00") != strings.Join(src.Names(), "\x00") {
		return fmt.Errorf("%w: columns %v differ from the first part's %v", ErrHeader, src.Names(), dst.Names())
	}
	for j := range dst.Columns {
		d, s := &dst.Columns[j], &src.Columns[j]
		switch {
		case d.Kind == s.Kind && d.Kind == frame.Numeric:
			d.Num = append(d.Num, s.Num...)
		case d.Kind == s.Kind:
			d.Cat = append(d.Cat, s.Cat...)
		default:
			// One part's text column looked numeric, another's did not: keep text.
			toCat := func(c *frame.Column) {
				if c.Kind == frame.Numeric {
					cat := make([]string, len(c.Num))
					for i, v := range c.Num {
						if !math.IsNaN(v) {
							cat[i] = formatNum(v)
						}
					}
					*c = frame.Column{Name: c.Name, Kind: frame.Categorical, Cat: cat}
				}
			}
			toCat(d)
			toCat(s)
			d.Cat = append(d.Cat, s.Cat...)
		}
	}
	return nil
}

// parquetKind is how one leaf column is converted.
type parquetKind int

const (
	pqNumber parquetKind = iota // ints and floats
	pqText                      // strings: kind detected like CSV text
	pqBool                      // "true"/"false"
	pqDays                      // dates and timestamps: days since the epoch
)

type parquetColumn struct {
	name  string
	kind  parquetKind
	scale float64 // multiply the raw number by this (decimals, time units)
	uns   bool    // unsigned integer
	num   []float64
	text  []string
}

func readParquetFile(path string, skip []string) (f *frame.Frame, err error) {
	defer func() {
		// parquet-go may panic on some corrupt inputs; a file must never crash the process.
		if r := recover(); r != nil {
			f, err = nil, &ReadError{Path: path, Err: fmt.Errorf("%w: %v", ErrMalformed, r)}
		}
	}()
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(fh, st.Size())
	if err != nil {
		return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	skipped := make(map[string]bool, len(skip))
	for _, s := range skip {
		skipped[s] = true
	}
	// Leaf columns in order: a value's Column() indexes this list. Skipped and nested
	// columns read into nil slots.
	leaves := pf.Schema().Columns()
	cols := make([]*parquetColumn, len(leaves))
	fields := pf.Schema().Fields()
	if err := checkSkip(path, fields, skip); err != nil {
		return nil, err
	}
	leaf := 0
	for _, fl := range fields {
		width := len(leafPaths(fl))
		if skipped[fl.Name()] {
			leaf += width
			continue
		}
		c, err := parquetColumnOf(fl)
		if err != nil {
			return nil, &ReadError{Path: path, Column: fl.Name(), Err: fmt.Errorf("%w (leave it out with --exclude)", err)}
		}
		if leaf >= len(cols) {
			return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: schema has more fields than leaf columns", ErrMalformed)}
		}
		cols[leaf] = c
		leaf += width
	}
	n := int(pf.NumRows())
	if n == 0 {
		return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: the file has no rows", ErrEmpty)}
	}
	for _, c := range cols {
		if c == nil {
			continue
		}
		if c.kind == pqText || c.kind == pqBool {
			c.text = make([]string, 0, n)
		} else {
			c.num = make([]float64, 0, n)
		}
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
				if j < 0 || j >= len(cols) {
					return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: value for column %d", ErrMalformed, j)}
				}
				if cols[j] != nil {
					cols[j].add(v, intern)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
		}
		if k == 0 {
			break
		}
	}
	out := &frame.Frame{}
	for _, c := range cols {
		if c != nil {
			out.Columns = append(out.Columns, c.column())
		}
	}
	if len(out.Columns) == 0 {
		return nil, &ReadError{Path: path, Err: fmt.Errorf("%w: every column is skipped", ErrEmpty)}
	}
	if err := out.Validate(); err != nil {
		return nil, &ReadError{Path: path, Err: err}
	}
	return out, nil
}

func parquetColumnOf(fl parquet.Field) (*parquetColumn, error) {
	if !fl.Leaf() {
		return nil, fmt.Errorf("%w: nested group", ErrUnsupported)
	}
	if fl.Repeated() {
		return nil, fmt.Errorf("%w: repeated (list) values", ErrUnsupported)
	}
	c := &parquetColumn{name: fl.Name(), scale: 1}
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

func (c *parquetColumn) add(v parquet.Value, intern map[string]string) {
	if v.IsNull() {
		if c.kind == pqText || c.kind == pqBool {
			c.text = append(c.text, "")
		} else {
			c.num = append(c.num, math.NaN())
		}
		return
	}
	switch c.kind {
	case pqBool:
		if v.Boolean() {
			c.text = append(c.text, "true")
		} else {
			c.text = append(c.text, "false")
		}
	case pqText:
		b := v.ByteArray()
		s, ok := intern[string(b)]
		if !ok {
			s = string(b)
			intern[s] = s
		}
		c.text = append(c.text, s)
	default:
		var x float64
		switch v.Kind() {
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
}

// column turns the collected values into a frame column, detecting the kind of text columns
// with the same rules as CSV.
func (c *parquetColumn) column() frame.Column {
	if c.kind != pqText {
		if c.kind == pqBool {
			return frame.Column{Name: c.name, Kind: frame.Categorical, Cat: c.text}
		}
		return frame.Column{Name: c.name, Kind: frame.Numeric, Num: c.num}
	}
	num := make([]float64, len(c.text))
	for i, s := range c.text {
		s = strings.TrimSpace(s)
		if classifier.IsMissing(s) {
			num[i] = math.NaN()
			continue
		}
		x, ok := parseNumber(s)
		if !ok {
			cat := make([]string, len(c.text))
			for i, s := range c.text {
				if s = strings.TrimSpace(s); !classifier.IsMissing(s) {
					cat[i] = s
				}
			}
			return frame.Column{Name: c.name, Kind: frame.Categorical, Cat: cat}
		}
		num[i] = x
	}
	return frame.Column{Name: c.name, Kind: frame.Numeric, Num: num}
}

// leafPaths returns the leaf columns under a field (itself when it is a leaf).
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

func checkSkip(path string, fields []parquet.Field, skip []string) error {
	have := make(map[string]bool, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		have[f.Name()] = true
		names[i] = f.Name()
	}
	for _, s := range skip {
		if !have[s] {
			return &ReadError{Path: path, Column: s, Err: fmt.Errorf("%w (the table has %s)", ErrColumn, strings.Join(names, ", "))}
		}
	}
	return nil
}
