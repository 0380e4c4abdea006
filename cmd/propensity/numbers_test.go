package main

import (
	"math"
	"testing"
)

func TestNumberFormats(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"count", fmtCount(20000), "20000"},
		{"negative count", fmtCount(-10), "-10"},
		{"expected count", fmtCount(17455.426), "17455"},
		{"count NaN", fmtCount(math.NaN()), "-"},
		{"points", fmtPoints(-10), "-10"},
		{"fractional points", fmtPoints(12.5), "12.5"},
		{"probability", fmtProb(0.76149), "0.761"},
		{"probability one", fmtProb(1), "1.000"},
		{"param", fmtParam(1.51934), "1.519"},
		{"small param", fmtParam(0.13812), "0.1381"},
		{"huge param", fmtParam(185124.3), "185124"},
		{"tiers", fmtCounts(map[string]int{"lapsed": 3, "vip": 1, "other": 2, "loyal": 0}, "vip", "loyal", "lapsed"), "vip 1, loyal 0, lapsed 3, other 2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
