// Package cliflags holds the flags that propensity and propensity-beam share: the history
// options of `features` and `score --data` (as-of, horizon, half-life, strict identity, the
// column mapping) and their parsers, so that the two binaries take the same flags and give
// the same errors.
package cliflags

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// UsageError marks a problem with the command line or its input: exit status 2.
type UsageError struct{ Err error }

func (u *UsageError) Error() string { return u.Err.Error() }
func (u *UsageError) Unwrap() error { return u.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, a ...any) error { return &UsageError{fmt.Errorf(format, a...)} }

// ParseDate parses DATE as YYYY-MM-DD (midnight UTC) or RFC 3339 (docs/contract.md §4), within
// the accepted range of times (features.TimeRange, docs/operations.md).
func ParseDate(flagName, s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, Usagef("--%s: %q is not a date (want YYYY-MM-DD or RFC 3339)", flagName, s)
		}
	}
	if err := features.CheckTime(t); err != nil {
		return time.Time{}, Usagef("--%s: %q is outside the accepted range: %v", flagName, s, err)
	}
	return t.UTC(), nil
}

// ParseDuration reads a flag's duration with scorecard.ParseDuration (d, w or h suffix, or
// anything time.ParseDuration accepts; positive, finite, at most a century), so that flags
// and scorecard YAML accept the same spellings.
func ParseDuration(flagName, s string) (time.Duration, error) {
	d, err := scorecard.ParseDuration(s)
	if err != nil {
		return 0, Usagef("--%s: %q is not a positive duration (want e.g. 90d, 12w, 36h)", flagName, s)
	}
	return d, nil
}

// Mapping are the flags of every command that reads a history or a table: the mapping YAML
// (docs/tables.md) and the transactions columns.
type Mapping struct {
	Config, Customer, Time, Amount *string
}

// AddMapping adds --config, --customer, --time and --amount to fs.
func AddMapping(fs *flag.FlagSet) *Mapping {
	return &Mapping{
		Config:   fs.String("config", "", "mapping YAML naming history files and columns, column types and missing tokens (docs/tables.md)"),
		Customer: fs.String("customer", "", "transactions column holding the customer (contact) id"),
		Time:     fs.String("time", "", "transactions column holding the time"),
		Amount:   fs.String("amount", "", "transactions column holding the amount"),
	}
}

// Load reads the --config file (if any) and applies the column flags: the history mapping
// and the table part (column types, missing tokens).
func (m *Mapping) Load() (features.Mapping, table.Config, error) {
	var fm features.Mapping
	var tc table.Config
	if *m.Config != "" {
		if _, err := os.Stat(*m.Config); err != nil {
			return fm, tc, Usagef("--config: %v", err)
		}
		var err error
		if fm, err = history.LoadMapping(*m.Config); err != nil {
			return fm, tc, &UsageError{Err: err}
		}
		data, err := os.ReadFile(*m.Config)
		if err != nil {
			return fm, tc, Usagef("--config: %v", err)
		}
		if tc, err = table.ParseConfig(data); err != nil {
			return fm, tc, Usagef("%s: %v", *m.Config, err)
		}
	}
	if *m.Customer != "" {
		fm.Transactions.ContactID = *m.Customer
	}
	if *m.Time != "" {
		fm.Transactions.TS = *m.Time
	}
	if *m.Amount != "" {
		fm.Transactions.Amount = *m.Amount
	}
	return fm, tc, nil
}

// Features are the flags of `features`: the history, the as-of time, the label horizon, the
// half-life, strict identity and the column mapping.
type Features struct {
	Data, AsOf, Horizon, HalfLife *string
	Strict                        *bool
	Mapping                       *Mapping
}

// AddFeatures adds the flags of Features to fs.
func AddFeatures(fs *flag.FlagSet) *Features {
	return &Features{
		Data:     fs.String("data", "", "history directory (contacts, events, transactions, identities Parquet)"),
		AsOf:     fs.String("as-of", "", "as-of time T: YYYY-MM-DD or RFC 3339; features use rows with ts < T"),
		Horizon:  fs.String("horizon", "", "label window H after T (e.g. 90d); no labels when empty"),
		HalfLife: fs.String("half-life", "", "half-life of the decayed counts (default 30d)"),
		Mapping:  AddMapping(fs),
		Strict:   fs.Bool("strict-identity", false, "ignore identity links first seen at or after the as-of time"),
	}
}

// Options parses the flags into feature options. --as-of must be set (check it with the
// command's other required flags first).
func (f *Features) Options() (features.Options, error) {
	opts := features.Options{StrictIdentity: *f.Strict}
	var err error
	if opts.AsOf, err = ParseDate("as-of", *f.AsOf); err != nil {
		return opts, err
	}
	if *f.Horizon != "" {
		if opts.Horizon, err = ParseDuration("horizon", *f.Horizon); err != nil {
			return opts, err
		}
	}
	if *f.HalfLife != "" {
		if opts.HalfLife, err = ParseDuration("half-life", *f.HalfLife); err != nil {
			return opts, err
		}
	}
	if opts.Mapping, _, err = f.Mapping.Load(); err != nil {
		return opts, err
	}
	return opts, nil
}
