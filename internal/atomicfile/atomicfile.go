// Package atomicfile writes files so that readers see either the old content or the whole new
// content, never a half-written file: write to a temporary file in the same directory, sync,
// then rename over the destination.
//
// The temporary file is named ".NAME.tmp-DIGITS". A process killed while writing (SIGKILL,
// power loss) leaves it behind; the next write of the same NAME removes such leftovers. A
// writer holds an exclusive lock (flock) on its temporary file until it is renamed into
// place, and the kernel drops that lock when the process dies, so a leftover is told from a
// write in progress by whether its lock can be taken. Where flock is not available (not a
// Unix system), a leftover is removed once it is a day old.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is how old a leftover must be before it is removed where locks are not available.
const staleAge = 24 * time.Hour

// syncAhead is how much of a file may be written and not yet synced before a sync is started
// beside the writing, so that the disk works while the file is still being made: the sync
// at the end of a 2.5 GB feature file was about 1.4 s (sync(1) after copying it) with nothing
// else to do. At 256 MiB, the 248 MB feature table of a million contacts was never synced
// ahead, and its one sync at the end took 0.47 s (strace); at 32 MiB the last one took
// 0.03 s, and each sync ahead 0.05-0.14 s on its own goroutine.
const syncAhead = 32 << 20

// aheadWriter writes to f, starting a sync on a goroutine of its own each time every
// bytes have been written since the last one started (when none is still running).
type aheadWriter struct {
	f       *os.File
	every   int64 // syncAhead, but in tests
	pending int64
	syncing chan struct{} // closed when the running sync is done; nil before the first
	err     error         // the first sync's error, set before syncing is closed
}

func (a *aheadWriter) Write(p []byte) (int, error) {
	n, err := a.f.Write(p)
	a.pending += int64(n)
	if a.pending >= a.every && a.idle() {
		a.pending = 0
		done := make(chan struct{})
		a.syncing = done
		go func() {
			// A failed sync is kept and reported, never dropped: the kernel may report a
			// lost write to one sync only.
			if err := a.f.Sync(); err != nil && a.err == nil {
				a.err = err
			}
			close(done)
		}()
	}
	return n, err
}

// idle reports whether no sync is running.
func (a *aheadWriter) idle() bool {
	if a.syncing == nil {
		return true
	}
	select {
	case <-a.syncing:
		return true
	default:
		return false
	}
}

// wait waits for the running sync and returns the first error of any.
func (a *aheadWriter) wait() error {
	if a.syncing != nil {
		<-a.syncing
	}
	return a.err
}

// Write creates path by calling fill with a writer on a temporary file in the same directory
// and renaming it into place when fill succeeds. On any error the temporary file is removed
// and path is left untouched. Leftover temporary files of path from writers that died are
// removed first.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	removeStale(dir, filepath.Base(path))
	tmp, err := createLocked(dir, tempPrefix(filepath.Base(path)))
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	aw := &aheadWriter{f: tmp, every: syncAhead}
	err = fill(aw)
	if serr := aw.wait(); err == nil && serr != nil {
		return fmt.Errorf("syncing %s: %w", path, serr)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("setting mode of %s: %w", path, err)
	}
	if renameWhileOpen {
		// Renamed while still open, so the lock is held until the file is in place: a
		// concurrent writer of the same path never takes the finished file for a leftover.
		if err = os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("renaming into %s: %w", path, err)
		}
		closed = true
		if err = tmp.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", path, err)
		}
		return nil
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming into %s: %w", path, err)
	}
	return nil
}

// WriteBytes writes data to path atomically.
func WriteBytes(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// tempPrefix is the name of base's temporary files up to the random digits os.CreateTemp adds.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// isTemp reports whether name is one of base's temporary files: the prefix and then only
// digits, as os.CreateTemp writes them, so nobody else's file is ever matched.
func isTemp(name, base string) bool {
	digits, ok := strings.CutPrefix(name, tempPrefix(base))
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeStale removes the leftover temporary files of base in dir. It is best effort: a
// leftover that cannot be examined or removed is left for a later write, and never fails
// this one.
func removeStale(dir, base string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !isTemp(e.Name(), base) {
			continue
		}
		removeIfStale(filepath.Join(dir, e.Name()))
	}
}
