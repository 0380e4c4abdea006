package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/training/personas"
	"github.com/propensity-dev/propensity/training/tabular"
)

const personasUsage = `(--data DIR --as-of DATE [--feature-set persona|all] | --table FILE [--id COL]) [--columns COLS] [--exclude COLS] [--k N|auto] [--k-min 2 --k-max 10] [--criterion silhouette|bic|gap] [--segments FILE] [--models MODELS] [--seed S] --out MODELS [--json]`

const personasSummary = `Cluster people into personas (k-means on standardised features, log1p for skewed
counts and amounts, one-hot for small categoricals, each categorical weighted as one
column), profile and name them, and flag the segments of a YAML rules file. Writes
personas.json, personas.csv (one row per persona: size, share, key traits in plain words,
the means of the main features next to everyone's, and with --models the mean conversion
and churn probabilities and CLV), assignments.parquet, assignments.csv, report.html and
the model artifact (model/) into OUT/personas/. --k auto warns when it picks the smallest
or largest k of its range.

With --data the personas are built from demographics and the mix of behaviour, not raw
volumes (--feature-set persona, the default): the contact attributes age, income and
account type; the share of page views by page category (90 days); the share of recent
activity by event type (page views, e-mail opens and clicks, webinars, social, surveys,
downloads, purchases); e-mail clicks per open; the share of spend by product category;
purchase_count and the mean amount per purchase; tenure_days, days_since_last_event,
n_events_90d, days_since_last_purchase and satisfaction_last. Shares are smoothed towards
the population share and arcsine-square-root encoded. personas.json lists the inputs used
("columns"). --feature-set all clusters every feature column; --columns replaces the set
with the listed columns; --exclude drops columns from either.

` + outConvention

// runPersonas wires flags into training/personas.
func runPersonas(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "personas", personasUsage, personasSummary)
	data := fs.String("data", "", "history directory: cluster its feature table as of --as-of")
	asOf := fs.String("as-of", "", "as-of date T (with --data)")
	tablePath := fs.String("table", "", "Parquet or CSV table, one row per contact")
	id := fs.String("id", "", "identifier column (default: detected contact_id/id/customer_id, else row numbers)")
	exclude := fs.String("exclude", "", "comma-separated columns left out of the clustering (still usable by segments)")
	columns := fs.String("columns", "", "comma-separated columns to cluster on (default: the persona feature set with --data, all but --id and --exclude with --table)")
	featureSet := fs.String("feature-set", "persona", "with --data: persona (demographics and behaviour mix, see above) or all (every feature column)")
	kFlag := fs.String("k", "auto", "number of personas, or auto to choose in [--k-min, --k-max]")
	kMin := fs.Int("k-min", 2, "smallest k tried by --k auto")
	kMax := fs.Int("k-max", 10, "largest k tried by --k auto")
	criterion := fs.String("criterion", "silhouette", "how --k auto chooses: silhouette, bic or gap")
	segFile := fs.String("segments", "", "YAML file of named segment rules (name: condition)")
	seed := fs.Uint64("seed", 1, "random seed")
	impute := fs.Bool("impute", false, "replace missing numbers by the column median (always on with --data)")
	restarts := fs.Int("restarts", 10, "k-means++ restarts of the final fit")
	batch := fs.Int("mini-batch", 0, "fit with mini-batch k-means on batches of this many rows (0: full Lloyd iterations)")
	models := fs.String("models", "", "with --data: models directory whose conversion, churn and ltv models score everyone, for their means per persona in personas.csv (may be the --out directory)")
	out := fs.String("out", "", "models directory: writes OUT/personas/")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	mf := addMappingFlags(fs)
	tf := addTableFlags(fs)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := requireFlags("out", *out); err != nil {
		return err
	}
	mapping, overrides, missing, err := loadColumns(mf, tf)
	if err != nil {
		return err
	}
	if (*data == "") == (*tablePath == "") {
		return usagef("give exactly one of --data DIR (with --as-of) or --table FILE")
	}
	if *models != "" && *tablePath != "" {
		return usagef("--models scores a history: use it with --data (a --table's own p_convert, p_churn, p_alive and clv columns are summarised without it)")
	}
	outDir := kindDir(*out, artifact.KindPersonas)
	if err := checkOutput(dirOutput, "--out", outDir, historyInput("--data", *data, mapping),
		inputPath("--table", *tablePath), inputPath("--segments", *segFile), inputPath("--config", *mf.Config)); err != nil {
		return err
	}
	ps := persona.Settings{KMin: *kMin, KMax: *kMax, KMeans: kmeans.Settings{Restarts: *restarts, BatchSize: *batch}}
	ps.Transform.Impute = *impute
	switch *kFlag {
	case "auto", "":
	default:
		k, err := strconv.Atoi(*kFlag)
		if err != nil || k < 1 {
			return usagef("--k: %q is not a positive number or auto", *kFlag)
		}
		ps.K = k
	}
	if *restarts < 1 || *batch < 0 {
		return usagef("--restarts must be at least 1 and --mini-batch not negative")
	}
	if *kMin < 1 || *kMax < *kMin {
		return usagef("--k-min %d / --k-max %d: want 1 <= k-min <= k-max", *kMin, *kMax)
	}
	switch *criterion {
	case "silhouette":
	case "bic":
		ps.Criterion = kmeans.ByBIC
	case "gap":
		ps.Criterion = kmeans.ByGap
	default:
		return usagef("--criterion: %q is not silhouette, bic or gap", *criterion)
	}
	opts := personas.Options{ID: *id, Exclude: splitList(*exclude), Columns: splitList(*columns), Persona: ps, Seed: *seed, Logger: env.log}
	if *segFile != "" {
		segs, err := personas.LoadSegments(*segFile)
		if err != nil {
			return badInput(err)
		}
		opts.Segments = segs
	}

	var f *frame.Frame
	var tableReport *table.Report
	if *tablePath != "" {
		var err error
		var skipped []string
		ro := tabular.ReadOptions{Overrides: overrides, Missing: missing}
		if f, tableReport, skipped, err = personasReadTable(env, *tablePath, opts.ID, opts.Exclude, ro); err != nil {
			return badInput(err)
		}
		opts.Exclude = slices.DeleteFunc(opts.Exclude, func(c string) bool { return slices.Contains(skipped, c) })
	} else {
		if err := requireFlags("as-of", *asOf); err != nil {
			return err
		}
		t, err := parseDate("as-of", *asOf)
		if err != nil {
			return err
		}
		tab, rep, err := history.Build(ctx, *data, features.Options{AsOf: t, Mapping: mapping})
		if err != nil {
			return featuresError(err)
		}
		rep.Warn(env.log, t)
		f, err = personas.FromFeatures(tab)
		tab.Release()
		if err != nil {
			return err
		}
		if opts.ID == "" {
			opts.ID = "contact_id"
		}
		switch {
		case len(opts.Columns) > 0:
		case *featureSet == "persona":
			set := personas.PersonaFeatures(f)
			set.Use(&opts)
			for _, n := range set.Notes {
				env.log.Warn(n)
			}
		case *featureSet == "all":
		default:
			return usagef("--feature-set: %q is not persona or all", *featureSet)
		}
		// Feature tables have documented nulls (days since the last event when there is none).
		opts.Persona.Transform.Impute = true
		if *models != "" {
			if opts.Scores, err = personasScores(ctx, env, *models, *data, t, f.Column("contact_id").Cat); err != nil {
				return err
			}
		}
	}
	res, err := personas.Run(ctx, f, opts)
	if err != nil {
		return personasError(err)
	}
	res.TableColumns = tableReport
	if err := res.Write(outDir); err != nil {
		return err
	}
	sum := res.Summary()
	sum.Out = outDir
	if *asJSON {
		return env.printJSON(sum)
	}
	fmt.Fprintf(env.stdout, "%d personas from %d contacts (silhouette %.3f, stability %.3f) in %s\n", sum.K, sum.Rows, sum.Silhouette, sum.Stability, outDir)
	for j, name := range sum.Names {
		fmt.Fprintf(env.stdout, "  %d  %-8d %s\n", j, sum.Sizes[j], name)
	}
	for _, seg := range res.Segments { // in file order
		fmt.Fprintf(env.stdout, "  segment %s: %d\n", seg.Name, sum.Segments[seg.Name])
	}
	return nil
}

// personasError marks problems with the user's input as bad input (exit 2).
func personasError(err error) error {
	var pe *os.PathError
	var se *personas.SegmentError
	var re *tabular.ReadError
	for _, target := range []error{persona.ErrMissing, persona.ErrAllConstant, persona.ErrNoColumns, persona.ErrField,
		kmeans.ErrRows, kmeans.ErrK, kmeans.ErrNaN, personas.ErrColumn, personas.ErrNoRows, personas.ErrSegments, scorecard.ErrType, scorecard.ErrSyntax} {
		if errors.Is(err, target) {
			return badInput(err)
		}
	}
	if errors.As(err, &pe) || errors.As(err, &se) || errors.As(err, &re) {
		return badInput(err)
	}
	return err
}

// personasReadTable reads the --table file and prints its column report on stderr. The id
// column (given, or detected by name) is kept as text. Excluded columns stay readable
// (segments may use them), except those of a type no model can read (such as the feature
// table's merged_ids list), which are skipped when --exclude names them.
func personasReadTable(env *cliEnv, path, id string, exclude []string, ro tabular.ReadOptions) (*frame.Frame, *table.Report, []string, error) {
	names, err := table.Header(path, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, n := range names {
		if n == id || (id == "" && personas.IsIDName(n)) {
			ro.Keep = append(ro.Keep, n)
			break
		}
	}
	for {
		f, rep, err := tabular.ReadTableReport(path, ro)
		var re *tabular.ReadError
		if err == nil {
			return f, rep, ro.Skip, rep.WriteText(env.stderr)
		}
		if !errors.Is(err, tabular.ErrUnsupported) || !errors.As(err, &re) ||
			!slices.Contains(exclude, re.Column) || slices.Contains(ro.Skip, re.Column) {
			return nil, nil, ro.Skip, err
		}
		ro.Skip = append(ro.Skip, re.Column)
	}
}
