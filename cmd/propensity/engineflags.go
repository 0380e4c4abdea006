package main

import (
	"flag"
	"strconv"
	"strings"
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

// memoryFlags adds --memory and --tmp to a batch command that can spill to disk.
func memoryFlags(fs *flag.FlagSet) (memory, tmp *string) {
	memory = fs.String("memory", "", "memory budget, e.g. 4GB or 512MB (default: a quarter of the machine's RAM); beyond it people are processed in partitions spilled to --tmp")
	tmp = fs.String("tmp", "", "directory for spill files, removed when the job ends (default: the system temporary directory)")
	return memory, tmp
}

// parseMemory reads a --memory size: a number of bytes with an optional unit (KB, MB, GB,
// TB in powers of 1024, also KiB...); empty means the default (0).
func parseMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	for i, u := range []string{"K", "M", "G", "T"} {
		if strings.HasSuffix(t, u) {
			mult = 1 << (10 * (i + 1))
			t = strings.TrimSuffix(t, u)
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || n <= 0 || n*float64(mult) >= 1<<62 {
		return 0, usagef("--memory: %q is not a size such as 4GB or 512MB", s)
	}
	return int64(n * float64(mult)), nil
}
