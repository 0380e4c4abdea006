package btyd

import (
	"errors"
	"fmt"
)

// Errors returned by the fitting and scoring functions. Input errors are wrapped in
// *InputError, which names the offending row.
var (
	ErrNoData       = errors.New("btyd: no customers")
	ErrNoRepeat     = errors.New("btyd: no repeat purchases (every customer has frequency 0), the model is not identified")
	ErrNotConverged = errors.New("btyd: maximum likelihood did not converge")
	ErrBoundary     = errors.New("btyd: the estimate runs to the boundary of the parameter space (a parameter towards 0 or infinity): the data do not identify the model (too few customers, or no sign of dropout or heterogeneity)")
	ErrInput        = errors.New("btyd: invalid input")
	ErrPeriod       = errors.New("btyd: unknown period")
	ErrInfiniteMean = errors.New("btyd: Gamma-Gamma q <= 1, the population mean spend is infinite")
)

// InputError reports an invalid value in row Row of the field Field.
type InputError struct {
	Field string  // "x", "t_x", "T", "monetary", "weight", ...
	Row   int     // zero-based index into the input slices
	Value float64 // the offending value
	Want  string  // what was expected
}

func (e *InputError) Error() string {
	return fmt.Sprintf("btyd: row %d: %s = %v, want %s", e.Row, e.Field, e.Value, e.Want)
}

// Unwrap returns ErrInput.
func (e *InputError) Unwrap() error { return ErrInput }

// FitError reports an optimisation that did not reach a maximum.
type FitError struct {
	Model  string // "bgnbd" or "gamma-gamma"
	Status string // the optimiser's final status
	Err    error  // ErrNotConverged or an error from the optimiser
}

func (e *FitError) Error() string {
	return fmt.Sprintf("btyd: fitting %s: %v (optimizer status %s)", e.Model, e.Err, e.Status)
}

// Unwrap returns the underlying error.
func (e *FitError) Unwrap() error { return e.Err }
