package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/propensity-dev/propensity/data/synth"
)

// runGenerate writes a synthetic history with known ground truth (data/synth).
func runGenerate(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "generate", "--out DIR [--contacts N] [--seed S] [--as-of DATE] [--horizon 90d] [--personas K] [--campaign SHARE] [--json]",
		"Write contacts, events, transactions, identities and truth Parquet files plus generator.json\n"+
			"into DIR: a marketing history whose true personas, conversion and churn probabilities are known.")
	out := fs.String("out", "", "output directory (created if missing)")
	contacts := fs.String("contacts", strconv.Itoa(synth.DefaultContacts), "number of people")
	seed := fs.String("seed", strconv.Itoa(synth.DefaultSeed), "random seed (same seed, same files)")
	asOf := fs.String("as-of", synth.DefaultAsOf().Format("2006-01-02"), "as-of date T (YYYY-MM-DD or RFC 3339); truth describes [T, T+horizon)")
	horizon := fs.String("horizon", "90d", "label horizon H (d, w or h suffix)")
	personas := fs.String("personas", strconv.Itoa(synth.DefaultPersonas), "number of latent personas")
	campaign := fs.Float64("campaign", 0, "share of contacts treated by a randomised campaign_offer at the as-of date, with true effects in truth.parquet (tau, uplift_group); 0: no campaign")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	workers := workersFlag(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := requireFlags("out", *out); err != nil {
		return err
	}
	opts, err := synthOptions(*contacts, *seed, *asOf, *horizon, *personas)
	if err != nil {
		return err
	}
	if opts.Workers, err = parseWorkers(*workers); err != nil {
		return err
	}
	opts.CampaignShare = *campaign
	if err := opts.EnsureDefaults().Validate(); err != nil {
		return badInput(fmt.Errorf("--campaign: %w", err))
	}
	sum, err := synth.Generate(ctx, *out, opts)
	if err != nil {
		return synthError(err)
	}
	env.log.Info("generated history", "dir", sum.Dir, "contacts", sum.Contacts, "events", sum.Events,
		"transactions", sum.Transactions, "seconds", fmt.Sprintf("%.2f", sum.Seconds),
		"events_per_s", fmt.Sprintf("%.0f", sum.EventsPerSecond))
	if *asJSON {
		return env.printJSON(sum)
	}
	printSynthSummary(env, sum)
	return nil
}

// synthOptions turns the shared generate/demo flags into synth.Options; every problem is a
// usage error (exit 2) naming the flag.
func synthOptions(contacts, seed, asOf, horizon, personas string) (synth.Options, error) {
	var o synth.Options
	var errs []error
	n, err := strconv.Atoi(contacts)
	if err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("--contacts: %q is not a positive whole number", contacts))
	}
	o.Contacts = n
	s, err := strconv.ParseUint(seed, 10, 64)
	if err != nil || s == 0 {
		errs = append(errs, fmt.Errorf("--seed: %q is not a positive whole number", seed))
	}
	o.Seed = s
	if o.AsOf, err = parseDate("as-of", asOf); err != nil {
		errs = append(errs, errors.Unwrap(err))
	}
	if o.Horizon, err = parseDuration("horizon", horizon); err != nil {
		errs = append(errs, errors.Unwrap(err))
	}
	k, err := strconv.Atoi(personas)
	if err != nil || k < 1 {
		errs = append(errs, fmt.Errorf("--personas: %q is not a positive whole number", personas))
	}
	o.Personas = k
	if len(errs) == 0 {
		if err := o.EnsureDefaults().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return o, badInput(errors.Join(errs...))
	}
	return o, nil
}

// synthError maps generator errors to exit statuses: options and output directory are bad
// usage (2), anything else a failure (1).
func synthError(err error) error {
	if errors.Is(err, synth.ErrOptions) || errors.Is(err, synth.ErrOutput) {
		return badInput(err)
	}
	return err
}

func printSynthSummary(env *cliEnv, s *synth.Summary) {
	w := env.stdout
	fmt.Fprintf(w, "history written to %s (as of %s, horizon %.0f days)\n", s.Dir, s.AsOf.Format("2006-01-02"), s.HorizonDays)
	fmt.Fprintf(w, "  contacts      %d (%d people, %d duplicate rows)\n", s.Contacts, s.People, s.Duplicates)
	fmt.Fprintf(w, "  events        %d (%d anonymous)\n", s.Events, s.AnonymousEvents)
	types := make([]string, 0, len(s.EventsByType))
	for t := range s.EventsByType {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return s.EventsByType[types[i]] > s.EventsByType[types[j]] })
	for _, t := range types {
		fmt.Fprintf(w, "    %-18s %d\n", t, s.EventsByType[t])
	}
	fmt.Fprintf(w, "  purchases     %d\n", s.Transactions)
	fmt.Fprintf(w, "  identities    %d\n", s.Identities)
	auc := func(x float64) string {
		if x == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.3f", x)
	}
	fmt.Fprintf(w, "  conversion    %d of %d prospects (%.1f%%), true-probability AUC %s\n",
		s.Converted, s.ProspectsAtAsOf, 100*s.ConversionRate, auc(s.ConversionAUC))
	fmt.Fprintf(w, "  churn         %d of %d customers (%.1f%%), true-probability AUC %s\n",
		s.Churned, s.CustomersAtAsOf, 100*s.ChurnRate, auc(s.ChurnAUC))
	if c := s.Campaign; c != nil {
		fmt.Fprintf(w, "  campaign      %d treated, %d control; prospects' conversion %.1f%% treated vs %.1f%% control, mean true effect %+.4f\n",
			c.Treated, c.Control, 100*c.ConvertedTreated, 100*c.ConvertedControl, c.MeanTau)
		for _, g := range []string{synth.GroupPersuadable, synth.GroupSureThing, synth.GroupLostCause, synth.GroupSleepingDog} {
			fmt.Fprintf(w, "    %-18s %d prospects\n", g, c.Prospects[g])
		}
	}
	fmt.Fprintf(w, "  took          %.2f s (%.0f events/s)\n", s.Seconds, s.EventsPerSecond)
}
