package main

import (
	"context"
	"path/filepath"
	"strconv"

	"github.com/propensity-dev/propensity/data/synth"
)

// runDemo generates a sample history into demo-output/history and prints a summary. Later
// issues extend it to train, score and serve.
func runDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "demo", "[--out DIR] [--contacts N] [--seed S] [--no-serve] [--json]",
		"Generate a sample history (and, later, train, score and serve on it).")
	out := fs.String("out", filepath.Join("demo-output", "history"), "where to write the sample history")
	contacts := fs.String("contacts", strconv.Itoa(synth.DefaultContacts), "number of people")
	seed := fs.String("seed", "1", "random seed")
	fs.Bool("no-serve", false, "do not start the HTTP server at the end (nothing is served yet)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	opts, err := synthOptions(*contacts, *seed, synth.DefaultAsOf().Format("2006-01-02"), "90d", strconv.Itoa(synth.DefaultPersonas))
	if err != nil {
		return err
	}
	sum, err := synth.Generate(ctx, *out, opts)
	if err != nil {
		return synthError(err)
	}
	if *asJSON {
		return env.printJSON(sum)
	}
	printSynthSummary(env, sum)
	return nil
}
