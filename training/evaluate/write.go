package evaluate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/models/metrics"
	"github.com/propensity-dev/propensity/training/report"
)

// Output file names.
const (
	FileJSON          = "evaluation.json"
	FileReport        = "report.html"
	FileDisagreements = "disagreements.csv"
	FileSuggested     = "suggested_scorecard.yaml"
)

// Write puts evaluation.json, disagreements.csv, suggested_scorecard.yaml and report.html
// into dir (created if needed), each atomically.
func (r *Result) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, FileJSON), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, FileSuggested), r.suggestedYAML, 0o644); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, FileDisagreements), 0o644, r.writeCSV); err != nil {
		return err
	}
	page, err := r.Page()
	if err != nil {
		return err
	}
	return report.WriteHTML(filepath.Join(dir, FileReport), page)
}

func (r *Result) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"contact_id", "direction", "rule_total", "rule_stage", "probability", "rule_percentile", "model_percentile", "converted"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for _, d := range r.Disagreements {
		_ = cw.Write([]string{d.ContactID, d.Direction, strconv.Itoa(d.Total), d.Stage, f(d.Probability), f(d.RulePct), f(d.ModelPct), strconv.FormatBool(d.Converted)})
	}
	cw.Flush()
	return cw.Error()
}

func pct(x float64) string    { return fmt.Sprintf("%.1f%%", 100*x) }
func f3(x float64) string     { return fmt.Sprintf("%.3f", x) }
func signed(x float64) string { return fmt.Sprintf("%+.3f", x) }

// Page renders the report.
func (r *Result) Page() (report.Page, error) {
	p := report.Page{
		Title: fmt.Sprintf("Rules versus model: %s v%s", r.Scorecard, r.ScorecardVersion),
		Subtitle: fmt.Sprintf("Holdout: %s prospects as of %s, conversions in the next %.0f days (%s converted, %s). Suggestions fitted as of %s.",
			thousands(r.Prospects), r.AsOf.Format(time.DateOnly), r.HorizonDays, thousands(r.Converters), pct(r.BaseRate), r.TrainAsOf.Format(time.DateOnly)),
	}
	head := report.Table{Caption: "Ranking on the holdout", Header: []string{"", "AUC", "PR-AUC", "top-decile lift", "MQL flagged", "MQL precision", "MQL recall", "converters missed"}}
	cutRow := func(name string, auc, pr, lift float64, c Cut) []string {
		return []string{name, f3(auc), f3(pr), fmt.Sprintf("%.2f", lift), strconv.Itoa(c.Flagged), pct(c.Precision), pct(c.Recall), strconv.Itoa(c.Missed)}
	}
	head.Rows = append(head.Rows,
		cutRow("current scorecard (total)", r.Rules.AUC, r.Rules.PRAUC, r.Rules.TopDecileLift, r.Rules.MQL),
		cutRow("model probability (top k = current MQL count)", r.Model.AUC, r.Model.PRAUC, r.Model.TopDecileLift, r.Model.AtMQLVolume),
		cutRow("suggested scorecard (total)", r.Suggested.AUC, r.Suggested.PRAUC, r.Suggested.TopDecileLift, r.Suggested.MQL))
	s := r.Suggestion
	summary := fmt.Sprintf("The suggested scorecard's AUC on the holdout is %s against %s for the current one (%s). At the MQL threshold, precision goes from %s to %s and recall from %s to %s. The model: %s.",
		f3(r.Suggested.AUC), f3(r.Rules.AUC), signed(s.AUCGain), pct(r.Rules.MQL.Precision), pct(r.Suggested.MQL.Precision),
		pct(r.Rules.MQL.Recall), pct(r.Suggested.MQL.Recall), r.Model.Source)
	if len(r.Warnings) > 0 {
		p.Sections = append(p.Sections, report.Section{Title: "Warnings", Text: "⚠ " + strings.Join(r.Warnings, "\n⚠ ")})
	}
	sec := report.Section{Title: "Summary", Text: summary, Tables: []report.Table{head}}
	var series []report.Series
	for _, x := range []struct {
		name     string
		fpr, tpr []float64
	}{{"current scorecard", r.Rules.fpr, r.Rules.tpr}, {"model", r.Model.fpr, r.Model.tpr}, {"suggested scorecard", r.Suggested.fpr, r.Suggested.tpr}} {
		if len(x.fpr) > 0 {
			series = append(series, report.Series{Name: x.name, X: x.fpr, Y: x.tpr})
		}
	}
	add := func(h template.HTML, err error) {
		if err == nil {
			sec.Plots = append(sec.Plots, h)
		}
	}
	if len(series) > 0 {
		add(report.Line("ROC on the holdout", "false positive rate", "true positive rate", series...))
	}
	var gains []report.Series
	for _, x := range []struct {
		name string
		lift []metrics.LiftRow
	}{{"current scorecard", r.Rules.Lift}, {"model", r.Model.Lift}, {"suggested scorecard", r.Suggested.Lift}} {
		if len(x.lift) == 0 {
			continue
		}
		gx, gy := []float64{0}, []float64{0}
		for _, l := range x.lift {
			gx = append(gx, float64(l.Decile)/float64(len(x.lift)))
			gy = append(gy, l.Gain)
		}
		gains = append(gains, report.Series{Name: x.name, X: gx, Y: gy})
	}
	if len(gains) > 0 {
		add(report.Line("Cumulative gains on the holdout", "share of prospects contacted", "share of converters reached", gains...))
	}
	add(report.Calibration("Model calibration on the holdout", r.Model.Calibration))
	add(report.PR(r.Model.PRCurve, r.Model.PRAUC, r.BaseRate))
	p.Sections = append(p.Sections, sec)
	th := report.Table{Caption: "Model threshold table: flag the top share of holdout prospects by probability",
		Header: []string{"top", "prospects flagged", "probability ≥", "converters", "precision", "recall", "lift"}}
	for _, c := range r.Model.Thresholds {
		th.Rows = append(th.Rows, []string{pct(c.Share), strconv.Itoa(c.Rows), fmt.Sprintf("%.4f", c.Threshold), fmt.Sprintf("%.0f", c.Positives), pct(c.Precision), pct(c.Recall), fmt.Sprintf("%.2f", c.Lift)})
	}
	p.Sections = append(p.Sections, report.Section{Title: "Model thresholds", Tables: []report.Table{th}})

	stages := func(title string, e RuleEval) report.Section {
		t := report.Table{Caption: "Everyone at or above each stage threshold", Header: []string{"stage", "points ≥", "flagged", "converters", "precision", "recall", "missed"}}
		for _, c := range e.Stages {
			t.Rows = append(t.Rows, []string{c.Stage, strconv.Itoa(c.Points), strconv.Itoa(c.Flagged), strconv.Itoa(c.Converters), pct(c.Precision), pct(c.Recall), strconv.Itoa(c.Missed)})
		}
		b := report.Table{Caption: "Conversion rate per score band (the rule score's calibration)", Header: []string{"total", "people", "converters", "rate"}}
		var labels []string
		var rates []float64
		for _, x := range e.Bands {
			b.Rows = append(b.Rows, []string{x.Label, strconv.Itoa(x.People), strconv.Itoa(x.Converters), pct(x.Rate)})
			labels = append(labels, x.Label)
			rates = append(rates, x.Rate)
		}
		sec := report.Section{Title: title, Tables: []report.Table{t, b}}
		if h, err := report.Bar("Conversion rate by score band", "total", "conversion rate", labels, rates); err == nil {
			sec.Plots = append(sec.Plots, h)
		}
		return sec
	}
	p.Sections = append(p.Sections, stages("Current scorecard: thresholds and bands", r.Rules), stages("Suggested scorecard: thresholds and bands", r.Suggested))

	mt := report.Table{Caption: "Model calibration (10 probability bins; 95% Wilson interval of the observed rate)", Header: []string{"probability", "people", "mean predicted", "observed rate", "95% interval"}}
	for _, b := range r.Model.Calibration {
		lo, hi := metrics.Wilson(b.Rate, float64(b.Count), 1.96)
		mt.Rows = append(mt.Rows, []string{fmt.Sprintf("[%.1f, %.1f)", b.Lo, b.Hi), strconv.Itoa(b.Count), pct(b.MeanScore), pct(b.Rate), pct(lo) + " – " + pct(hi)})
	}
	p.Sections = append(p.Sections, report.Section{Title: "Model calibration",
		Text:   fmt.Sprintf("Brier score %s, expected calibration error %s.", f3(r.Model.Brier), f3(r.Model.ECE)),
		Tables: []report.Table{mt}})

	sc := s.Scaling
	dt := report.Table{Caption: "Diff against the current scorecard", Header: []string{"rule", "change", "before", "after", "condition"}}
	ip := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	for _, d := range s.Diff {
		dt.Rows = append(dt.Rows, []string{d.Rule, d.Change, ip(d.Before), ip(d.After), d.Text})
	}
	rt := report.Table{Caption: "Where the points come from (training snapshot)", Header: []string{"rule", "points", "coefficient", "information value", "people", "conversion rate"}}
	for _, x := range s.Rules {
		rt.Rows = append(rt.Rows, []string{x.Name, strconv.Itoa(x.Points), f3(x.Coefficient), f3(x.IV), strconv.Itoa(x.People), pct(x.Rate)})
	}
	text := fmt.Sprintf("Points are scaled from a logistic fit on %d characteristics in the credit-scorecard way (Siddiqi 2006): %.1f points double the odds (factor %.2f); a person with none of the characteristics scores 0 (log-odds %.2f) and the MQL threshold of %d points is log-odds %.2f, the model's log-odds at the current MQL rate (%s) of the training snapshot. %s",
		len(s.Rules), sc.PDO, sc.Factor, sc.Intercept, sc.MQLThreshold, sc.TargetLogOdds, pct(sc.TargetMQLRate), sc.Note)
	p.Sections = append(p.Sections, report.Section{Title: "Suggested scorecard", Text: text, Tables: []report.Table{dt, rt}})

	mr := report.Table{Caption: "Leaves of a depth-3 decision tree (CART, Gini) on the training snapshot, measured again on the holdout",
		Header: []string{"rule", "people", "rate", "lift", "holdout people", "holdout rate", "one scorecard rule?"}}
	for _, m := range r.Mined {
		mr.Rows = append(mr.Rows, []string{m.Text, strconv.Itoa(m.People), pct(m.Rate), fmt.Sprintf("%.2f", m.Lift), strconv.Itoa(m.TestPeople), pct(m.TestRate), strconv.FormatBool(m.Expressible)})
	}
	mtext := ""
	if r.MiningError != "" {
		mtext = "Rule mining failed: " + r.MiningError
	}
	p.Sections = append(p.Sections, report.Section{Title: "Candidate rules", Text: mtext, Tables: []report.Table{mr}})

	dis := report.Table{Caption: fmt.Sprintf("Largest disagreements (all %d in %s)", len(r.Disagreements), FileDisagreements),
		Header: []string{"contact", "direction", "total", "stage", "probability", "converted"}}
	for i, d := range r.Disagreements {
		if i%max(1, len(r.Disagreements)/20) != 0 {
			continue
		}
		dis.Rows = append(dis.Rows, []string{d.ContactID, d.Direction, strconv.Itoa(d.Total), d.Stage, f3(d.Probability), strconv.FormatBool(d.Converted)})
	}
	p.Sections = append(p.Sections, report.Section{Title: "Where rules and model disagree", Tables: []report.Table{dis}})
	return p, nil
}
