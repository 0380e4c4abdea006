package main

import "testing"

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
