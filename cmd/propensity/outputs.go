package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/clobber"
)

// outputKind says whether a command writes a file or a directory (created if missing).
type outputKind int

const (
	fileOutput outputKind = iota
	dirOutput
)

// checkOutput is called by every command that writes, before it reads anything, so that a
// mistaken output path is bad usage (exit 2) at once rather than a failure after the work:
//   - the output (file or directory) must not be one of the inputs, lie inside a path the
//     command reads, or contain one (the message names both paths);
//   - a file output needs an existing directory to go in, and must not be a directory; a
//     directory output must not be a file, nor lie under one.
//
// An empty path checks nothing.
func checkOutput(kind outputKind, flag, path string, inputs ...clobber.Path) error {
	if path == "" {
		return nil
	}
	if err := clobber.Check([]clobber.Path{{Flag: flag, Path: path}}, inputs); err != nil {
		return badInput(err)
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && kind == fileOutput && st.IsDir():
		return usagef("%s %s is a directory; want a file path", flag, path)
	case err == nil && kind == dirOutput && !st.IsDir():
		return usagef("%s %s is a file; want a directory", flag, path)
	case err == nil:
		return nil
	}
	parent := filepath.Dir(path)
	if kind == dirOutput {
		// The directory is created with its missing parents: the nearest existing one must
		// be a directory.
		for {
			if _, err := os.Stat(parent); err == nil || filepath.Dir(parent) == parent {
				break
			}
			parent = filepath.Dir(parent)
		}
	}
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		reason := "is not a directory"
		if err != nil {
			reason = fmt.Sprint(err)
		}
		return usagef("%s %s: cannot be created: %s %s", flag, path, parent, reason)
	}
	return nil
}

// inputPath names an input read as a whole: a file, or a directory and everything under it.
func inputPath(flag, path string) clobber.Path { return clobber.Path{Flag: flag, Path: path} }

// historyInput names a history directory, of which only the files of the mapping (or their
// part directories) are read: an output elsewhere in it is not read back.
func historyInput(flag, dir string, m features.Mapping) clobber.Path {
	m = m.WithDefaults()
	return clobber.Path{Flag: flag, Path: dir,
		Reads: []string{m.Contacts.File, m.Events.File, m.Transactions.File, m.Identities.File}}
}

// outConvention is the --out rule of the jobs that write models (train, ltv, personas), said
// in each one's help: one models directory, one subdirectory per kind, which is what
// `serve --models` and `score --models` read (docs/cli.md, "One models directory").
const outConvention = `--out names the models directory shared by train, ltv and personas: each job writes
its artifact and reports into OUT/<kind>/ (conversion, churn, ltv, personas) and leaves the
rest of OUT alone, so serve --models OUT loads them all.`

// kindDir is the subdirectory of the models directory out where a job of that kind writes;
// empty when out is.
func kindDir(out, kind string) string {
	if out == "" {
		return ""
	}
	return filepath.Join(out, kind)
}
