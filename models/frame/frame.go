// Package frame holds a small in-memory table of named numeric and categorical columns: the
// input every propensity model fits on and predicts from.
//
// Missing numeric values are NaN; missing categorical values are the empty string. Row order is
// shared by all columns.
package frame

import (
	"fmt"
	"math"
)

// Kind says how a column is to be treated by a model.
type Kind int

const (
	// Numeric columns hold float64 values; NaN means missing.
	Numeric Kind = iota
	// Categorical columns hold strings; "" means missing.
	Categorical
)

func (k Kind) String() string {
	if k == Categorical {
		return "categorical"
	}
	return "numeric"
}

// Column is one named column. Exactly one of Num and Cat is used, as Kind says.
type Column struct {
	Name string
	Kind Kind
	Num  []float64
	Cat  []string
}

// Len returns the number of rows of c.
func (c *Column) Len() int {
	if c.Kind == Categorical {
		return len(c.Cat)
	}
	return len(c.Num)
}

// Frame is a set of equally long columns.
type Frame struct {
	Columns []Column
}

// Rows returns the number of rows, 0 for a frame with no columns.
func (f *Frame) Rows() int {
	if len(f.Columns) == 0 {
		return 0
	}
	return f.Columns[0].Len()
}

// Names returns the column names in order.
func (f *Frame) Names() []string {
	out := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		out[i] = c.Name
	}
	return out
}

// Index returns the position of the named column, or -1.
func (f *Frame) Index(name string) int {
	for i := range f.Columns {
		if f.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// Column returns the named column, or nil.
func (f *Frame) Column(name string) *Column {
	if i := f.Index(name); i >= 0 {
		return &f.Columns[i]
	}
	return nil
}

// AddNumeric appends a numeric column.
func (f *Frame) AddNumeric(name string, v []float64) {
	f.Columns = append(f.Columns, Column{Name: name, Kind: Numeric, Num: v})
}

// AddCategorical appends a categorical column.
func (f *Frame) AddCategorical(name string, v []string) {
	f.Columns = append(f.Columns, Column{Name: name, Kind: Categorical, Cat: v})
}

// Validate checks that names are unique and non-empty and that all columns have one length.
func (f *Frame) Validate() error {
	seen := make(map[string]bool, len(f.Columns))
	n := f.Rows()
	for i := range f.Columns {
		c := &f.Columns[i]
		if c.Name == "" {
			return fmt.Errorf("frame: column %d has no name", i)
		}
		if seen[c.Name] {
			return fmt.Errorf("frame: column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		if c.Len() != n {
			return fmt.Errorf("frame: column %q has %d rows, want %d", c.Name, c.Len(), n)
		}
		if c.Kind == Numeric {
			for r, v := range c.Num {
				if math.IsInf(v, 0) {
					return fmt.Errorf("frame: column %q row %d is infinite", c.Name, r)
				}
			}
		}
	}
	return nil
}

// Take returns a new frame holding the given rows, in that order. The values are copied.
func (f *Frame) Take(rows []int) *Frame {
	out := &Frame{Columns: make([]Column, len(f.Columns))}
	for i, c := range f.Columns {
		nc := Column{Name: c.Name, Kind: c.Kind}
		if c.Kind == Categorical {
			nc.Cat = make([]string, len(rows))
			for j, r := range rows {
				nc.Cat[j] = c.Cat[r]
			}
		} else {
			nc.Num = make([]float64, len(rows))
			for j, r := range rows {
				nc.Num[j] = c.Num[r]
			}
		}
		out.Columns[i] = nc
	}
	return out
}

// Drop returns a frame without the named columns (sharing the remaining columns' data).
func (f *Frame) Drop(names ...string) *Frame {
	skip := make(map[string]bool, len(names))
	for _, n := range names {
		skip[n] = true
	}
	out := &Frame{}
	for _, c := range f.Columns {
		if !skip[c.Name] {
			out.Columns = append(out.Columns, c)
		}
	}
	return out
}
