package features

import (
	"errors"
	"fmt"
	"time"
)

// DefaultHalfLife is the half-life of the decayed counts when Options.HalfLife is zero.
const DefaultHalfLife = 30 * 24 * time.Hour

// EnsureDefaults returns o with zero fields set to their defaults (as-of in UTC, half-life,
// the docs/contract.md §1 column names).
func (o Options) EnsureDefaults() Options {
	if o.HalfLife == 0 {
		o.HalfLife = DefaultHalfLife
	}
	o.AsOf = o.AsOf.UTC()
	o.Mapping = o.Mapping.WithDefaults()
	return o
}

// Validate reports every problem of o at once; each wraps ErrBadOptions.
func (o Options) Validate() error {
	var errs []error
	if o.AsOf.IsZero() {
		errs = append(errs, fmt.Errorf("%w: as-of time is required", ErrBadOptions))
	} else if err := CheckTime(o.AsOf); err != nil {
		errs = append(errs, fmt.Errorf("%w: as-of: %w", ErrBadOptions, err))
	}
	if o.Horizon < 0 {
		errs = append(errs, fmt.Errorf("%w: horizon must not be negative", ErrBadOptions))
	}
	if o.HalfLife < 0 {
		errs = append(errs, fmt.Errorf("%w: half-life must not be negative", ErrBadOptions))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() (Options, error) { return o.EnsureDefaults(), nil }

func (o Options) validate() error { return o.Validate() }
