//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package atomicfile

import (
	"os"
	"syscall"
)

// renameWhileOpen: on Unix an open file can be renamed, so the lock is kept until then.
const renameWhileOpen = true

// lockedTemps: leftovers are told from live writes by their lock, whatever their age.
const lockedTemps = true

// createLocked creates a new temporary file in dir and takes an exclusive lock on it. A
// cleaner may, in the instant between the two, take the unlocked new file for a leftover
// and remove it; the name is then checked to still be our file, and a fresh one is made
// if not.
func createLocked(dir, prefix string) (*os.File, error) {
	for {
		f, err := os.CreateTemp(dir, prefix+"*")
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			// A file system without locks: write unlocked; cleaners cannot lock it either,
			// so they leave it alone.
			return f, nil
		}
		if ours(f) {
			return f, nil
		}
		f.Close()
	}
}

// ours reports whether f's name still refers to f.
func ours(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	ni, err := os.Lstat(f.Name())
	return err == nil && os.SameFile(fi, ni)
}

// removeIfStale removes the temporary file at path when no live writer holds its lock. It is
// opened for writing because some file systems (NFS) only grant an exclusive lock then.
func removeIfStale(path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	// A lock refused means a live writer. A lock granted means nobody writes it; remove it
	// only if the name is still this file (not one a writer made after another cleaner
	// removed this one).
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && ours(f) {
		os.Remove(path)
	}
}
