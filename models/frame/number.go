package frame

// Number converts a value of one of Go's numeric kinds (float64, float32, and the signed and
// unsigned integers of every width) to a numeric cell. It reports false for anything else:
// strings, booleans, json.Number and nil carry a policy (is "" missing? is true 1?) that
// belongs to the caller, who handles them before or after calling Number. NaN and Inf pass
// through unchanged.
//
// The classifier's record reader, the scorecard's comparisons, the persona transform and the
// evaluation's candidate rules all read record values through Number, so they agree on which
// Go values are numbers.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	}
	return 0, false
}
