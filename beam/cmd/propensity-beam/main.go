// Command propensity-beam runs propensity's `features` and `score --data` jobs as Apache Beam
// pipelines: locally on Prism (the default runner), or on Dataflow, Flink or Spark. The
// flags and the history layout are those of the embedded commands; Beam's own flags
// (--runner, --endpoint, --project, ...) are accepted beside them. See docs/scale-out.md.
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

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/propensity-dev/propensity/beam/pipeline"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/cliflags"
)

// Exit codes, as the embedded command's.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usagef is bad usage or bad input: exit code 2, as the embedded command's.
func usagef(format string, a ...any) error { return cliflags.Usagef(format, a...) }

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-") {
		// Started by a runner as a worker (--worker ...): Beam's init takes over.
		flag.Parse()
		beam.Init()
		fmt.Fprintln(os.Stderr, "propensity-beam: want a command: features or score")
		os.Exit(exitUsage)
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: propensity-beam COMMAND [flags] [Beam flags]

commands:
  features  stitch identities and compute the feature table (as propensity features)
  score     score every person of a history (as propensity score --data)

Beam flags choose the runner: --runner prism (default, in-process), dataflow, flink, spark,
universal; see docs/scale-out.md.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var err error
	switch args[0] {
	case "features":
		err = runFeatures(ctx, log, args[1:], stdout)
	case "score":
		err = runScore(ctx, log, args[1:], stdout)
	default:
		err = usagef("unknown command %q (want features or score)", args[0])
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	fmt.Fprintf(stderr, "propensity-beam %s: %v\n", args[0], err)
	var ue *cliflags.UsageError
	if errors.As(err, &ue) || badInput(err) {
		return exitUsage
	}
	return exitFailure
}

// badInput reports whether err is a problem with the history or the other inputs.
func badInput(err error) bool {
	for _, e := range []error{history.ErrMissingColumn, history.ErrColumnType, history.ErrUnreadable,
		history.ErrEmptyDir, features.ErrBadOptions, features.ErrBadMapping, pipeline.ErrBadInput} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// jobFlags are the flags of both commands that are not the embedded command's.
type jobFlags struct {
	rounds, shards *int
}

// newFlagSet returns a flag set with Beam's flags (--runner, ...) in it.
func newFlagSet(name string, stdout io.Writer) (*flag.FlagSet, jobFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	flag.CommandLine.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	return fs, jobFlags{
		rounds: fs.Int("stitch-rounds", 12, "large-star / small-star rounds of the identity stitching (the job fails, asking for more, if they do not settle)"),
		shards: fs.Int("shards", 4, "number of output part files"),
	}
}

func runFeatures(ctx context.Context, log *slog.Logger, args []string, stdout io.Writer) error {
	fs, jf := newFlagSet("features", stdout)
	ff := cliflags.AddFeatures(fs)
	out := fs.String("out", "", "output directory of Parquet part files (written when the job succeeds)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	data := ff.Data
	if *data == "" || *ff.AsOf == "" || *out == "" {
		return usagef("--data, --as-of and --out are required")
	}
	opts, err := ff.Options()
	if err != nil {
		return err
	}
	cfg := pipeline.Config{Dir: *data, Opts: opts, StitchRounds: *jf.rounds, Shards: *jf.shards}
	return runJob(ctx, log, "features", *out, &cfg, *asJSON, stdout, func() (*beam.Pipeline, error) { return pipeline.Features(cfg) })
}

func runScore(ctx context.Context, log *slog.Logger, args []string, stdout io.Writer) error {
	fs, jf := newFlagSet("score", stdout)
	card := fs.String("scorecard", "", "scorecard YAML file or folder (default: the embedded one)")
	dir := fs.String("data", "", "history directory (docs/contract.md §1) to score everyone in")
	asOf := fs.String("as-of", "", "score as of DATE")
	out := fs.String("out", "", "output directory of Parquet part files, one row per person")
	models := fs.String("models", "", "models directory (conversion/, churn/, ltv/, personas/, each optional)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *asOf == "" || *out == "" {
		return usagef("--data, --as-of and --out are required (propensity-beam scores whole histories; for one profile use propensity score --profile)")
	}
	t, err := cliflags.ParseDate("as-of", *asOf)
	if err != nil {
		return err
	}
	cfg := pipeline.ScoreConfig{Config: pipeline.Config{Dir: *dir, Opts: features.Options{AsOf: t}, StitchRounds: *jf.rounds, Shards: *jf.shards},
		Scorecard: *card, Models: *models}
	return runJob(ctx, log, "score", *out, &cfg.Config, *asJSON, stdout, func() (*beam.Pipeline, error) { return pipeline.Score(ctx, cfg) })
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &cliflags.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// runJob builds and runs a job writing into a temporary place published at out when the
// job succeeds (pipeline.PrepareOutput): a failed job leaves nothing at out. out may be a
// local path or on one of Beam's file systems (gs://, s3://).
func runJob(ctx context.Context, log *slog.Logger, name, out string, cfg *pipeline.Config, asJSON bool, stdout io.Writer, build func() (*beam.Pipeline, error)) error {
	tmp, commit, abort, err := pipeline.PrepareOutput(ctx, out)
	if errors.Is(err, pipeline.ErrOutputExists) {
		return &cliflags.UsageError{Err: err}
	}
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			abort()
		}
	}()
	cfg.Out = tmp
	p, err := build()
	if err != nil {
		return err
	}
	beam.Init()
	began := time.Now()
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return err
	}
	secs := time.Since(began).Seconds()
	if err := commit(); err != nil {
		return err
	}
	committed = true
	summary := map[string]any{"out": out, "seconds": secs, "stitch_rounds_run": cfg.StitchRounds}
	if n, err := pipeline.StitchRounds(res, cfg.StitchRounds); err == nil {
		summary["stitch_rounds_needed"] = n
	}
	log.Info(name, "out", out, "seconds", fmt.Sprintf("%.2f", secs), "stitch_rounds_run", cfg.StitchRounds, "stitch_rounds_needed", summary["stitch_rounds_needed"])
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(summary)
	}
	return nil
}
