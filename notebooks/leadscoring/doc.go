// Package leadscoring is an executable walkthrough of lead scoring on a generated history:
// features, the dealership scorecard, a conversion model and rules versus model. The cells
// are the Example functions of its tests; run them with go test ./notebooks/leadscoring.
package leadscoring
