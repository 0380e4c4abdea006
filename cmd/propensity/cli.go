package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/propensity-dev/propensity/internal/cliflags"
)

// Exit statuses (docs/contract.md §4).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// cliEnv carries the process's outputs to a command; commands never touch os.Stdout directly.
type cliEnv struct {
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

func newEnv(stdout, stderr io.Writer) *cliEnv {
	return &cliEnv{
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
}

// isTerminal reports whether stderr is a terminal, so long jobs know to draw progress.
func (e *cliEnv) isTerminal() bool {
	f, ok := e.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// usageError marks a problem with the command line or its input: exit status 2.
type usageError = cliflags.UsageError

// usagef returns a usageError with a formatted message.
func usagef(format string, a ...any) error { return cliflags.Usagef(format, a...) }

// badInput wraps err (typically from a library reading user files) as bad input: exit 2.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{Err: err}
}

func exitCode(env *cliEnv, name string, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(env.stderr, "propensity %s: %s\n", name, msg)
	// The rule (docs/operations.md, "Exit codes"): 2 for anything wrong with what the user
	// gave (flags, files, data, configs, artifacts), 1 for a failure while running. An
	// interrupted run is a failure whatever the library wrapped the cancellation in.
	var u *usageError
	if errors.As(err, &u) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return exitUsage
	}
	return exitFailure
}

// newFlagSet returns a flag set whose errors are returned (not printed-and-exited), with a
// usage line and the command's summary in its help text.
func newFlagSet(env *cliEnv, name, usage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	errOut := &flagErrors{w: env.stderr}
	fs.SetOutput(errOut)
	fs.Usage = func() {
		// --help asked for the help: it is output (stdout). After a flag error the flag
		// package has already written the error: the usage goes with it, to stderr.
		w := env.stdout
		if errOut.wrote {
			w = env.stderr
		}
		fmt.Fprintf(w, "Usage: propensity %s %s\n\n%s\n\nFlags:\n", name, usage, summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(errOut)
	}
	return fs
}

// flagErrors is a flag set's output: it records whether the flag package wrote an error.
type flagErrors struct {
	w     io.Writer
	wrote bool
}

func (f *flagErrors) Write(p []byte) (int, error) {
	f.wrote = true
	return f.w.Write(p)
}

// parseFlags parses args into fs, turning flag errors into usage errors. Positional
// arguments are refused unless allowPositional is set.
func parseFlags(fs *flag.FlagSet, args []string, allowPositional bool) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{Err: err}
	}
	if !allowPositional && fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// requireFlags reports every required flag that was left empty, at once.
func requireFlags(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) > 0 {
		return usagef("missing required flag(s): %s", strings.Join(missing, ", "))
	}
	return nil
}

// parseDate parses DATE as YYYY-MM-DD (midnight UTC) or RFC 3339: cliflags.ParseDate.
func parseDate(flagName, s string) (time.Time, error) { return cliflags.ParseDate(flagName, s) }

// parseDuration reads a flag's duration (d, w or h suffix): cliflags.ParseDuration.
func parseDuration(flagName, s string) (time.Duration, error) {
	return cliflags.ParseDuration(flagName, s)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printJSON writes v as exactly one JSON object on stdout.
func (e *cliEnv) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
