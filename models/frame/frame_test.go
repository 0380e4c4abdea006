package frame

import (
	"math"
	"testing"
)

func sample() *Frame {
	f := &Frame{}
	f.AddNumeric("age", []float64{30, math.NaN(), 50})
	f.AddCategorical("city", []string{"a", "", "b"})
	return f
}

func TestTakeAndDrop(t *testing.T) {
	f := sample()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	g := f.Take([]int{2, 0})
	if g.Rows() != 2 || g.Column("age").Num[0] != 50 || g.Column("city").Cat[1] != "a" {
		t.Fatalf("Take gave %+v", g)
	}
	d := f.Drop("age")
	if len(d.Columns) != 1 || d.Index("age") != -1 || d.Index("city") != 0 {
		t.Fatalf("Drop gave %v", d.Names())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		f    func() *Frame
	}{
		{"duplicate", func() *Frame { f := sample(); f.AddNumeric("age", []float64{1, 2, 3}); return f }},
		{"short", func() *Frame { f := sample(); f.AddNumeric("x", []float64{1}); return f }},
		{"unnamed", func() *Frame { f := sample(); f.AddNumeric("", []float64{1, 2, 3}); return f }},
		{"inf", func() *Frame { f := sample(); f.AddNumeric("x", []float64{1, math.Inf(1), 3}); return f }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f().Validate(); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
