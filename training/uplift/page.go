package uplift

import (
	"fmt"
	"html/template"
	"strconv"

	"github.com/propensity-dev/propensity/training/report"
)

// Page builds the HTML report: metrics, learner comparison, Qini curves, uplift by decile
// and the treated/control balance.
func Page(title string, s Summary) (report.Page, error) {
	f4 := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	pct := func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }
	mt := report.Table{Caption: "Held-out rankings (out-of-fold, " + strconv.Itoa(len(s.Candidates[0].FoldQini)) + " folds)",
		Header: []string{"ranking", "Qini coefficient", "AUUC", "uplift at 10%", "uplift at 20%", "uplift at 30%"}}
	for _, r := range []Ranking{s.Uplift, s.Propensity} {
		row := []string{r.Name, f4(r.Qini), f4(r.AUUC)}
		for _, a := range r.UpliftAt {
			row = append(row, f4(a.Uplift))
		}
		mt.Rows = append(mt.Rows, row)
	}
	ct := report.Table{Caption: "Learners by cross-validated Qini coefficient (chosen by " + s.Chosen + ": " + s.Learner + ")",
		Header: []string{"learner", "Qini mean ± sd", "uplift at 30% mean ± sd", "folds"}}
	for _, c := range s.Candidates {
		folds := ""
		for i, q := range c.FoldQini {
			if i > 0 {
				folds += ", "
			}
			folds += f4(q)
		}
		ct.Rows = append(ct.Rows, []string{c.Learner, f4(c.Qini) + " ± " + f4(c.QiniSD), f4(c.UpliftAt30) + " ± " + f4(c.UpliftAt30SD), folds})
	}
	dt := report.Table{Caption: "Deciles of estimated uplift (held-out rows); a group label needs an interval of ±2.807 SE (95%, Bonferroni over 10 deciles) that excludes 0",
		Header: []string{"decile", "observed uplift", "standard error", "group", "rate treated", "rate control", "rows"}}
	for i, d := range s.Deciles {
		g := s.Uplift.Deciles[i]
		dt.Rows = append(dt.Rows, []string{strconv.Itoa(d.Decile), f4(d.Uplift), f4(d.SE), d.Group,
			f4(g.RateTreated), f4(g.RateControl), strconv.Itoa(g.Rows)})
	}
	bt := report.Table{Caption: fmt.Sprintf("Treated/control balance: treated share %s; largest standardised mean differences (chance level %.3f over all rows; a covariate missing on some rows has a larger one, over the rows where it is present)",
		pct(s.Balance.TreatedShare), s.Balance.Chance), Header: []string{"covariate", "SMD", "chance level"}}
	for _, r := range s.Balance.Largest {
		bt.Rows = append(bt.Rows, []string{r.Column, f4(r.SMD), f4(r.Chance)})
	}
	it := report.Table{Caption: "Data", Header: []string{"", ""}, Rows: [][]string{
		{"treatment", s.Treatment}, {"outcome", s.Label + " = " + s.Positive},
		{"rows (treated / control)", fmt.Sprintf("%d (%d / %d)", s.Rows, s.Treated, s.Control)},
		{"rows of other arms left out", strconv.Itoa(s.LeftOut)}, {"rows without outcome", strconv.Itoa(s.Dropped)},
		{"features", strconv.Itoa(s.Features)}, {"fit seconds", fmt.Sprintf("%.2f", s.FitSeconds)},
	}}
	var plots []template.HTML
	q, p := s.Uplift.QiniCurve, s.Propensity.QiniCurve
	if len(q.X) > 1 {
		last := len(q.X) - 1
		qp, err := report.Line("Qini curve (held-out rows)", "share targeted", "incremental conversions / rows",
			report.Series{Name: s.Uplift.Name, X: q.X, Y: q.Y},
			report.Series{Name: s.Propensity.Name, X: p.X, Y: p.Y},
			report.Series{Name: "random", X: []float64{0, q.X[last]}, Y: []float64{0, q.Y[last]}})
		if err != nil {
			return report.Page{}, err
		}
		plots = append(plots, qp)
	}
	labels := make([]string, len(s.Uplift.Deciles))
	vals := make([]float64, len(s.Uplift.Deciles))
	pvals := make([]float64, len(s.Propensity.Deciles))
	for i, g := range s.Uplift.Deciles {
		labels[i], vals[i] = strconv.Itoa(g.Group), g.Uplift
	}
	for i, g := range s.Propensity.Deciles {
		pvals[i] = g.Uplift
	}
	if b, err := report.Bar("Observed uplift by decile of estimated uplift", "decile (1 = highest estimate)", "treated − control rate", labels, vals); err == nil {
		plots = append(plots, b)
	}
	if b, err := report.Bar("Observed uplift by decile of conversion probability", "decile (1 = highest probability)", "treated − control rate", labels, pvals); err == nil {
		plots = append(plots, b)
	}
	var text string
	for _, w := range s.Warnings {
		text += "Warning: " + w + " "
	}
	return report.Page{Title: title, Subtitle: "uplift model: " + s.Learner, Sections: []report.Section{
		{Title: "Summary", Text: text, Tables: []report.Table{mt, ct, it}},
		{Title: "Qini and deciles", Plots: plots, Tables: []report.Table{dt}},
		{Title: "Balance", Text: "Randomised assignment leaves treated and control rows alike: standardised mean differences near 0.", Tables: []report.Table{bt}},
	}}, nil
}
