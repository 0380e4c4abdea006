package personas

import (
	"context"
	"errors"
	"fmt"
	coltable "github.com/propensity-dev/propensity/internal/table"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/training/tabular"
)

// ErrColumn is wrapped by errors about a named column that is not in the table.
var ErrColumn = errors.New("personas: no such column")

// ErrNoRows is returned for a table with no rows (a history with no contacts).
var ErrNoRows = errors.New("personas: the table has no rows")

// Options configure Run. The zero value clusters every column but a detected identifier,
// choosing k by silhouette in [2, 10].
type Options struct {
	// ID names the identifier column. Empty means: the first column called contact_id,
	// id, customer_id or "Customer ID" (case, spaces and underscores ignored), else row
	// numbers.
	ID string
	// Exclude names columns left out of the clustering (labels, leaky or external
	// columns). They remain available to segments.
	Exclude []string
	// Columns, when not empty, lists the only columns clustered on (Exclude still applies).
	Columns []string
	// Derived adds shares and ratios of pairs of columns to the clustered inputs (see
	// persona.Derived and PersonaFeatures); one whose column is excluded is left out.
	Derived []persona.Derived
	// Persona tunes the clustering and profiles (K 0 means choose k).
	Persona persona.Settings
	// Segments are evaluated for every row.
	Segments []Segment
	// Scores are model scores per row (conversion, churn, LTV), summarised per persona in
	// personas.csv. Score columns of the table itself (p_convert, p_churn, p_alive,
	// expected_purchases, clv) are summarised too.
	Scores []ScoreColumn
	// Seed of all random choices; the same seed and input give the same output. Default 1.
	Seed uint64
	// Logger receives progress; nil means none.
	Logger *slog.Logger
}

// Output is the outcome of Run.
type Output struct {
	Model     *persona.Model
	Choice    *kmeans.Choice
	IDs       []string
	Labels    []int
	Distances []float64
	Segments  []Segment
	Flags     [][]bool // [segment][row]
	Columns   []string // inputs clustered on (before encoding): columns, then derived "num/den"
	X         []float64
	Elapsed   time.Duration
	// Scores are Options.Scores.
	Scores []ScoreColumn
	// Warnings are results a user should look at before trusting the personas, such as a
	// k chosen at the edge of its search range.
	Warnings []string
	// TableColumns is the column report of the table read (personas --table), for the
	// summary and report.html; nil from a history.
	TableColumns *coltable.Report

	scoreCols []ScoreColumn // Scores and the table's score columns, for the summary
}

// Summary is the JSON answer of the personas command.
type Summary struct {
	K          int            `json:"k"`
	Silhouette float64        `json:"silhouette"`
	Stability  float64        `json:"stability"`
	Sizes      []int          `json:"sizes"`
	Names      []string       `json:"names"`
	Rows       int            `json:"rows"`
	Segments   map[string]int `json:"segments,omitempty"`
	Choice     *kmeans.Choice `json:"choice,omitempty"`
	Notes      []string       `json:"notes,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
	Out        string         `json:"out,omitempty"`
	// Columns is the column report of a table (personas --table).
	Columns *coltable.Report `json:"columns,omitempty"`
}

// idNames are the column names taken as identifiers, compared after normalise.
var idNames = []string{"contactid", "id", "customerid", "clientid", "userid"}

// IsIDName reports whether a column name is taken as the identifier when Options.ID is
// empty: contact_id, id, customer_id, client_id or user_id, ignoring case, spaces,
// underscores and dashes.
func IsIDName(name string) bool { return slices.Contains(idNames, normalise(name)) }

func normalise(s string) string {
	return strings.NewReplacer("_", "", " ", "", "-", "").Replace(strings.ToLower(s))
}

// Run clusters the rows of f into personas and evaluates the segments.
func Run(ctx context.Context, f *frame.Frame, opts Options) (*Output, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Rows() == 0 {
		return nil, ErrNoRows
	}
	idCol := opts.ID
	if idCol != "" && f.Index(idCol) < 0 {
		return nil, fmt.Errorf("%w: id column %q (have %s)", ErrColumn, idCol, strings.Join(f.Names(), ", "))
	}
	if idCol == "" {
		for _, c := range f.Columns {
			if IsIDName(c.Name) {
				idCol = c.Name
				break
			}
		}
	}
	for _, e := range opts.Exclude {
		if f.Index(e) < 0 {
			return nil, fmt.Errorf("%w: --exclude %q (have %s)", ErrColumn, e, strings.Join(f.Names(), ", "))
		}
	}
	for _, c := range opts.Columns {
		if f.Index(c) < 0 {
			return nil, fmt.Errorf("%w: --columns %q (have %s)", ErrColumn, c, strings.Join(f.Names(), ", "))
		}
	}
	for _, d := range opts.Derived {
		for _, c := range []string{d.Num, d.Den} {
			if f.Index(c) < 0 {
				return nil, fmt.Errorf("%w: %q (for %s)", ErrColumn, c, d.Name())
			}
		}
	}
	if err := CheckFields(opts.Segments, f.Names()); err != nil {
		return nil, err
	}
	if err := checkScores(opts.Scores, f.Rows()); err != nil {
		return nil, err
	}
	out := &Output{IDs: ids(f, idCol), Segments: opts.Segments, Scores: opts.Scores}
	skip := append(slices.Clone(opts.Exclude), idCol)
	plain := []string{}
	for _, c := range f.Names() {
		if !slices.Contains(skip, c) && (len(opts.Columns) == 0 || slices.Contains(opts.Columns, c)) {
			plain = append(plain, c)
		}
	}
	var derived []persona.Derived
	keep := slices.Clone(plain)
	for _, d := range opts.Derived {
		if slices.Contains(skip, d.Num) || slices.Contains(skip, d.Den) {
			continue
		}
		derived = append(derived, d)
		keep = append(keep, d.Num, d.Den)
	}
	var drop []string
	for _, c := range f.Names() {
		if !slices.Contains(keep, c) {
			drop = append(drop, c)
		}
	}
	feat := f.Drop(drop...)
	opts.Persona.Transform.Columns = plain
	opts.Persona.Transform.Derived = derived
	out.Columns = FeatureSet{Columns: plain, Derived: derived}.Names()
	seed := opts.Seed
	if seed == 0 {
		seed = 1
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log.Info("clustering", "rows", f.Rows(), "columns", len(out.Columns), "id", idCol)
	// The search over k and the stability resamples are the slow parts: each shows its
	// progress (on a terminal; see internal/progress).
	chooseStep, chooseEnd := progress.Steps(ctx, "choosing k (fitting each candidate)", "k")
	stabStep, stabEnd := progress.Steps(ctx, "measuring stability (bootstrap resamples)", "resamples")
	opts.Persona.Choose.Progress = func(done, total int) {
		chooseStep(done, total)
		if done == total {
			chooseEnd()
		}
	}
	opts.Persona.Stability.Progress = stabStep
	res, err := persona.Fit(feat, opts.Persona, rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	chooseEnd()
	stabEnd()
	if err != nil {
		return nil, err
	}
	out.Model, out.Choice = res.Model, res.Choice
	out.Labels, out.Distances, out.X = res.Labels, res.Distances, res.X
	out.scoreCols = out.scores(f)
	if w := edgeWarning(out.Choice); w != "" {
		out.Warnings = append(out.Warnings, w)
		log.Warn(w)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := out.evalSegments(f); err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	log.Info("personas done", "k", out.Model.K, "silhouette", round(out.Model.Silhouette), "stability", round(out.Model.Stability), "seconds", round(out.Elapsed.Seconds()))
	return out, nil
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// ids returns the identifier of each row: the id column formatted as text, or row numbers.
func ids(f *frame.Frame, col string) []string {
	out := make([]string, f.Rows())
	c := f.Column(col)
	for i := range out {
		switch {
		case c == nil:
			out[i] = strconv.Itoa(i + 1)
		case c.Kind == frame.Categorical:
			out[i] = c.Cat[i]
		default:
			out[i] = strconv.FormatFloat(c.Num[i], 'f', -1, 64)
		}
	}
	return out
}

// evalSegments flags each row for each segment. Records hold every column of f and the
// persona fields.
func (o *Output) evalSegments(f *frame.Frame) error {
	if len(o.Segments) == 0 {
		return nil
	}
	o.Flags = make([][]bool, len(o.Segments))
	for s := range o.Flags {
		o.Flags[s] = make([]bool, f.Rows())
	}
	rec := make(map[string]any, len(f.Columns)+4)
	for r := range f.Rows() {
		for ci := range f.Columns {
			c := &f.Columns[ci]
			if c.Kind == frame.Numeric {
				rec[c.Name] = c.Num[r]
			} else {
				rec[c.Name] = c.Cat[r]
			}
		}
		p := &o.Model.Personas[o.Labels[r]]
		rec["persona"] = p.Name
		rec["persona_name"] = p.Name
		rec["persona_id"] = p.ID
		rec["distance"] = o.Distances[r]
		for s := range o.Segments {
			ok, err := o.Segments[s].Match(rec)
			if err != nil {
				return &SegmentError{Segment: o.Segments[s].Name, Err: fmt.Errorf("row %d (id %s): %w", r+1, o.IDs[r], err)}
			}
			o.Flags[s][r] = ok
		}
	}
	return nil
}

// Summary returns the figures the command prints.
func (o *Output) Summary() Summary {
	m := o.Model
	s := Summary{K: m.K, Silhouette: m.Silhouette, Stability: m.Stability, Rows: len(o.Labels), Choice: o.Choice, Notes: m.Transform.Notes, Warnings: o.Warnings,
		Columns: o.TableColumns}
	for _, p := range m.Personas {
		s.Sizes = append(s.Sizes, p.Size)
		s.Names = append(s.Names, p.Name)
	}
	if len(o.Segments) > 0 {
		s.Segments = map[string]int{}
		for i, seg := range o.Segments {
			n := 0
			for _, v := range o.Flags[i] {
				if v {
					n++
				}
			}
			s.Segments[seg.Name] = n
		}
	}
	return s
}

// FromFeatures converts a feature table (history.Build) to a frame of its feature columns
// and the contact ids. Labels and id lists are left out.
func FromFeatures(t *history.Table) (*frame.Frame, error) {
	feats, err := tabular.FeatureFrame(t, nil)
	if err != nil {
		return nil, err
	}
	f := &frame.Frame{}
	f.AddCategorical("contact_id", t.ContactIDs())
	f.Columns = append(f.Columns, feats.Columns...)
	return f, nil
}

// edgeWarning says when k was chosen at an end of the range tried: the criterion might
// prefer a k outside it, so the choice is a bound rather than an optimum. A range of one k
// is no choice, and says nothing.
func edgeWarning(c *kmeans.Choice) string {
	if c == nil || len(c.Candidates) < 2 {
		return ""
	}
	lo, hi := c.Candidates[0].K, c.Candidates[0].K
	for _, cand := range c.Candidates {
		lo, hi = min(lo, cand.K), max(hi, cand.K)
	}
	switch c.K {
	case hi:
		return fmt.Sprintf("--k auto chose k = %d, the largest k tried (%d to %d): more personas may fit better by %s; try a larger --k-max, or set --k", c.K, lo, hi, c.Criterion)
	case lo:
		return fmt.Sprintf("--k auto chose k = %d, the smallest k tried (%d to %d): the data may have little cluster structure, or fewer personas may fit better by %s; try a smaller --k-min, or set --k", c.K, lo, hi, c.Criterion)
	}
	return ""
}
