package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/store"
)

// runIngest bulk-loads a history directory into a live store (docs/contract.md §4).
func runIngest(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "ingest", "--data DIR --store STOREDIR [--config history.yaml] [--json]",
		"Bulk-load a history directory into a live store (created when absent): how a deployment\n"+
			"starts from its warehouse export. Rows already stored are skipped; the store is synced once, at the end.\n"+
			"Stop propensity serve first: a store is open in one process at a time.")
	dir := fs.String("data", "", "history directory (contacts, events, transactions, identities Parquet)")
	storeDir := fs.String("store", "", "live store directory")
	mf := addMappingFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := requireFlags("data", *dir, "store", *storeDir); err != nil {
		return err
	}
	if _, err := os.Stat(*dir); err != nil {
		return usagef("--data: %v", err)
	}
	m, _, err := mf.Load()
	if err != nil {
		return err
	}
	st, err := store.Open(*storeDir, store.Options{NoSync: true, Logger: env.log})
	if err != nil {
		if errors.Is(err, store.ErrFormat) {
			return badInput(err)
		}
		return fmt.Errorf("--store: %w", err)
	}
	defer st.Close()
	start := time.Now()
	// On a terminal, the rows read from each history file show as progress bars (the
	// context's reporter, internal/progress); the summary is logged at the end.
	stats, err := live.Import(ctx, st, *dir, m, nil)
	if err != nil {
		for _, bad := range []error{history.ErrEmptyDir, history.ErrMissingColumn, history.ErrColumnType,
			history.ErrUnreadable, features.ErrBadMapping} {
			if errors.Is(err, bad) {
				return badInput(err)
			}
		}
		return err
	}
	elapsed := time.Since(start)
	env.log.Info("ingested history", "contacts", stats.Contacts, "events", stats.Events,
		"transactions", stats.Transactions, "identities", stats.Identities, "duplicates", stats.Duplicates,
		"refused", stats.Refused, "bad_rows", stats.Report.BadRows, "store_bytes", st.DiskBytes(),
		"elapsed", elapsed.Round(time.Millisecond))
	if *asJSON {
		return env.printJSON(map[string]any{"store": *storeDir, "contacts": stats.Contacts, "events": stats.Events,
			"transactions": stats.Transactions, "identities": stats.Identities, "duplicates": stats.Duplicates,
			"refused": stats.Refused, "bad_rows": stats.Report.BadRows, "seconds": elapsed.Seconds()})
	}
	return nil
}

// runExport writes a live store back as a history directory (docs/contract.md §4).
func runExport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "export", "--store STOREDIR --out DIR [--json]",
		"Write a live store as a history directory (contacts, events, transactions, identities Parquet),\n"+
			"so that features, training and scoring run on live data. Stop propensity serve first.")
	storeDir := fs.String("store", "", "live store directory")
	out := fs.String("out", "", "output history directory (files written atomically)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := requireFlags("store", *storeDir, "out", *out); err != nil {
		return err
	}
	if _, err := os.Stat(*storeDir); err != nil {
		return usagef("--store: %v", err)
	}
	st, err := store.Open(*storeDir, store.Options{Logger: env.log})
	if err != nil {
		if errors.Is(err, store.ErrFormat) {
			return badInput(err)
		}
		return fmt.Errorf("--store: %w", err)
	}
	defer st.Close()
	start := time.Now()
	s, err := live.Export(ctx, st, *out)
	if err != nil {
		return err
	}
	env.log.Info("exported store", "out", *out, "contacts", s.Contacts, "events", s.Events,
		"transactions", s.Transactions, "identities", s.Identities, "elapsed", time.Since(start).Round(time.Millisecond))
	if *asJSON {
		return env.printJSON(map[string]any{"out": *out, "contacts": s.Contacts, "events": s.Events,
			"transactions": s.Transactions, "identities": s.Identities, "seconds": time.Since(start).Seconds()})
	}
	return nil
}
