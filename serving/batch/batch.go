package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
)

// FormatVersion is written into the metadata of the score file (key
// "propensity.format_version", beside "propensity.kind" = "scores" and "propensity.as_of").
const FormatVersion = "1"

// ErrOptions is wrapped by the errors of Options.Validate.
var ErrOptions = errors.New("batch: bad options")

// Options say what to score and where to write it.
type Options struct {
	// Dir is the history directory (docs/contract.md §1). Required.
	Dir string
	// AsOf is the time every person is scored at. Required.
	AsOf time.Time
	// Out is the Parquet file written, atomically (CSV when it ends in .csv). Required.
	Out string
	// Mapping names the history's files and columns; the zero value means the model set's
	// (or docs/contract.md §1's) names.
	Mapping features.Mapping
	// Scorecards are the scorecards of the model set's rules block. Their fields that no
	// person has are reported in Summary.MissingAttributes, and the walk over people loads
	// only the events they read (the models read rows of the feature table, written first).
	// Nil: neither.
	Scorecards *scorecard.Set
	// Workers is the number of people scored at once; 0 means GOMAXPROCS.
	Workers int
	// Memory is the budget of the run (history.Engine.Memory): beyond it, people are walked
	// partition by partition, their events spilled under TmpDir, and so is the feature
	// table the models read computed; that table goes to a temporary file under TmpDir,
	// and only the rows of the partition walked are held. Zero means
	// history.DefaultMemory().
	Memory int64
	// TmpDir is where the run spills, and where the models' feature table is written
	// (empty: the system temporary directory).
	TmpDir string
}

// Validate reports every missing option at once.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, fmt.Errorf("%w: no history directory", ErrOptions))
	}
	if o.AsOf.IsZero() {
		errs = append(errs, fmt.Errorf("%w: no as-of time", ErrOptions))
	}
	if o.Out == "" {
		errs = append(errs, fmt.Errorf("%w: no output file", ErrOptions))
	}
	return errors.Join(errs...)
}

// Summary is what a batch score did; `propensity score --json` prints it.
type Summary struct {
	Out                 string    `json:"out"`
	AsOf                time.Time `json:"as_of"`
	People              int       `json:"people"`
	MQL                 int       `json:"mql"`
	Disqualified        int       `json:"disqualified"`
	NoMatchingScorecard int       `json:"no_matching_scorecard"`
	// MissingAttributes are the scorecard attributes that no person in the history has: a
	// rule on a column the history lacks silently never fires otherwise.
	MissingAttributes []string `json:"missing_attributes"`
	Seconds           float64  `json:"seconds"`
	// Report is what the history walk read.
	Report history.Report `json:"-"`
}

// ContactError reports a person whose score failed (a model refusing their row).
type ContactError struct {
	ContactID string
	Err       error
}

func (e *ContactError) Error() string { return fmt.Sprintf("contact %s: %v", e.ContactID, e.Err) }
func (e *ContactError) Unwrap() error { return e.Err }

// Row is one person of the score file. The model columns are null when their model is not
// loaded.
type Row struct {
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

	PConvert          *float64 `parquet:"p_convert,optional"`
	ConversionDecile  *int64   `parquet:"conversion_decile,optional"`
	ConversionReasons *string  `parquet:"conversion_reasons,optional"`
	PChurn            *float64 `parquet:"p_churn,optional"`
	ChurnReasons      *string  `parquet:"churn_reasons,optional"`
	PAlive            *float64 `parquet:"p_alive,optional"`
	ExpectedPurchases *float64 `parquet:"expected_purchases,optional"`
	CLV               *float64 `parquet:"clv,optional"`
	PersonaID         *int64   `parquet:"persona_id,optional"`
	PersonaName       *string  `parquet:"persona_name,optional,dict"`
	UpliftEffect      *float64 `parquet:"uplift_effect,optional"`
	UpliftDecile      *int64   `parquet:"uplift_decile,optional"`
	UpliftGroup       *string  `parquet:"uplift_group,optional,dict"`
}

// NewRow returns the row of a score response.
func NewRow(resp serving.Response) Row {
	row := Row{ContactID: resp.ContactID}
	if r := resp.Rules; r != nil {
		row.Scorecard, row.ScorecardVersion = r.Scorecard, r.Version
		row.Total, row.Fit, row.Engagement, row.Lifecycle = int64(r.Total), int64(r.Fit), int64(r.Engagement), int64(r.Lifecycle)
		row.Grade, row.Stage, row.MQL, row.Disqualified, row.DisqualifiedBy = r.Grade, r.Stage, r.MQL, r.Disqualified, r.DisqualifiedBy
		row.Contributions = r.TopContributions(0)
	}
	if c := resp.Conversion; c != nil {
		d := int64(c.Decile)
		row.PConvert, row.ConversionDecile, row.ConversionReasons = &c.Probability, &d, ptr(ReasonsString(c.Reasons))
	}
	if c := resp.Churn; c != nil {
		row.PChurn, row.ChurnReasons = &c.Probability, ptr(ReasonsString(c.Reasons))
	}
	if l := resp.LTV; l != nil {
		row.PAlive, row.ExpectedPurchases, row.CLV = &l.PAlive, &l.ExpectedPurchases, &l.CLV
	}
	if p := resp.Persona; p != nil {
		id := int64(p.ID)
		row.PersonaID, row.PersonaName = &id, &p.Name
	}
	if u := resp.Uplift; u != nil {
		d := int64(u.Decile)
		row.UpliftEffect, row.UpliftDecile = &u.Effect, &d
		if u.Group != "" {
			row.UpliftGroup = &u.Group
		}
	}
	return row
}

// ReadFile reads the rows of a score file.
func ReadFile(path string) ([]Row, error) { return parquet.ReadFile[Row](path) }

func ptr[T any](v T) *T { return &v }

// ReasonsString renders reason codes as "feature=value:+0.420 other=3:-0.100"; a missing
// value is written "missing" (as in "days_since_last_event=missing:+1.150").
func ReasonsString(rs []serving.Reason) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := r.Value
		if v == nil {
			v = "missing"
		}
		fmt.Fprintf(&b, "%s=%v:%+.3f", r.Feature, v, r.Effect)
	}
	return b.String()
}

// NewWriter returns a writer of score rows to w with the score file's schema and metadata:
// Score writes through it, and so do the shards of the Beam module's score job.
func NewWriter(w io.Writer, asOf time.Time) *parquet.GenericWriter[Row] {
	return parquet.NewGenericWriter[Row](w, parquet.Compression(&parquet.Snappy),
		parquet.KeyValueMetadata("propensity.format_version", FormatVersion),
		parquet.KeyValueMetadata("propensity.kind", "scores"),
		parquet.KeyValueMetadata("propensity.as_of", asOf.Format(time.RFC3339)),
		parquet.KeyValueMetadata("propensity.build", buildinfo.Read().String()))
}

// Score scores every person of opts.Dir as of opts.AsOf with set and writes their rows to
// opts.Out in contact_id order. The history's errors are history's (errors.Is
// history.ErrEmptyDir, ...); a person whose score fails is a *ContactError. Nothing is
// left at opts.Out on error.
func Score(ctx context.Context, set *serving.ModelSet, opts Options) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, err
	}
	scorer := serving.NewScorer(serving.Static{Set: set}, time.Now)
	start := time.Now()
	sum := Summary{Out: opts.Out, AsOf: opts.AsOf}
	// Attributes the scorecards read that no person has are reported.
	unseen := map[string]bool{}
	if opts.Scorecards != nil {
		for _, sc := range opts.Scorecards.Scorecards() {
			for _, f := range sc.Fields() {
				unseen[f] = true
			}
		}
	}
	err := atomicfile.Write(opts.Out, 0o644, func(w io.Writer) error {
		pw := newRowWriter(w, opts)
		buf := make([]Row, 0, 1024)
		var err error
		// People are scored concurrently and written in contact_id order. The scorecard
		// attributes seen are noted per person and merged in order (unseen is not shared).
		type scored struct {
			row               Row
			rules, mql, disqd bool
			attrs             []string
		}
		fields := slices.Sorted(maps.Keys(unseen))
		wopts := features.Options{AsOf: opts.AsOf, Mapping: opts.Mapping}
		if opts.Scorecards != nil {
			wopts.KeepEvent = opts.Scorecards.Needs
		}
		eng := history.Engine{Workers: opts.Workers, Memory: opts.Memory, TmpDir: opts.TmpDir}
		score := func(p *history.Person, row *features.Row) (scored, error) {
			var seen []string
			for _, f := range fields {
				if v, ok := p.Attributes[f]; ok && v != nil {
					seen = append(seen, f)
				}
			}
			prof := p.Profile(opts.AsOf)
			resp, err := scorer.ScoreWith(ctx, set, &prof, serving.Options{Row: row, NoWarnings: true})
			if err != nil {
				return scored{}, &ContactError{ContactID: p.ContactID, Err: err}
			}
			r := resp.Rules
			return scored{row: NewRow(resp), rules: r != nil, mql: r != nil && r.MQL, disqd: r != nil && r.Disqualified, attrs: seen}, nil
		}
		emit := func(s scored) error {
			for _, f := range s.attrs {
				delete(unseen, f)
			}
			sum.People++
			switch {
			case !s.rules:
				sum.NoMatchingScorecard++
			case s.mql:
				sum.MQL++
			case s.disqd:
				sum.Disqualified++
			}
			buf = append(buf, s.row)
			if len(buf) == cap(buf) {
				if _, err := pw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
			return nil
		}
		if fopts, ok := rowOptions(set, opts); ok {
			// The models read feature rows: they come from the feature table, computed by
			// the same streaming code as `propensity features`, so the walk over people
			// loads only the events the scorecards read. (Materialising every event of
			// every person for the models took 2.7 GB for one contact with 5M events,
			// against 55 MB for features.) The table is written to a temporary file and
			// read back partition by partition with the walk, within the budget: held whole
			// in memory, the table of ten million people (1.2 KB each) would take twice the
			// default budget of a 24 GB machine.
			sum.Report, err = history.MapPersonsWithFeatures(ctx, eng, opts.Dir, wopts, fopts, func(p *history.Person, row *features.Row) (scored, error) {
				if row == nil {
					return scored{}, fmt.Errorf("contact %s: not in the feature table", p.ContactID)
				}
				return score(p, row)
			}, emit)
		} else {
			sum.Report, err = history.MapPersonsWithin(ctx, eng, opts.Dir, wopts, func(p *history.Person) (scored, error) {
				return score(p, nil)
			}, emit)
		}
		if err != nil {
			return err
		}
		if _, err := pw.Write(buf); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return sum, err
	}
	sum.MissingAttributes = append([]string{}, slices.Sorted(maps.Keys(unseen))...)
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// rowOptions returns the feature options of the rows the models of set read, and false when
// no loaded model reads feature rows: the model set's options as of opts.AsOf, with the
// history's mapping when opts names one, and without a horizon (rows to score have no
// labels) or an event filter (the rows are computed from every event, as in training).
func rowOptions(set *serving.ModelSet, opts Options) (features.Options, bool) {
	if set.Conversion == nil && set.Churn == nil && set.Personas == nil && set.Uplift == nil {
		return features.Options{}, false
	}
	fo := set.FeatureOptions
	fo.AsOf, fo.Horizon, fo.KeepEvent = opts.AsOf, 0, nil
	if opts.Mapping != (features.Mapping{}) {
		fo.Mapping = opts.Mapping
	}
	return fo, true
}
