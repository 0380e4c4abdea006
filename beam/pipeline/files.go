package pipeline

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	// The file systems a history or an output may be on: gs://, s3://, memfs:// (tests).
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

// Local paths are read and written with the operating system, in place (Parquet wants
// random access, and a row group is one split). A path with a scheme (gs://, s3://,
// memfs://) goes through Beam's file systems, which stream whole objects: such a history is
// split by part file instead of row group, and the worker that reads a part file copies it
// into a local temporary file first. Outputs are written to a local temporary file and
// copied to the object store when complete (an object appears only when it is closed).

// Remote reports whether path names a file on one of Beam's file systems rather than a
// local path: it has a scheme (gs://bucket/dir, s3://bucket/dir, memfs://dir).
func Remote(path string) bool { return strings.Contains(path, "://") }

// join joins a remote directory and a name with slashes.
func join(dir, name string) string {
	if Remote(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	return filepath.Join(dir, name)
}

// remoteSplits lists the part files of history file k under the remote directory dir: the
// file itself, or the *.parquet objects under it, in name order. Each part file is one
// split (RowGroup -1: all of them).
func remoteSplits(ctx context.Context, dir string, opts features.Options, k history.Kind) ([]history.Split, error) {
	fs, err := filesystem.New(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", history.ErrUnreadable, err)
	}
	defer fs.Close()
	name := join(dir, history.HistoryFile(opts.Mapping, k))
	parts := []string{name}
	if _, err := fs.Size(ctx, name); err != nil {
		if parts, err = fs.List(ctx, name+"/*.parquet"); err != nil {
			return nil, &history.FileError{File: name, Err: fmt.Errorf("%w: %v", history.ErrUnreadable, err)}
		}
	}
	if len(parts) == 0 {
		if k == history.Contacts {
			return nil, &history.FileError{File: name, Err: fmt.Errorf("%w: required history file is missing", history.ErrEmptyDir)}
		}
		return nil, nil
	}
	out := make([]history.Split, len(parts))
	for i, p := range parts {
		out[i] = history.Split{Kind: k, File: p, Part: i, RowGroup: -1}
	}
	return out, nil
}

// fetch copies the remote file src into dir under the name name.
func fetch(ctx context.Context, src, dir, name string) (string, error) {
	fs, err := filesystem.New(ctx, src)
	if err != nil {
		return "", err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, src)
	if err != nil {
		return "", &history.FileError{File: src, Err: fmt.Errorf("%w: %v", history.ErrUnreadable, err)}
	}
	defer r.Close()
	dst := filepath.Join(dir, name)
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return "", &history.FileError{File: src, Err: fmt.Errorf("%w: %v", history.ErrUnreadable, err)}
	}
	return dst, f.Close()
}

// readSplit reads split s as history.ReadSplit does; a remote part file is copied to a
// local temporary file and all its row groups are read, in order.
func readSplit(ctx context.Context, s history.Split, opts features.Options, attrs []features.Attribute, v history.SplitVisitor) error {
	if s.RowGroup >= 0 {
		_, err := history.ReadSplit(ctx, s, opts, attrs, v)
		return err
	}
	tmp, err := os.MkdirTemp("", "propensity-beam-split-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The local copy takes the history file's name, so that history.Splits finds it.
	if _, err := fetch(ctx, s.File, tmp, history.HistoryFile(opts.Mapping, s.Kind)); err != nil {
		return err
	}
	local, err := history.Splits(tmp, opts, s.Kind)
	if err != nil {
		return fmt.Errorf("%s: %w", s.File, err)
	}
	for _, ls := range local {
		ls.Part = s.Part
		if _, err := history.ReadSplit(ctx, ls, opts, attrs, v); err != nil {
			return fmt.Errorf("%s (row group %d): %w", s.File, ls.RowGroup, err)
		}
	}
	return nil
}

// contactAttributes is history.ContactAttributes for a local or remote directory.
func contactAttributes(ctx context.Context, dir string, opts features.Options, first string) ([]features.Attribute, error) {
	if !Remote(dir) {
		attrs, _, err := history.ContactAttributes(dir, opts)
		return attrs, err
	}
	tmp, err := os.MkdirTemp("", "propensity-beam-contacts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if _, err := fetch(ctx, first, tmp, history.HistoryFile(opts.Mapping, history.Contacts)); err != nil {
		return nil, err
	}
	attrs, _, err := history.ContactAttributes(tmp, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", first, err)
	}
	return attrs, nil
}

// writeShard writes the file name under dir with write, which writes a local path: in
// place for a local dir (write is atomic there), else to a local temporary file copied to
// the file system when complete.
func writeShard(ctx context.Context, dir, name string, write func(path string) error) error {
	if !Remote(dir) {
		return write(filepath.Join(dir, name))
	}
	tmp, err := os.MkdirTemp("", "propensity-beam-out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	local := filepath.Join(tmp, name)
	if err := write(local); err != nil {
		return err
	}
	return upload(ctx, local, join(dir, name))
}

func upload(ctx context.Context, local, dst string) error {
	fs, err := filesystem.New(ctx, dst)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := os.Open(local)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := fs.OpenWrite(ctx, dst)
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

// ErrOutputExists is returned by PrepareOutput when the output already holds files.
var ErrOutputExists = errors.New("the output directory exists: give a new one")

// PrepareOutput returns where a job writing the directory out puts its shards while it
// runs, and a function that publishes them at out once the job has succeeded (commit) and
// one that removes them (abort). Locally the job writes a temporary sibling directory that
// is renamed to out; on an object store, a ".tmp-" prefix under out whose objects are
// renamed (or copied and removed) into place.
func PrepareOutput(ctx context.Context, out string) (tmp string, commit, abort func() error, err error) {
	if !Remote(out) {
		if _, err := os.Stat(out); err == nil {
			return "", nil, nil, fmt.Errorf("--out %s: %w", out, ErrOutputExists)
		}
		parent := filepath.Dir(filepath.Clean(out))
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return "", nil, nil, err
		}
		tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
		if err != nil {
			return "", nil, nil, err
		}
		return tmp, func() error { return os.Rename(tmp, out) }, func() error { return os.RemoveAll(tmp) }, nil
	}
	fs, err := filesystem.New(ctx, out)
	if err != nil {
		return "", nil, nil, err
	}
	out = strings.TrimSuffix(out, "/")
	if have, err := fs.List(ctx, out+"/*"); err != nil {
		fs.Close()
		return "", nil, nil, fmt.Errorf("--out %s: %w", out, err)
	} else if len(have) > 0 {
		fs.Close()
		return "", nil, nil, fmt.Errorf("--out %s: %w", out, ErrOutputExists)
	}
	b := make([]byte, 6)
	rand.Read(b)
	tmp = fmt.Sprintf("%s/.tmp-%x", out, b)
	list := func() ([]string, error) { return fs.List(ctx, tmp+"/*") }
	commit = func() error {
		files, err := list()
		if err != nil {
			return err
		}
		for _, f := range files {
			dst := out + "/" + path.Base(f)
			switch x := fs.(type) {
			case filesystem.Renamer:
				err = x.Rename(ctx, f, dst)
			case filesystem.Copier:
				if err = x.Copy(ctx, f, dst); err == nil {
					if rm, ok := fs.(filesystem.Remover); ok {
						err = rm.Remove(ctx, f)
					}
				}
			default:
				err = fmt.Errorf("the file system of %s can neither rename nor copy", out)
			}
			if err != nil {
				return fmt.Errorf("publishing %s: %w", dst, err)
			}
		}
		return nil
	}
	abort = func() error {
		rm, ok := fs.(filesystem.Remover)
		if !ok {
			return nil
		}
		files, err := list()
		for _, f := range files {
			err = errors.Join(err, rm.Remove(ctx, f))
		}
		return err
	}
	return tmp, commit, abort, nil
}
