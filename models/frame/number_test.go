package frame_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
)

func TestNumber(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   any
		want float64
		ok   bool
	}{
		{"float64", 1.5, 1.5, true},
		{"float32", float32(0.25), 0.25, true},
		{"int", -3, -3, true},
		{"int8", int8(-8), -8, true},
		{"int16", int16(16), 16, true},
		{"int32", int32(32), 32, true},
		{"int64", int64(1) << 53, 1 << 53, true},
		{"uint", uint(7), 7, true},
		{"uint8", uint8(255), 255, true},
		{"uint16", uint16(16), 16, true},
		{"uint32", uint32(32), 32, true},
		{"uint64", uint64(64), 64, true},
		{"inf passes", math.Inf(-1), math.Inf(-1), true},
		{"string", "12", 0, false},
		{"bool", true, 0, false},
		{"json.Number", json.Number("3"), 0, false},
		{"nil", nil, 0, false},
		{"pointer", new(float64), 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := frame.Number(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Number(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	if got, ok := frame.Number(math.NaN()); !ok || !math.IsNaN(got) {
		t.Errorf("Number(NaN) = %v, %v; want NaN, true", got, ok)
	}
}

func ExampleNumber() {
	for _, v := range []any{int32(7), float32(0.5), "7"} {
		x, ok := frame.Number(v)
		fmt.Println(x, ok)
	}
	// Output:
	// 7 true
	// 0.5 true
	// 0 false
}
