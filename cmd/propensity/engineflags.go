package main

import (
	"flag"
	"strconv"
)

// workersFlag adds --workers to a batch command: the goroutines decoding, folding and
// writing (docs/operations.md). The output does not depend on it.
func workersFlag(fs *flag.FlagSet) *string {
	return fs.String("workers", "0", "goroutines to use (0: one per core, GOMAXPROCS); the output does not depend on it")
}

// parseWorkers checks a --workers value: a whole number, 0 meaning one per core.
func parseWorkers(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, usagef("--workers: %q is not a whole number (0 means one per core)", s)
	}
	return n, nil
}
