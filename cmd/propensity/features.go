package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/cliflags"
)

// runFeatures builds the point-in-time feature table of a history directory (docs/contract.md §4, §6).
func runFeatures(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "features", "--data DIR --as-of DATE [--horizon 90d] --out FILE.parquet [--config history.yaml] [--json]",
		"Stitch identities and compute one row of point-in-time features (and labels with --horizon) per person.")
	ff := cliflags.AddFeatures(fs)
	out := fs.String("out", "", "output Parquet file (written atomically)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	workers := workersFlag(fs)
	memory, tmp := memoryFlags(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	data := ff.Data
	if err := requireFlags("data", *data, "as-of", *ff.AsOf, "out", *out); err != nil {
		return err
	}
	var eng history.Engine
	var err error
	if eng.Workers, err = parseWorkers(*workers); err != nil {
		return err
	}
	if eng.Memory, err = parseMemory(*memory); err != nil {
		return err
	}
	eng.TmpDir = *tmp
	opts, err := ff.Options()
	if err != nil {
		return err
	}
	if err := checkOutput(fileOutput, "--out", *out, historyInput("--data", *data, opts.Mapping), inputPath("--config", *ff.Mapping.Config)); err != nil {
		return err
	}
	began := time.Now()
	schema, rep, err := eng.WriteFeatures(ctx, *data, opts, *out)
	if err != nil {
		return featuresError(err)
	}
	secs := time.Since(began).Seconds()
	env.log.Info("features", "people", rep.People, "contacts", rep.Contacts, "events", rep.Events,
		"transactions", rep.Transactions, "unattributed", rep.Unattributed, "bad_rows", rep.BadRows,
		"columns", len(schema.Columns), "out", *out, "seconds", fmt.Sprintf("%.2f", secs))
	rep.Warn(env.log, opts.AsOf)
	if *asJSON {
		return env.printJSON(map[string]any{
			"out": *out, "people": rep.People, "events": rep.Events, "transactions": rep.Transactions,
			"bad_rows": rep.BadRows, "columns": len(schema.Columns), "schema_version": features.SchemaVersion,
			"seconds": secs, "report": rep,
		})
	}
	return nil
}

// featuresError marks problems with the history (types, columns, files) as bad input: exit 2.
func featuresError(err error) error {
	for _, e := range []error{history.ErrMissingColumn, history.ErrColumnType, history.ErrUnreadable,
		history.ErrEmptyDir, features.ErrBadOptions, features.ErrBadMapping} {
		if errors.Is(err, e) {
			return badInput(err)
		}
	}
	return err
}
