//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package atomicfile

import (
	"os"
	"time"
)

// renameWhileOpen: on Windows an open file cannot be renamed.
const renameWhileOpen = false

// lockedTemps: without flock, only a leftover's age (staleAge) shows its writer is gone.
const lockedTemps = false

func createLocked(dir, prefix string) (*os.File, error) {
	return os.CreateTemp(dir, prefix+"*")
}

// removeIfStale removes the temporary file at path once it has not been written for a day:
// without locks, age is the only sign that its writer is gone.
func removeIfStale(path string) {
	if fi, err := os.Lstat(path); err == nil && time.Since(fi.ModTime()) > staleAge {
		os.Remove(path)
	}
}
