// Package clobber refuses an output path that would overwrite a command's input, or be
// read back as one: the output file or directory must not be an input, lie inside a path the
// command reads, or contain one.
package clobber

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrOverlap is wrapped by every *Error.
var ErrOverlap = errors.New("output overlaps an input")

// Path is a file or directory a command reads or writes, with the flag that named it.
type Path struct {
	// Flag names the path to the user, as "--out" or "--data".
	Flag string
	// Path is the path as the user gave it.
	Path string
	// Reads lists, for an input directory that is read only in part (a history directory:
	// its contacts, events, transactions and identities files or part directories), what is
	// read in it, relative to Path. Empty means the whole tree under Path is read.
	Reads []string
}

// Error is an output that overlaps an input.
type Error struct {
	Output Path
	Input  Path
	// Read is the input path the output overlaps: Input.Path, or one of its Reads joined to it.
	Read string
	// Relation is "is", "lies inside" or "contains": Output.Path Relation Read.
	Relation string
}

func (e *Error) Error() string {
	in := fmt.Sprintf("the input %s %s", e.Input.Flag, e.Input.Path)
	if e.Read != e.Input.Path {
		in = fmt.Sprintf("the input %s (read from %s %s)", e.Read, e.Input.Flag, e.Input.Path)
	}
	return fmt.Sprintf("%s %s %s %s: an output must not overwrite an input or be read back as one; write it elsewhere",
		e.Output.Flag, e.Output.Path, e.Relation, in)
}

func (e *Error) Unwrap() error { return ErrOverlap }

// Check reports every output that is one of the inputs' read paths, lies inside one, or
// contains one, as an *Error (joined with errors.Join when there are several). Paths are
// compared after making them absolute and resolving symbolic links, and existing paths
// also by identity (os.SameFile), so another spelling of the same file is caught too.
// Empty paths are ignored.
func Check(outputs, inputs []Path) error {
	var errs []error
	for _, out := range outputs {
		if out.Path == "" {
			continue
		}
		o := resolve(out.Path)
		for _, in := range inputs {
			if in.Path == "" {
				continue
			}
			reads := []string{in.Path}
			if len(in.Reads) > 0 {
				reads = reads[:0]
				for _, r := range in.Reads {
					reads = append(reads, filepath.Join(in.Path, r))
				}
			}
			for _, r := range reads {
				if rel := relation(o, resolve(r)); rel != "" {
					errs = append(errs, &Error{Output: out, Input: in, Read: r, Relation: rel})
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

// relation says how the resolved paths o and r overlap: "is", "lies inside", "contains", or
// "" when they do not.
func relation(o, r string) string {
	switch {
	case o == r || sameFile(o, r):
		return "is"
	case within(o, r) || ancestorIs(o, r):
		return "lies inside"
	case within(r, o) || ancestorIs(r, o):
		return "contains"
	}
	return ""
}

// within reports whether path a lies strictly under directory b (both clean and absolute).
func within(a, b string) bool {
	rel, err := filepath.Rel(b, a)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// ancestorIs reports whether a strict ancestor of a is the same existing directory as b:
// the lexical test misses this when a case-insensitive file system or a bind mount gives
// one directory two names.
func ancestorIs(a, b string) bool {
	bi, err := os.Stat(b)
	if err != nil || !bi.IsDir() {
		return false
	}
	for d := filepath.Dir(a); ; d = filepath.Dir(d) {
		if di, err := os.Stat(d); err == nil && os.SameFile(di, bi) {
			return true
		}
		if parent := filepath.Dir(d); parent == d {
			return false
		}
	}
}

func sameFile(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	return err == nil && os.SameFile(ai, bi)
}

// resolve makes p absolute and resolves the symbolic links of its longest existing prefix;
// the part that does not exist yet is appended as written.
func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	var rest []string
	for cur := abs; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
		cur = parent
	}
}
