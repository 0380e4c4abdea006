package table

import (
	"errors"
	"fmt"
	"strings"
)

// Errors wrapped by *Error.
var (
	ErrEmpty       = errors.New("no data")
	ErrHeader      = errors.New("bad header")
	ErrMalformed   = errors.New("malformed file")
	ErrUnsupported = errors.New("unsupported column type")
	ErrColumn      = errors.New("no such column")
	ErrAmbiguous   = errors.New("ambiguous values")
	ErrType        = errors.New("wrong type")
)

// Error reports a problem with a table file: the file, the 1-based line of a text file (0
// when not known or not a text file), the column when known, and what was expected there.
type Error struct {
	File     string
	Line     int
	Column   string
	Expected string
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.Expected != "" {
		fmt.Fprintf(&b, " (expected %s)", e.Expected)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
