package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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
	defer holdHeap(eng.Memory)()
	began := time.Now()
	schema, rep, err := eng.WriteFeatures(ctx, *data, opts, *out)
	if err != nil {
		return featuresError(err)
	}
	secs := time.Since(began).Seconds()
	env.log.Info("features", "people", rep.People, "contacts", rep.Contacts, "events", rep.Events,
		"transactions", rep.Transactions, "unattributed", rep.Unattributed, "bad_rows", rep.BadRows,
		"columns", len(schema.Columns), "partitions", rep.Partitions, "spill_mb", rep.SpillBytes>>20,
		"stitched_mb", rep.StitchedBytes>>20, "out", *out, "seconds", fmt.Sprintf("%.2f", secs))
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

// holdHeap asks the collector to keep the process's memory within a job's budget (0: the
// default budget), as a soft limit (runtime/debug.SetMemoryLimit): the partitions fill part
// of what stitching leaves of the budget, and without the limit the heap would grow to twice
// what is live before a collection. The limit is nine tenths of the budget: the collector
// marks while the job goes on allocating, and at ten million contacts the heap overshot a
// limit of the whole budget by 3% (docs/operations.md). It never raises a lower limit set by
// GOMEMLIMIT, nor sets one under 64 MiB, where collections would take most of the time. The
// returned function restores the previous limit.
func holdHeap(budget int64) func() {
	if budget <= 0 {
		budget = history.DefaultMemory()
	}
	budget = heapLimit(budget)
	prev := debug.SetMemoryLimit(-1)
	if budget >= prev {
		return func() {}
	}
	debug.SetMemoryLimit(budget)
	return func() { debug.SetMemoryLimit(prev) }
}

// heapLimit is the soft memory limit of a job with this budget.
func heapLimit(budget int64) int64 {
	return max(budget-budget/10, 64<<20)
}
