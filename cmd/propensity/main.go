// Command propensity scores, predicts and segments marketing contacts.
//
// Each subcommand lives in its own file and only wires flags into library options
// (thin commands: docs/architecture.md). The commands, their flags, outputs and exit
// statuses are documented in docs/cli.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/propensity-dev/propensity/internal/progress"
)

// command is one subcommand of propensity.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

func commands() []command {
	return []command{
		{"generate", "write a synthetic history with known ground truth", runGenerate},
		{"features", "build the point-in-time feature table of a history", runFeatures},
		{"score", "score one profile or a whole history with a scorecard and models", runScore},
		{"train", "train a conversion or churn model (history or any table)", runTrain},
		{"ltv", "fit BG/NBD + Gamma-Gamma lifetime value to transactions", runLTV},
		{"personas", "cluster people into personas and evaluate segments", runPersonas},
		{"evaluate", "compare a scorecard with model probabilities on real outcomes", runEvaluate},
		{"serve", "serve scores over HTTP", runServe},
		{"ingest", "bulk-load a history directory into a live store", runIngest},
		{"export", "write a live store as a history directory", runExport},
		{"demo", "generate, train, score and serve on embedded defaults", runDemo},
		{"version", "print the module version, VCS revision and Go version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("PROPENSITY_CPUPROFILE"), os.Stderr)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a pprof CPU profile of the whole run to path when it is not empty
// (PROPENSITY_CPUPROFILE=cpu.out propensity score ...; go tool pprof cpu.out). A profile
// that cannot be started is reported and the command runs unprofiled.
func startCPUProfile(path string, stderr io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "propensity: PROPENSITY_CPUPROFILE: %v (running without a profile)\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "propensity: PROPENSITY_CPUPROFILE: %v\n", err)
		}
	}
}

// realMain runs one command line and returns the process exit status:
// 0 success, 1 failure while running, 2 bad usage or bad input.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := newEnv(stdout, stderr)
	if env.isTerminal() {
		// Long jobs draw their progress on stderr, only when it is a terminal: logs
		// redirected to a file and --json output stay clean.
		ctx = progress.WithReporter(ctx, progress.NewTerminal(stderr))
	}
	if len(args) == 0 {
		printUsage(stderr) // no command: bad usage, so the usage goes with the errors
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		if len(args) == 1 {
			printUsage(stdout) // asked for: help is output
			return exitOK
		}
		args = []string{args[1], "--help"}
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(env, c.name, c.run(ctx, env, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "propensity: unknown command %q (run 'propensity help')\n", args[0])
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "propensity: predictive scoring and segmentation for marketing and CRM data")
	fmt.Fprintln(w, "\nUsage: propensity COMMAND [flags]   (propensity COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\ntrain, ltv and personas write into one models directory (--out MODELS: MODELS/<kind>/), which")
	fmt.Fprintln(w, "serve --models reads whole. Exit status: 0 success, 1 failure while running, 2 bad usage or input.")
	fmt.Fprintln(w, "Commands, outputs and exit statuses: docs/cli.md; input layout and JSON shapes: docs/contract.md.")
}
