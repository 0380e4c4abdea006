package batch

import (
	"encoding/csv"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// rowWriter writes score rows to the output file.
type rowWriter interface {
	Write(rows []Row) (int, error)
	Close() error
}

// IsCSV reports whether an output path asks for CSV (by its .csv extension) rather than
// Parquet.
func IsCSV(path string) bool { return strings.EqualFold(filepath.Ext(path), ".csv") }

// newRowWriter writes Parquet, or CSV when the output file ends in .csv: the same columns,
// named as in Parquet, missing model values empty.
func newRowWriter(w io.Writer, opts Options) rowWriter {
	if IsCSV(opts.Out) {
		cw := &csvRows{w: csv.NewWriter(w)}
		cw.err = cw.w.Write(rowHeader())
		return cw
	}
	return NewWriter(w, opts.AsOf)
}

// rowHeader returns the column names of Row, from its parquet tags.
func rowHeader() []string {
	t := reflect.TypeFor[Row]()
	out := make([]string, t.NumField())
	for i := range out {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("parquet"), ",")
		out[i] = name
	}
	return out
}

type csvRows struct {
	w   *csv.Writer
	rec []string
	err error
}

func (c *csvRows) Write(rows []Row) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for k := range rows {
		v := reflect.ValueOf(&rows[k]).Elem()
		c.rec = c.rec[:0]
		for i := range v.NumField() {
			c.rec = append(c.rec, cell(v.Field(i)))
		}
		if err := c.w.Write(c.rec); err != nil {
			c.err = err
			return k, err
		}
	}
	return len(rows), nil
}

func (c *csvRows) Close() error {
	c.w.Flush()
	if c.err != nil {
		return c.err
	}
	return c.w.Error()
}

// cell formats one field of a Row; a nil pointer (no model) is empty.
func cell(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Int64, reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	}
	return ""
}
