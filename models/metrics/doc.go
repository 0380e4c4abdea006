// Package metrics scores binary probability predictions: ranking (AUC, average precision),
// probability quality (log loss, Brier score, expected calibration error) and decile lift.
//
// Labels are 0 or 1; weights may be nil (all ones). Length mismatches are programmer errors
// and panic; a metric that is undefined for the data (AUC with a single class) returns an
// error instead of NaN.
package metrics
