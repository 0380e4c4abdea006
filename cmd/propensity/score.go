package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// scoreFileFormatVersion is written into the metadata of the batch score file.
const scoreFileFormatVersion = "1"

// runScore scores one profile (--profile) or every person of a history (--data) with a
// scorecard: CONTRACT §3 and §4.
func runScore(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "score",
		"(--profile FILE.json [--json] | --data DIR --as-of DATE --out FILE.parquet) [--scorecard FILE] [--models DIR]",
		"Score one profile (CONTRACT §2) or every person of a history with a scorecard.\n"+
			"Without --scorecard the embedded dealership scorecard is used; a folder holds several\n"+
			"scorecards, the first whose audience matches a contact scores it.")
	scorecardPath := fs.String("scorecard", "", "scorecard YAML file or folder (default: embedded "+data.DefaultScorecard+")")
	profile := fs.String("profile", "", "profile JSON file (CONTRACT §2); - reads stdin")
	dir := fs.String("data", "", "history directory (CONTRACT §1) to score everyone in")
	asOfFlag := fs.String("as-of", "", "score as of DATE (batch: required; profile: overrides as_of)")
	out := fs.String("out", "", "batch: output Parquet file, one row per person")
	models := fs.String("models", "", "models directory (model blocks are not wired into score yet)")
	asJSON := fs.Bool("json", false, "print the score response as one JSON object")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	switch {
	case *profile != "" && *dir != "":
		return usagef("give --profile or --data, not both")
	case *profile == "" && *dir == "":
		return usagef("missing --profile FILE.json (one contact) or --data DIR (a whole history)")
	}
	var asOf time.Time
	if *asOfFlag != "" {
		t, err := parseDate("as-of", *asOfFlag)
		if err != nil {
			return err
		}
		asOf = t
	}
	set, err := loadScorecardFlag(*scorecardPath)
	if err != nil {
		return err
	}
	if *models != "" {
		env.log.Warn("score: model blocks are not wired into this command yet; scoring rules only", "models", *models)
	}
	if *profile != "" {
		return scoreCmdProfile(env, set, *profile, asOf, *asJSON)
	}
	if err := requireFlags("as-of", *asOfFlag, "out", *out); err != nil {
		return err
	}
	if _, err := os.Stat(*dir); err != nil {
		return usagef("--data: %v", err)
	}
	return scoreCmdHistory(ctx, env, set, *dir, asOf, *out, *asJSON)
}

// loadScorecardFlag reads a scorecard file or folder, or the embedded default when path is "".
func loadScorecardFlag(path string) (*scorecard.Set, error) {
	if path == "" {
		b, err := data.Scorecard(data.DefaultScorecard)
		if err != nil {
			return nil, err
		}
		set, err := scorecard.Parse(b, "embedded:"+data.DefaultScorecard+".yaml")
		if err != nil {
			return nil, fmt.Errorf("embedded scorecard: %w", err)
		}
		return set, nil
	}
	set, err := scorecard.Load(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, usagef("--scorecard: %v", err)
		}
		return nil, badInput(err)
	}
	return set, nil
}

// scorecardInputOf converts a features profile into the scorecard's own input (models/ do not
// import features).
func scorecardInputOf(p features.Profile) scorecard.Input {
	in := scorecard.Input{ContactID: p.ContactID, AsOf: p.AsOf, Attributes: p.Attributes,
		Events: make([]scorecard.Event, len(p.Events))}
	for i, e := range p.Events {
		in.Events[i] = scorecard.Event{TS: e.TS, Type: e.Type, Page: e.Page, Channel: e.Channel, Campaign: e.Campaign, Value: e.Value}
	}
	return in
}

// scoreCmdResponse is CONTRACT §3 with the rules block only.
type scoreCmdResponse struct {
	ContactID   string            `json:"contact_id"`
	AsOf        time.Time         `json:"as_of"`
	Rules       *scorecard.Result `json:"rules,omitempty"` // nil when no scorecard's audience matches
	Unavailable []string          `json:"unavailable"`
}

func scoreCmdProfile(env *cliEnv, set *scorecard.Set, path string, asOf time.Time, asJSON bool) error {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usagef("--profile: %v", err)
		}
		defer f.Close()
		r, name = f, path
	}
	p, err := features.DecodeProfile(r, time.Now().UTC())
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", name, err))
	}
	if !asOf.IsZero() {
		p.AsOf = asOf
	}
	resp := scoreCmdResponse{ContactID: p.ContactID, AsOf: p.AsOf.UTC(),
		Unavailable: []string{"conversion", "churn", "ltv", "persona"}}
	res, err := set.Score(scorecardInputOf(p))
	switch {
	case errors.Is(err, scorecard.ErrNoScorecard):
		// Like a model that is not loaded: the block is absent and named (CONTRACT §3).
		resp.Unavailable = append([]string{"rules"}, resp.Unavailable...)
		if asJSON {
			return env.printJSON(resp)
		}
		fmt.Fprintf(env.stdout, "%s: no scorecard's audience matches this contact\n", p.ContactID)
		return nil
	case err != nil:
		return badInput(fmt.Errorf("%s: %w", name, err))
	}
	resp.Rules = &res
	if asJSON {
		return env.printJSON(resp)
	}
	mql := ""
	if res.MQL {
		mql = ", MQL"
	}
	if res.Disqualified {
		mql = ", disqualified by " + res.DisqualifiedBy
	}
	fmt.Fprintf(env.stdout, "%s as of %s: %s v%s total %d (fit %d, engagement %d, lifecycle %d) grade %s, stage %s%s\n",
		p.ContactID, p.AsOf.UTC().Format(time.RFC3339), res.Scorecard, res.Version, res.Total,
		res.Fit, res.Engagement, res.Lifecycle, res.Grade, res.Stage, mql)
	for _, c := range res.Contributions {
		fmt.Fprintf(env.stdout, "  %+4d  %-28s %-10s x%d\n", c.Points, c.Rule, c.Dimension, c.Count)
	}
	return nil
}

// scoreFileRow is one person of the batch score file.
type scoreFileRow struct {
	ContactID        string `parquet:"contact_id"`
	Scorecard        string `parquet:"scorecard,dict"`
	ScorecardVersion string `parquet:"scorecard_version,dict"`
	Total            int64  `parquet:"total"`
	Fit              int64  `parquet:"fit"`
	Engagement       int64  `parquet:"engagement"`
	Lifecycle        int64  `parquet:"lifecycle"`
	Grade            string `parquet:"grade,dict"`
	Stage            string `parquet:"stage,dict"`
	MQL              bool   `parquet:"mql"`
	Disqualified     bool   `parquet:"disqualified"`
	DisqualifiedBy   string `parquet:"disqualified_by,dict"`
	// Contributions lists every contribution, largest first: "rule:+20 other:-10".
	Contributions string `parquet:"contributions"`
}

func newScoreFileRow(id string, r scorecard.Result) scoreFileRow {
	return scoreFileRow{
		ContactID: id, Scorecard: r.Scorecard, ScorecardVersion: r.Version,
		Total: int64(r.Total), Fit: int64(r.Fit), Engagement: int64(r.Engagement), Lifecycle: int64(r.Lifecycle),
		Grade: r.Grade, Stage: r.Stage, MQL: r.MQL, Disqualified: r.Disqualified, DisqualifiedBy: r.DisqualifiedBy,
		Contributions: r.TopContributions(0),
	}
}

// scoreCmdSummary is what batch scoring prints with --json.
type scoreCmdSummary struct {
	Out                 string    `json:"out"`
	AsOf                time.Time `json:"as_of"`
	People              int       `json:"people"`
	MQL                 int       `json:"mql"`
	Disqualified        int       `json:"disqualified"`
	NoMatchingScorecard int       `json:"no_matching_scorecard"`
	MissingAttributes   []string  `json:"missing_attributes"`
	Seconds             float64   `json:"seconds"`
}

func scoreCmdHistory(ctx context.Context, env *cliEnv, set *scorecard.Set, dir string, asOf time.Time, out string, asJSON bool) error {
	start := time.Now()
	var n, mql, disq, unscored int
	// Attributes the scorecards read that no person has are reported: a rule on a column
	// the history lacks silently never fires otherwise.
	unseen := map[string]bool{}
	for _, sc := range set.Scorecards() {
		for _, f := range sc.Fields() {
			unseen[f] = true
		}
	}
	var report features.Report
	err := atomicfile.Write(out, 0o644, func(w io.Writer) error {
		pw := parquet.NewGenericWriter[scoreFileRow](w, parquet.Compression(&parquet.Snappy),
			parquet.KeyValueMetadata("propensity.format_version", scoreFileFormatVersion),
			parquet.KeyValueMetadata("propensity.kind", "scores"),
			parquet.KeyValueMetadata("propensity.as_of", asOf.Format(time.RFC3339)))
		buf := make([]scoreFileRow, 0, 1024)
		var err error
		report, err = features.ForEachPerson(ctx, dir, features.Options{AsOf: asOf}, func(p *features.Person) error {
			for f := range unseen {
				if v, ok := p.Attributes[f]; ok && v != nil {
					delete(unseen, f)
				}
			}
			in := scorecardInputOf(p.Profile(asOf))
			res, err := set.Score(in)
			switch {
			case errors.Is(err, scorecard.ErrNoScorecard):
				unscored++
			case err != nil:
				return badInput(fmt.Errorf("contact %s: %w", p.ContactID, err))
			}
			n++
			if res.MQL {
				mql++
			}
			if res.Disqualified {
				disq++
			}
			buf = append(buf, newScoreFileRow(p.ContactID, res))
			if len(buf) == cap(buf) {
				if _, err := pw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := pw.Write(buf); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		for _, bad := range []error{features.ErrEmptyDir, features.ErrMissingColumn, features.ErrColumnType,
			features.ErrUnreadable, features.ErrBadMapping} {
			if errors.Is(err, bad) {
				return badInput(err)
			}
		}
		return err
	}
	missing := slices.Sorted(maps.Keys(unseen))
	if len(missing) > 0 {
		env.log.Warn("scorecard attributes that no person in the history has", "attributes", strings.Join(missing, ","))
	}
	elapsed := time.Since(start)
	env.log.Info("scored history", "people", n, "mql", mql, "disqualified", disq,
		"no_matching_scorecard", unscored, "out", out, "files", len(report.Files),
		"elapsed", elapsed.Round(time.Millisecond))
	if asJSON {
		return env.printJSON(scoreCmdSummary{Out: out, AsOf: asOf, People: n, MQL: mql, Disqualified: disq,
			NoMatchingScorecard: unscored, MissingAttributes: append([]string{}, missing...), Seconds: elapsed.Seconds()})
	}
	return nil
}
