package gbt

import (
	"errors"
	"fmt"
)

// Errors returned by Fit and by the prediction methods, possibly wrapped.
var (
	ErrEmpty         = errors.New("gbt: no rows or no columns")
	ErrLength        = errors.New("gbt: length mismatch")
	ErrLabel         = errors.New("gbt: labels must be in [0, 1]")
	ErrWeight        = errors.New("gbt: weights must be finite and non-negative with a positive sum")
	ErrOneClass      = errors.New("gbt: all training labels are equal; nothing to learn")
	ErrOptions       = errors.New("gbt: invalid options")
	ErrMissingColumn = errors.New("gbt: column missing")
	ErrColumnKind    = errors.New("gbt: column has the wrong kind")
	ErrRow           = errors.New("gbt: row out of range")
	ErrModel         = errors.New("gbt: malformed model")
)

// ColumnError reports a problem with one input column, by name.
type ColumnError struct {
	Name string // the model's feature name
	Err  error  // ErrMissingColumn or ErrColumnKind
}

func (e *ColumnError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Name) }
func (e *ColumnError) Unwrap() error { return e.Err }
