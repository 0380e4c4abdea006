package main

import (
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/clobber"
)

// refuseClobber is called by every command that writes, before it reads anything: an output
// (file or directory) that is one of the inputs, lies inside a path the command reads, or
// contains one, is bad usage (exit 2), naming both paths. An empty outPath checks nothing.
func refuseClobber(outFlag, outPath string, inputs ...clobber.Path) error {
	if err := clobber.Check([]clobber.Path{{Flag: outFlag, Path: outPath}}, inputs); err != nil {
		return badInput(err)
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
