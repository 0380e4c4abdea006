package personas

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/persona"
)

// SummaryFile is the one-row-per-persona summary written beside the catalog, for
// spreadsheets.
const SummaryFile = "personas.csv"

// ScoreColumn is a model score per row, in the order of the clustered table's rows (NaN
// where the model gives the row no score, such as churn for someone who never bought). The
// summary gives its mean per persona next to everyone's.
type ScoreColumn struct {
	// Name is the score's column name: p_convert, p_churn, p_alive, clv or another.
	Name   string
	Values []float64
}

// scoreNames are the model score columns the summary picks up from the table itself (a
// --table holding the columns of a score file), in the order written, with their headers.
var scoreNames = []struct{ column, header string }{
	{"p_convert", "conversion probability"},
	{"p_churn", "churn probability"},
	{"p_alive", "probability still active"},
	{"expected_purchases", "expected purchases"},
	{"clv", "customer lifetime value"},
}

// scoreHeader is the summary's header of a score column.
func scoreHeader(name string) string {
	for _, s := range scoreNames {
		if s.column == name {
			return s.header
		}
	}
	return persona.Words(name)
}

// mainFeatures are the dimensions the summary shows: every dimension that is a trait of some
// persona, strongest (largest |z| for any persona) first, at most maxFeatures.
func mainFeatures(ps []persona.Profile, maxFeatures int) []string {
	strength := map[string]float64{}
	for _, p := range ps {
		for _, t := range p.Traits {
			strength[t.Feature] = math.Max(strength[t.Feature], math.Abs(t.Z))
		}
	}
	var dims []string
	for d := range strength {
		dims = append(dims, d)
	}
	slices.SortFunc(dims, func(a, b string) int {
		if c := -cmpFloat(strength[a], strength[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return dims[:min(len(dims), maxFeatures)]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxSummaryFeatures bounds the feature columns of the summary: a spreadsheet that scrolls
// sideways past 24 means is no longer a summary.
const maxSummaryFeatures = 12

// scores returns the score columns of the summary: those of Options.Scores, then those of
// the table with a known score name that Options.Scores does not already hold.
func (o *Output) scores(f *frame.Frame) []ScoreColumn {
	out := slices.Clone(o.Scores)
	for _, s := range scoreNames {
		if slices.ContainsFunc(out, func(c ScoreColumn) bool { return c.Name == s.column }) {
			continue
		}
		if c := f.Column(s.column); c != nil && c.Kind == frame.Numeric {
			out = append(out, ScoreColumn{Name: s.column, Values: c.Num})
		}
	}
	return out
}

// writeSummary writes personas.csv: one row per persona with its size and share, its key
// traits in plain words, the persona's and everyone's means of the main features, and the
// persona's and everyone's mean model scores. Headers are words, not column names: a
// feature's header is persona.Describe of it, everyone's mean adds " (everyone)".
// Proportions (a level's share, a derived share, a probability) have 4 decimals, money and
// other means 2, sizes none.
func (o *Output) writeSummary(w io.Writer) error {
	m := o.Model
	dims := mainFeatures(m.Personas, maxSummaryFeatures)
	head := []string{"persona", "name", "people", "share of people", "key traits"}
	for _, d := range dims {
		desc := persona.Describe(d)
		head = append(head, desc, desc+" (everyone)")
	}
	type scoreMeans struct {
		per []float64
		all float64
	}
	var sm []scoreMeans
	for _, s := range o.scoreCols {
		h := scoreHeader(s.Name)
		head = append(head, h, h+" (everyone)")
		per, all := groupMeans(s.Values, o.Labels, m.K)
		sm = append(sm, scoreMeans{per, all})
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	share := map[string]bool{}
	for _, in := range m.Transform.Inputs {
		if in.Kind == persona.Share {
			share[in.Name] = true
		}
	}
	for j, p := range m.Personas {
		var traits []string
		for _, t := range persona.KeyTraits(p) {
			traits = append(traits, traitName(t))
		}
		rec := []string{strconv.Itoa(p.ID), p.Name, strconv.Itoa(p.Size), fixed(p.Share, 4), strings.Join(traits, "; ")}
		for _, d := range dims {
			digits := 2
			if share[d] || strings.Contains(d, "=") {
				digits = 4
			}
			i := slices.IndexFunc(p.Centroid, func(v persona.Value) bool { return v.Column == d })
			if i < 0 {
				rec = append(rec, "", "")
				continue
			}
			rec = append(rec, fixed(p.Centroid[i].Value, digits), fixed(p.Centroid[i].Population, digits))
		}
		for k, s := range o.scoreCols {
			digits := 4
			if !strings.HasPrefix(s.Name, "p_") {
				digits = 2
			}
			rec = append(rec, fixed(sm[k].per[j], digits), fixed(sm[k].all, digits))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// groupMeans returns the mean of v per label (NaN values skipped) and over everyone.
func groupMeans(v []float64, labels []int, k int) ([]float64, float64) {
	sum := make([]float64, k)
	cnt := make([]int, k)
	tot, n := 0.0, 0
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		sum[labels[i]] += x
		cnt[labels[i]]++
		tot += x
		n++
	}
	for j := range sum {
		if cnt[j] == 0 {
			sum[j] = math.NaN()
		} else {
			sum[j] /= float64(cnt[j])
		}
	}
	if n == 0 {
		return sum, math.NaN()
	}
	return sum, tot / float64(n)
}

// fixed formats v with the given decimals; NaN (no value) is an empty cell.
func fixed(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Trim(s, "-0.") == "" {
		return strconv.FormatFloat(0, 'f', digits, 64)
	}
	return s
}

// checkScores reports a score column whose length differs from the table's rows.
func checkScores(scores []ScoreColumn, rows int) error {
	for _, s := range scores {
		if s.Name == "" || len(s.Values) != rows {
			return fmt.Errorf("personas: score column %q has %d values for %d rows", s.Name, len(s.Values), rows)
		}
	}
	return nil
}
