package uplift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/effect"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/training/report"
	"github.com/propensity-dev/propensity/training/tabular"
)

// Report file names, written next to the artifact.
const (
	ReportHTML = "report.html"
	ReportJSON = "report.json"
)

// Summary is the JSON summary of a run (`train uplift --json`, report.json).
type Summary struct {
	Learner    string          `json:"learner"`
	Chosen     string          `json:"chosen_by"`
	Candidates []Candidate     `json:"candidates"`
	Uplift     Ranking         `json:"uplift"`
	Propensity Ranking         `json:"propensity"`
	Deciles    []effect.Decile `json:"deciles"`
	Balance    Balance         `json:"balance"`
	Warnings   []string        `json:"warnings"`
	Rows       int             `json:"rows"`
	Treated    int             `json:"treated"`
	Control    int             `json:"control"`
	LeftOut    int             `json:"left_out_rows"` // rows of other arms
	Dropped    int             `json:"dropped_rows"`  // rows without an outcome
	Label      string          `json:"label"`
	Positive   string          `json:"positive"`
	Treatment  string          `json:"treatment"`
	Features   int             `json:"features"`
	FitSeconds float64         `json:"fit_seconds"`
	Columns    []ColumnInfo    `json:"columns"`
	Version    string          `json:"model_version,omitempty"`
	Out        string          `json:"out,omitempty"`
	Report     string          `json:"report,omitempty"`
}

// ColumnInfo is one input column of the training rows: the artifact's column report.
type ColumnInfo struct {
	Name    string  `json:"name"`
	Kind    string  `json:"kind"`
	Missing float64 `json:"missing_share"`
	// Levels is the number of distinct values of a categorical column.
	Levels int `json:"levels,omitempty"`
}

func columnReport(f *frame.Frame) []ColumnInfo {
	out := make([]ColumnInfo, 0, len(f.Columns))
	for _, c := range f.Columns {
		ci := ColumnInfo{Name: c.Name, Kind: c.Kind.String()}
		n, miss := c.Len(), 0
		if c.Kind == frame.Categorical {
			seen := map[string]bool{}
			for _, s := range c.Cat {
				if s == "" {
					miss++
				} else {
					seen[s] = true
				}
			}
			ci.Levels = len(seen)
		} else {
			for _, v := range c.Num {
				if math.IsNaN(v) {
					miss++
				}
			}
		}
		if n > 0 {
			ci.Missing = math.Round(float64(miss)/float64(n)*1e4) / 1e4
		}
		out = append(out, ci)
	}
	return out
}

// Summarize returns the summary of r trained on d.
func (r *Result) Summarize(d *Data) Summary {
	return Summary{Learner: r.Learner, Chosen: r.Chosen, Candidates: r.Candidates, Uplift: r.Uplift,
		Propensity: r.Propensity, Deciles: r.Deciles, Balance: r.Balance, Warnings: append([]string{}, r.Warnings...),
		Rows: r.Rows, Treated: r.Treated, Control: r.Control, LeftOut: d.LeftOut, Dropped: d.Dropped,
		Label: d.Label, Positive: d.Positive, Treatment: d.Treatment, Features: len(r.Inputs),
		FitSeconds: math.Round(r.FitSeconds*100) / 100, Columns: columnReport(d.X)}
}

// Write saves the artifact into dir with report.html and report.json; s gets the version and
// paths. featureOpts, when set, are recorded for the service's online features.
func (r *Result) Write(dir string, d *Data, s Summary, title string, man artifact.Manifest, featureOpts *features.Options) (Summary, error) {
	a := &effect.Artifact{Manifest: man, Payload: effect.Payload{Version: effect.PayloadVersion, Model: r.Model,
		Inputs: r.Inputs, Label: d.Label, Positive: d.Positive, Treatment: d.Treatment,
		DecileCuts: r.DecileCuts, Deciles: r.Deciles}}
	opts := map[string]any{"learner": r.Learner, "chosen_by": r.Chosen, "candidates": r.Candidates, "columns": s.Columns,
		"treated": r.Treated, "control": r.Control}
	if featureOpts != nil {
		opts["features"] = featureOpts
	}
	if b, err := json.Marshal(opts); err == nil {
		a.Manifest.Options = b
	}
	a.Manifest.Rows = r.Rows
	a.Manifest.Metrics = map[string]float64{"qini": round4(r.Uplift.Qini), "auuc": round4(r.Uplift.AUUC),
		"propensity_qini": round4(r.Propensity.Qini)}
	saved, err := a.Save(dir)
	if err != nil {
		return s, err
	}
	s.Version, s.Out, s.Report = saved.Version, dir, filepath.Join(dir, ReportHTML)
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, ReportJSON), append(body, '\n'), 0o644); err != nil {
		return s, err
	}
	page, err := Page(title, s)
	if err != nil {
		return s, err
	}
	return s, report.WriteHTML(s.Report, page)
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// TableJob is `train uplift --table FILE --treatment COL --label COL`.
type TableJob struct {
	Path      string
	Read      tabular.ReadOptions
	Treatment string // column
	// TreatmentValue and ControlValue pick the two arms compared; rows of other arms are left
	// out and counted. Empty: the column must have two values, recognised as a pair
	// (1/0, true/false, yes/no, treatment/control, treated/control).
	TreatmentValue, ControlValue string
	Label                        tabular.LabelOptions
	Train                        Options
	Out                          string // models directory: writes Out/uplift/
}

// armPairs are the treatment/control value pairs recognised without flags.
var armPairs = [][2]string{{"1", "0"}, {"true", "false"}, {"yes", "no"}, {"treatment", "control"}, {"treated", "control"}, {"t", "f"}, {"y", "n"}}

// Run reads the table, selects the arms, trains and writes the artifact and reports.
func (j TableJob) Run(ctx context.Context) (*Result, Summary, error) {
	f, err := tabular.ReadTable(j.Path, j.Read)
	if err != nil {
		return nil, Summary{}, err
	}
	tc := f.Column(j.Treatment)
	if tc == nil {
		return nil, Summary{}, fmt.Errorf("%w: %s has no treatment column %q (columns: %s)", tabular.ErrColumn, j.Path, j.Treatment, strings.Join(f.Names(), ", "))
	}
	arms := make([]string, f.Rows())
	count := map[string]int{}
	for i := range arms {
		if tc.Kind == frame.Categorical {
			arms[i] = tc.Cat[i]
		} else if !math.IsNaN(tc.Num[i]) {
			arms[i] = strconv.FormatFloat(tc.Num[i], 'f', -1, 64)
		}
		if arms[i] != "" {
			count[arms[i]]++
		}
	}
	tv, cv, err := pickArms(j.Treatment, count, j.TreatmentValue, j.ControlValue)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("%s: %w", j.Path, err)
	}
	lc := f.Column(j.Label.Label)
	if lc == nil {
		return nil, Summary{}, fmt.Errorf("%w: %s has no label column %q (columns: %s)", tabular.ErrColumn, j.Path, j.Label.Label, strings.Join(f.Names(), ", "))
	}
	var keep []int
	var treated []bool
	d := &Data{Treatment: fmt.Sprintf("%s = %s vs %s", j.Treatment, tv, cv)}
	for i, a := range arms {
		missing := (lc.Kind == frame.Categorical && lc.Cat[i] == "") || (lc.Kind == frame.Numeric && math.IsNaN(lc.Num[i]))
		switch {
		case a != tv && a != cv:
			d.LeftOut++
		case missing:
			d.Dropped++
		default:
			keep = append(keep, i)
			treated = append(treated, a == tv)
		}
	}
	lo := j.Label
	lo.Exclude = append(slices.Clone(lo.Exclude), j.Treatment)
	ds, err := tabular.ExtractLabel(f.Take(keep), lo)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("%s: %w", j.Path, err)
	}
	d.X, d.Y, d.Treated, d.Label, d.Positive = ds.X, ds.Y, treated, ds.Label, ds.Positive
	res, err := Train(ctx, d, j.Train)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("%s: %w", j.Path, err)
	}
	s := res.Summarize(d)
	if d.LeftOut > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d rows of other arms of %s left out", d.LeftOut, j.Treatment))
	}
	if j.Out == "" {
		return res, s, nil
	}
	s, err = res.Write(filepath.Join(j.Out, artifact.KindUplift), d, s, "Uplift model trained on "+filepath.Base(j.Path), artifact.Manifest{}, nil)
	return res, s, err
}

func pickArms(col string, count map[string]int, tv, cv string) (string, string, error) {
	vals := make([]string, 0, len(count))
	for v := range count {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	list := func() string {
		var b []string
		for _, v := range vals {
			b = append(b, fmt.Sprintf("%s (%d rows)", v, count[v]))
		}
		return strings.Join(b, ", ")
	}
	if len(vals) < 2 {
		return "", "", fmt.Errorf("%w: column %q has %d value(s) (%s); an experiment needs treated and control rows", ErrTreatment, col, len(vals), list())
	}
	for _, v := range []struct{ flag, val string }{{"--treatment-value", tv}, {"--control-value", cv}} {
		if v.val != "" && count[v.val] == 0 {
			return "", "", fmt.Errorf("%w: %s %q is not a value of column %q (values: %s)", ErrTreatment, v.flag, v.val, col, list())
		}
	}
	if tv != "" && tv == cv {
		return "", "", fmt.Errorf("%w: --treatment-value and --control-value are both %q", ErrTreatment, tv)
	}
	other := func(x string) string {
		if len(vals) != 2 {
			return ""
		}
		if vals[0] == x {
			return vals[1]
		}
		return vals[0]
	}
	switch {
	case tv != "" && cv != "":
		return tv, cv, nil
	case tv != "" && len(vals) == 2:
		return tv, other(tv), nil
	case cv != "" && len(vals) == 2:
		return other(cv), cv, nil
	case tv == "" && cv == "" && len(vals) == 2:
		for _, p := range armPairs {
			if strings.EqualFold(vals[0], p[0]) && strings.EqualFold(vals[1], p[1]) {
				return vals[0], vals[1], nil
			}
			if strings.EqualFold(vals[1], p[0]) && strings.EqualFold(vals[0], p[1]) {
				return vals[1], vals[0], nil
			}
		}
		return "", "", fmt.Errorf("%w: cannot tell the treated arm of column %q (values: %s); give --treatment-value", ErrTreatment, col, list())
	}
	return "", "", fmt.Errorf("%w: column %q has %d arms (%s); give --treatment-value and --control-value", ErrTreatment, col, len(vals), list())
}

// HistoryJob is `train uplift --data DIR --treatment-event TYPE|--treatment COL --as-of T
// --horizon H`: one feature snapshot at T (behaviour before T) labelled with conversion in
// [T, T+H), for the prospects at T; a contact is treated when it has an event of
// TreatmentEvent in [T, T+H) (send the campaign at T), or by its contact column Treatment.
type HistoryJob struct {
	Dir            string
	TreatmentEvent string
	Treatment      string // contact column (with TreatmentValue / ControlValue)
	TreatmentValue string
	ControlValue   string
	AsOf           time.Time
	Horizon        time.Duration
	Exclude        []string
	Features       features.Options
	Train          Options
	Out            string
}

// Run builds the snapshot, trains, and writes the artifact and reports.
func (j HistoryJob) Run(ctx context.Context) (*Result, Summary, error) {
	if (j.TreatmentEvent == "") == (j.Treatment == "") {
		return nil, Summary{}, fmt.Errorf("%w: give exactly one of a treatment event type and a treatment column", ErrTreatment)
	}
	if j.Horizon <= 0 || j.AsOf.IsZero() {
		return nil, Summary{}, fmt.Errorf("%w: an as-of time and a positive horizon are needed", tabular.ErrHistory)
	}
	fopts := j.Features
	fopts.AsOf, fopts.Horizon = j.AsOf, j.Horizon
	t, rep, err := history.Build(ctx, j.Dir, fopts)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("%w: features as of %s: %w", tabular.ErrHistory, j.AsOf.Format(time.DateOnly), err)
	}
	defer t.Release()
	rep.Warn(j.Train.Log, j.AsOf)
	excluded := map[string]bool{tabular.StageColumn: true, tabular.DaysInStageColumn: true}
	for _, e := range j.Exclude {
		excluded[e] = true
	}
	if j.Treatment != "" {
		excluded[j.Treatment] = true
	}
	f, err := tabular.FeatureFrame(t, func(c features.Column) bool { return c.IsFeature() && !excluded[c.Name] })
	if err != nil {
		return nil, Summary{}, err
	}
	y, err := t.Float64s("label_converted")
	if err != nil {
		return nil, Summary{}, fmt.Errorf("%w: %w", tabular.ErrHistory, err)
	}
	ids := t.ContactIDs()
	merged := t.MergedIDs()
	arms := make([]string, len(ids))
	d := &Data{Label: "label_converted", Positive: "1"}
	tv, cv := "treated", "control"
	if j.TreatmentEvent != "" {
		d.Treatment = "event " + j.TreatmentEvent
		got, err := treatedByEvent(ctx, j.Dir, fopts, j.TreatmentEvent, j.AsOf, j.AsOf.Add(j.Horizon))
		if err != nil {
			return nil, Summary{}, err
		}
		for i, id := range ids {
			arms[i] = cv
			if got[id] {
				arms[i] = tv
			}
			if merged != nil {
				for _, m := range merged[i] {
					if got[m] {
						arms[i] = tv
					}
				}
			}
		}
	} else {
		d.Treatment = "column " + j.Treatment
		vals, err := t.Strings(j.Treatment)
		if err != nil {
			return nil, Summary{}, fmt.Errorf("%w: treatment column %q: %w", ErrTreatment, j.Treatment, err)
		}
		count := map[string]int{}
		for _, v := range vals {
			if v != "" {
				count[v]++
			}
		}
		if tv, cv, err = pickArms(j.Treatment, count, j.TreatmentValue, j.ControlValue); err != nil {
			return nil, Summary{}, err
		}
		arms = vals
	}
	var keep []int
	var treated []bool
	for i := range ids {
		switch {
		case y[i] != 0 && y[i] != 1:
			d.Dropped++ // not a prospect at T
		case arms[i] != tv && arms[i] != cv:
			d.LeftOut++
		default:
			keep = append(keep, i)
			treated = append(treated, arms[i] == tv)
		}
	}
	d.X, d.Y, d.Treated = f.Take(keep), pick(y, keep), treated
	d.IDs = make([]string, len(keep))
	for k, i := range keep {
		d.IDs[k] = ids[i]
	}
	res, err := Train(ctx, d, j.Train)
	if err != nil {
		return nil, Summary{}, err
	}
	s := res.Summarize(d)
	if j.Out == "" {
		return res, s, nil
	}
	used := t.Options()
	used.AsOf, used.Horizon = time.Time{}, 0
	man := artifact.Manifest{FeatureSchemaVersion: features.SchemaVersion,
		TrainingWindow: artifact.Window{From: j.AsOf, To: j.AsOf.Add(j.Horizon)}}
	title := fmt.Sprintf("Uplift of %s on conversion, as of %s, horizon %g days", d.Treatment, j.AsOf.Format(time.DateOnly), j.Horizon.Hours()/24)
	s, err = res.Write(filepath.Join(j.Out, artifact.KindUplift), d, s, title, man, &used)
	return res, s, err
}

// treatedByEvent returns the contact ids with an event of type typ in [from, to).
func treatedByEvent(ctx context.Context, dir string, opts features.Options, typ string, from, to time.Time) (map[string]bool, error) {
	got := map[string]bool{}
	n := 0
	_, err := history.ForEachPerson(ctx, dir, opts, func(p *history.Person) error {
		for _, e := range p.Events {
			if e.Type == typ && !e.TS.Before(from) && e.TS.Before(to) {
				got[p.ContactID] = true
				n++
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reading events: %w", tabular.ErrHistory, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no %q event in [%s, %s): no contact is treated", ErrTreatment, typ, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	return got, nil
}
