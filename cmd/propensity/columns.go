package main

import (
	"flag"
	"strings"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/cliflags"
	"github.com/propensity-dev/propensity/internal/table"
)

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, splitList(s)...)
	return nil
}

// mappingFlags are the flags of every command that reads a history or a table: the mapping
// YAML (docs/tables.md) and the transactions columns (shared with propensity-beam).
type mappingFlags = cliflags.Mapping

func addMappingFlags(fs *flag.FlagSet) *mappingFlags { return cliflags.AddMapping(fs) }

// tableFlags are the column-type overrides of every command that reads a table.
type tableFlags struct {
	numeric, categorical, drop, date, missing listFlag
}

func addTableFlags(fs *flag.FlagSet) *tableFlags {
	t := &tableFlags{}
	fs.Var(&t.numeric, "numeric", "column to read as numbers (repeatable or comma-separated)")
	fs.Var(&t.categorical, "categorical", "column to read as categorical, even when its values are numbers (repeatable or comma-separated)")
	fs.Var(&t.drop, "drop", "column to leave out (repeatable or comma-separated)")
	fs.Var(&t.date, "date", "column to read as a date: COL or COL=FORMAT, FORMAT one of yyyy-mm-dd, dd.mm.yyyy, dd/mm/yyyy, mm/dd/yyyy (repeatable)")
	fs.Var(&t.missing, "missing", "tokens read as missing, replacing the defaults NA, n/a, NaN, null, none, -, ?, #N/A (comma-separated; the empty cell is always missing)")
	return t
}

// overrides merges the config's column types with the flags (the flags win) and returns
// them with the missing tokens.
func (t *tableFlags) overrides(cfg table.Config) (map[string]table.Override, []string, error) {
	ov := map[string]table.Override{}
	for k, v := range cfg.Columns {
		ov[k] = v
	}
	for _, set := range []struct {
		cols listFlag
		as   string
	}{{t.numeric, table.AsNumeric}, {t.categorical, table.AsCategorical}, {t.drop, table.AsDrop}} {
		for _, c := range set.cols {
			ov[c] = table.Override{As: set.as}
		}
	}
	for _, d := range t.date {
		col, format, _ := strings.Cut(d, "=")
		o := table.Override{As: table.AsDate, Format: strings.TrimSpace(format)}
		if err := o.Validate(); err != nil {
			return nil, nil, usagef("--date %s: %v", d, err)
		}
		ov[strings.TrimSpace(col)] = o
	}
	missing := cfg.Missing
	if len(t.missing) > 0 {
		missing = t.missing
	}
	return ov, missing, nil
}

// loadColumns reads the mapping flags and the column-type flags of a command that reads a
// history or a table: the history mapping, the column overrides and the missing tokens.
func loadColumns(mf *mappingFlags, tf *tableFlags) (features.Mapping, map[string]table.Override, []string, error) {
	m, cfg, err := mf.Load()
	if err != nil {
		return m, nil, nil, err
	}
	ov, missing, err := tf.overrides(cfg)
	return m, ov, missing, err
}
