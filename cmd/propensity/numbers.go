package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Numbers in tables and summary lines are written as people write them (docs/cli.md,
// "Numbers"): counts without decimals, probabilities and AUCs with 3 digits, fitted
// parameters with 4 significant digits. --json keeps full precision.

// fmtCount writes a count (or an expected count) as a whole number.
func fmtCount(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(math.Round(x), 'f', 0, 64)
}

// fmtPoints writes scorecard points: whole points without decimals, fractional ones with at
// most 2 ("-10", "12.5").
func fmtPoints(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}

// fmtProb writes a probability, AUC or other score in [0, 1]-ish range with 3 decimals.
func fmtProb(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

// fmtParam writes a fitted parameter: 4 significant digits, without an exponent for large
// values (185124, not 1.851e+05).
func fmtParam(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "-"
	case math.Abs(x) >= 1e4:
		return fmtCount(x)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// fmtCounts writes named counts in the given order, then any others by name:
// "vip 12, loyal 300, at_risk 4".
func fmtCounts(counts map[string]int, order ...string) string {
	names := slices.DeleteFunc(slices.Sorted(maps.Keys(counts)), func(n string) bool { return slices.Contains(order, n) })
	var parts []string
	for _, n := range append(slices.Clip(order), names...) {
		if c, ok := counts[n]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", n, c))
		}
	}
	return strings.Join(parts, ", ")
}
