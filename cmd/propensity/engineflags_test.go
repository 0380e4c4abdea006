package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/propensity-dev/propensity/features/history"
)

func TestParseMemory(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"4GB", 4 << 30, true},
		{"4gib", 4 << 30, true},
		{"512MB", 512 << 20, true},
		{"1.5G", 3 << 29, true},
		{"30000", 30000, true},
		{"0", 0, false},
		{"-1GB", 0, false},
		{"lots", 0, false},
		{"4XB", 0, false},
	} {
		got, err := parseMemory(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestHoldHeap checks the soft memory limit a batch job sets: nine tenths of the budget, at least 64 MiB,
// never above a lower limit already set, and the previous limit back afterwards.
func TestHoldHeap(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(orig)
	debug.SetMemoryLimit(math.MaxInt64)
	for _, c := range []struct{ budget, prev, want int64 }{
		{1 << 30, math.MaxInt64, 1<<30 - (1<<30)/10},
		{1 << 20, math.MaxInt64, 64 << 20}, // floor
		{4 << 30, 2 << 30, 2 << 30},        // a lower GOMEMLIMIT stays
	} {
		debug.SetMemoryLimit(c.prev)
		restore := holdHeap(c.budget)
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("budget %d under limit %d: limit %d, want %d", c.budget, c.prev, got, c.want)
		}
		restore()
		if got := debug.SetMemoryLimit(-1); got != c.prev {
			t.Errorf("budget %d: limit %d after the run, want %d back", c.budget, got, c.prev)
		}
	}
	debug.SetMemoryLimit(math.MaxInt64)
	restore := holdHeap(0)
	if d := history.DefaultMemory(); debug.SetMemoryLimit(-1) != max(d-d/10, 64<<20) {
		t.Errorf("default budget %d: limit %d, want nine tenths", d, debug.SetMemoryLimit(-1))
	}
	restore()
}
