package tabular

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/metrics"
	"github.com/propensity-dev/propensity/training/report"
)

// Report file names, written into the artifact directory next to the manifest.
const (
	ReportHTML = "report.html"
	ReportJSON = "report.json"
)

// Summary is the JSON summary of a training run (printed by `propensity train --json` and
// written as report.json).
type Summary struct {
	Model           string             `json:"model"`
	Kind            string             `json:"kind"`
	AUC             float64            `json:"auc"`
	PRAUC           float64            `json:"pr_auc"`
	LogLoss         float64            `json:"log_loss"`
	Brier           float64            `json:"brier"`
	ECE             float64            `json:"ece"`
	Lift            []metrics.LiftRow  `json:"lift"`
	FitSeconds      float64            `json:"fit_seconds"`
	Rows            int                `json:"rows"`
	Features        int                `json:"features"`
	CVAUC           *float64           `json:"cv_auc,omitempty"`
	CVAUCSD         *float64           `json:"cv_auc_sd,omitempty"`
	CVFolds         []float64          `json:"cv_fold_auc,omitempty"`
	Tune            *Tuning            `json:"tune,omitempty"` // the search of --tune and its choice
	Positives       float64            `json:"test_positives"`
	TrainRows       int                `json:"train_rows"`
	CalibrationRows int                `json:"calibration_rows"`
	TestRows        int                `json:"test_rows"`
	DroppedRows     int                `json:"dropped_rows"` // rows without a label
	Label           string             `json:"label"`
	Positive        string             `json:"positive"`
	Calibration     string             `json:"calibration"`
	CalibrationLoss map[string]float64 `json:"calibration_cv_log_loss"`
	Inputs          int                `json:"inputs"`
	// Selection is how --model auto chose (both models' cross-validated AUCs on the
	// fitting rows); absent for an explicit model.
	Selection *Selection `json:"model_selection,omitempty"`
	// CV holds every fold's AUC, PR-AUC, log loss and Brier score and their spread.
	CV *CV `json:"cv,omitempty"`
	// Importance is the global feature importance, most important first.
	Importance []classifier.Importance `json:"importance"`
	// Thresholds are precision, recall and lift of flagging the top 5, 10, 20, 30 and 50%
	// of the test rows.
	Thresholds []metrics.Cutoff `json:"thresholds"`
	// PRCurve is the test rows' precision-recall curve (at most 200 points).
	PRCurve []metrics.PRPoint `json:"pr_curve"`
	// CalibrationBins are the test rows in 10 probability bins: rows, mean prediction,
	// observed rate and its 95% Wilson interval.
	CalibrationBins []CalibrationBin `json:"calibration_bins"`
	// Columns is the column report of a table (train --table): every column's detected
	// type, how it is used and its share missing.
	Columns *table.Report `json:"columns,omitempty"`
	Version string        `json:"model_version,omitempty"`
	Out     string        `json:"out,omitempty"`
	Report  string        `json:"report,omitempty"`
}

// Summarize returns the summary of r.
func (r *Result) Summarize() Summary {
	s := Summary{
		Model: r.Model.Payload.Model, Kind: r.Model.Manifest.Kind,
		AUC: r.Test.AUC, PRAUC: r.Test.PRAUC, LogLoss: r.Test.LogLoss, Brier: r.Test.Brier, ECE: r.Test.ECE,
		Lift: r.Test.Lift, FitSeconds: r.FitSeconds, Rows: r.Rows, Features: r.Features,
		Positives: r.Test.Positives, TrainRows: r.TrainRows, CalibrationRows: r.CalibRows, TestRows: r.TestRows,
		Label: r.Model.Payload.Label, Positive: r.Model.Payload.Positive,
		Calibration: r.Calibration.Method, CalibrationLoss: r.Calibration.Loss,
		Inputs: len(r.Model.Payload.Inputs), Version: r.Model.Manifest.Version, Tune: r.Tune,
		Columns: r.Columns,
	}
	if r.CV != nil {
		m, sd := r.CV.Mean, r.CV.SD
		s.CVAUC, s.CVAUCSD, s.CVFolds = &m, &sd, r.CV.AUC
	}
	s.Selection, s.CV, s.Importance = r.Selection, r.CV, r.Importance
	// The test rows hold both classes (Train refuses them otherwise), so these cannot fail.
	s.Thresholds, _ = metrics.Cutoffs(r.TestY, r.TestP, nil, nil)
	pr, _ := metrics.PRCurve(r.TestY, r.TestP, nil)
	s.PRCurve = metrics.Thin(pr, 200)
	s.CalibrationBins = CalibrationBins(r.TestY, r.TestP)
	return s
}

// CalibrationBin is one bin of a reliability table.
type CalibrationBin struct {
	Lo            float64 `json:"lo"`
	Hi            float64 `json:"hi"`
	Rows          int     `json:"rows"`
	MeanPredicted float64 `json:"mean_predicted"`
	Observed      float64 `json:"observed"`
	ObservedLow   float64 `json:"observed_low"`  // 95% Wilson interval of Observed
	ObservedHigh  float64 `json:"observed_high"` //
}

// CalibrationBins returns the reliability table of probabilities p against labels y over
// 10 equal-width bins, with each observed rate's 95% Wilson interval.
func CalibrationBins(y, p []float64) []CalibrationBin {
	var out []CalibrationBin
	for _, b := range metrics.Reliability(y, p, nil, 10) {
		lo, hi := metrics.Wilson(b.Rate, float64(b.Count), 1.96)
		out = append(out, CalibrationBin{Lo: b.Lo, Hi: b.Hi, Rows: b.Count, MeanPredicted: b.MeanScore,
			Observed: b.Rate, ObservedLow: lo, ObservedHigh: hi})
	}
	return out
}

// TableJob is `propensity train --table`: read a table, pick the label, train, and write
// the artifact with its reports.
type TableJob struct {
	Path  string       // Parquet or CSV table
	Read  ReadOptions  // how to read it
	Label LabelOptions // label, positive value, id and excluded columns
	Train Options      // model options
	// Out is a models directory: the artifact goes to Out/<kind>/ with report.html and
	// report.json. Empty means train and report numbers only, writing nothing.
	Out string
	// ColumnReport receives the column report as text as soon as the table is read (the
	// command passes stderr); nil means nowhere. The report is also in the summary, the
	// HTML report and the artifact.
	ColumnReport io.Writer
}

// Run runs the job and returns the result and its summary.
func (j TableJob) Run(ctx context.Context) (*Result, Summary, error) {
	log := j.Train.Log
	t0 := time.Now()
	ro := j.Read
	ro.Skip = append(append([]string(nil), ro.Skip...), j.Label.Exclude...)
	ro.Keep = append(append([]string(nil), ro.Keep...), j.Label.Label)
	if j.Label.ID != "" {
		ro.Keep = append(ro.Keep, j.Label.ID)
	}
	f, rep, err := ReadTableReport(j.Path, ro)
	if err != nil {
		return nil, Summary{}, err
	}
	if log != nil {
		log.Info("read table", "path", j.Path, "rows", f.Rows(), "columns", len(f.Columns), "seconds", round4(time.Since(t0).Seconds()))
	}
	rep.Column(j.Label.Label).Why = []string{"label"}
	if c := rep.Column(j.Label.ID); c != nil && j.Label.ID != "" {
		c.Why = []string{"id"}
	}
	if j.ColumnReport != nil {
		if err := rep.WriteText(j.ColumnReport); err != nil {
			return nil, Summary{}, err
		}
	}
	lo := j.Label
	lo.Exclude = nil // already left out by the reader
	d, err := ExtractLabel(f, lo)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("%s: %w", j.Path, err)
	}
	res, err := Train(ctx, d, nil, j.Train)
	if err != nil {
		return nil, Summary{}, err
	}
	res.Columns = rep
	s := res.Summarize()
	s.DroppedRows = d.Dropped
	if j.Out == "" {
		return res, s, nil
	}
	dir := filepath.Join(j.Out, res.Model.Manifest.Kind)
	s, err = res.Write(dir, s, "Model trained on "+filepath.Base(j.Path))
	return res, s, err
}

// Write saves the artifact into dir with report.html and report.json, and returns s
// completed with the model version and paths.
func (r *Result) Write(dir string, s Summary, title string) (Summary, error) {
	opts, err := json.Marshal(r.options())
	if err == nil {
		r.Model.Manifest.Options = opts
	}
	man, err := r.Model.Save(dir)
	if err != nil {
		return s, err
	}
	s.Version = man.Version
	s.Out = dir
	s.Report = filepath.Join(dir, ReportHTML)
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, ReportJSON), append(body, '\n'), 0o644); err != nil {
		return s, err
	}
	page, err := r.Page(title, s)
	if err != nil {
		return s, err
	}
	return s, report.WriteHTML(s.Report, page)
}

// options records what shaped the model for the manifest.
func (r *Result) options() map[string]any {
	o := map[string]any{"model": r.Model.Payload.Model, "training": r.Options, "calibration": r.Calibration,
		"label": r.Model.Payload.Label, "positive": r.Model.Payload.Positive,
		"encoded_features": r.Model.Payload.Features, "train_rows": r.TrainRows,
		"calibration_rows": r.CalibRows, "test_rows": r.TestRows}
	if r.Tune != nil {
		o["tune"] = r.Tune
	}
	if r.Columns != nil {
		// score --table reads a table with these decisions, so that it sees what training saw.
		o["columns"] = r.Columns
	}
	if r.Selection != nil {
		o["model_selection"] = r.Selection
	}
	if r.FeatureOptions != nil {
		// The service computes online features with these (product categories, attributes,
		// half-life), so that they match the training table's columns.
		o["features"] = r.FeatureOptions
	}
	return o
}

// maxImportance is the number of features the report's importance chart and table show
// (report.json lists them all).
const maxImportance = 20

// Page builds the HTML report: metrics, model selection, cross-validation per fold,
// feature importance, ROC, precision-recall, gains, lift and calibration plots, the
// threshold and calibration tables.
func (r *Result) Page(title string, s Summary) (report.Page, error) {
	f4 := func(v float64) string { return fmt.Sprintf("%.4f", v) }
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	mt := report.Table{Caption: "Test metrics (calibrated probabilities, held-out rows)",
		Header: []string{"metric", "value"},
		Rows: [][]string{
			{"AUC", f4(s.AUC)}, {"PR-AUC (average precision)", f4(s.PRAUC)}, {"log loss", f4(s.LogLoss)},
			{"Brier score", f4(s.Brier)}, {"ECE (10 equal-width bins)", f4(s.ECE)},
			{"test rows / positives", fmt.Sprintf("%d / %.0f", s.TestRows, s.Positives)},
			{"training rows / calibration rows", fmt.Sprintf("%d / %d", s.TrainRows, s.CalibrationRows)},
			{"inputs / features", fmt.Sprintf("%d / %d", s.Inputs, s.Features)},
			{"fit seconds", fmt.Sprintf("%.3f", s.FitSeconds)},
			{"calibration", s.Calibration},
		}}
	if s.CVAUC != nil {
		mt.Rows = append(mt.Rows, []string{fmt.Sprintf("%d-fold CV AUC (mean ± sd)", len(s.CVFolds)),
			fmt.Sprintf("%.4f ± %.4f", *s.CVAUC, *s.CVAUCSD)})
	}
	sections := []report.Section{{Title: "Metrics", Tables: []report.Table{mt}}}

	if sel := s.Selection; sel != nil {
		t := report.Table{Caption: fmt.Sprintf("Model selection: %d-fold cross-validation on the fitting rows (%.1f s of a %.0f s budget)", sel.Folds, sel.Seconds, sel.BudgetSeconds),
			Header: []string{"model", "folds run", "mean CV AUC", "chosen"}}
		for _, name := range sortedKeys(sel.CVAUC) {
			chosen := ""
			if name == sel.Chosen {
				chosen = "yes"
			}
			t.Rows = append(t.Rows, []string{name, fmt.Sprint(len(sel.FoldMetrics[name])), f4(sel.CVAUC[name]), chosen})
		}
		sections = append(sections, report.Section{Title: "Model selection (--model auto)",
			Text:   "Both models were cross-validated on the fitting rows (never the calibration or test rows); the higher mean AUC wins, logistic on a tie. " + sel.Note,
			Tables: []report.Table{t}})
	}
	if cv := s.CV; cv != nil {
		t := report.Table{Caption: "Cross-validation per fold (the model's own probabilities, before calibration)",
			Header: []string{"fold", "rows", "positives", "AUC", "PR-AUC", "log loss", "Brier"}}
		for _, m := range cv.FoldMetrics {
			t.Rows = append(t.Rows, []string{fmt.Sprint(m.Fold), fmt.Sprint(m.Rows), fmt.Sprint(m.Positives), f4(m.AUC), f4(m.PRAUC), f4(m.LogLoss), f4(m.Brier)})
		}
		for _, st := range []struct {
			name string
			f    func(Spread) float64
		}{{"mean", func(x Spread) float64 { return x.Mean }}, {"sd", func(x Spread) float64 { return x.SD }},
			{"min", func(x Spread) float64 { return x.Min }}, {"max", func(x Spread) float64 { return x.Max }}} {
			t.Rows = append(t.Rows, []string{st.name, "", "", f4(st.f(cv.Spread["auc"])), f4(st.f(cv.Spread["pr_auc"])),
				f4(st.f(cv.Spread["log_loss"])), f4(st.f(cv.Spread["brier"]))})
		}
		sections = append(sections, report.Section{Title: "Cross-validation", Tables: []report.Table{t}})
	}

	var plots []template.HTML
	add := func(h template.HTML, err error) {
		if err == nil {
			plots = append(plots, h)
		}
	}
	fpr, tpr, err := metrics.ROC(r.TestY, r.TestP, nil)
	if err != nil {
		return report.Page{}, err
	}
	roc, err := report.ROC(fpr, tpr, s.AUC)
	if err != nil {
		return report.Page{}, err
	}
	plots = append(plots, roc)
	add(report.PR(s.PRCurve, s.PRAUC, s.Positives/float64(max(s.TestRows, 1))))
	add(report.Gains(s.Lift))
	add(report.Lift(s.Lift))
	add(report.Calibration("Calibration ("+s.Calibration+")", metrics.Reliability(r.TestY, r.TestP, nil, 10)))
	add(report.Calibration("Before calibration", metrics.Reliability(r.TestY, r.TestUncalibrated, nil, 10)))

	imp := report.Table{Header: []string{"feature", "importance"}}
	var names []string
	var values []float64
	measure := "|standardised coefficient| (log-odds per standard deviation)"
	if s.Model == classifier.ModelGBT {
		measure = "mean |SHAP| (log-odds)"
		imp.Header = append(imp.Header, "share of split gain")
	} else {
		imp.Header = append(imp.Header, "coefficient (per standard deviation)")
	}
	imp.Header[1] = measure
	for i, im := range s.Importance {
		if i == maxImportance {
			break
		}
		row := []string{im.Feature, f4(im.Value)}
		if s.Model == classifier.ModelGBT {
			row = append(row, pct(im.GainShare))
		} else {
			row = append(row, fmt.Sprintf("%+.4f", im.Standardized))
		}
		imp.Rows = append(imp.Rows, row)
		names = append(names, im.Feature)
		v := im.Value
		if s.Model != classifier.ModelGBT {
			v = im.Standardized // signed: grey bars lower the probability
		}
		values = append(values, v)
	}
	imp.Caption = fmt.Sprintf("Global feature importance on the fitting rows (top %d of %d; all in %s)", len(imp.Rows), len(s.Importance), ReportJSON)
	var impPlots []template.HTML
	if h, err := report.HBar("Feature importance", measure, names, values, nil); err == nil {
		impPlots = append(impPlots, h)
	}

	th := report.Table{Caption: "Threshold table: flag the top share of the test rows by probability",
		Header: []string{"top", "rows flagged", "probability ≥", "positives", "precision", "recall", "lift"}}
	for _, c := range s.Thresholds {
		th.Rows = append(th.Rows, []string{pct(c.Share), fmt.Sprint(c.Rows), f4(c.Threshold), fmt.Sprintf("%.0f", c.Positives), pct(c.Precision), pct(c.Recall), fmt.Sprintf("%.2f", c.Lift)})
	}
	cal := report.Table{Caption: "Calibration on the test rows (95% Wilson interval of the observed rate)",
		Header: []string{"probability", "rows", "mean predicted", "observed", "95% interval"}}
	for _, b := range s.CalibrationBins {
		cal.Rows = append(cal.Rows, []string{fmt.Sprintf("[%.1f, %.1f)", b.Lo, b.Hi), fmt.Sprint(b.Rows), f4(b.MeanPredicted), f4(b.Observed),
			fmt.Sprintf("%.4f – %.4f", b.ObservedLow, b.ObservedHigh)})
	}
	var calRows [][]string
	for _, m := range sortedKeys(s.CalibrationLoss) {
		calRows = append(calRows, []string{m, f4(s.CalibrationLoss[m])})
	}
	var colSection []report.Section
	if s.Columns != nil {
		colSection = append(colSection, report.Section{Title: "Columns",
			Text:   columnsText(s.Columns),
			Tables: []report.Table{{Header: []string{"column", "type", "use", "missing", "notes"}, Rows: s.Columns.TableRows()}}})
	}
	sub := fmt.Sprintf("%s model · kind %s · label %s = %q · %s", s.Model, s.Kind, s.Label, s.Positive, time.Now().UTC().Format(time.RFC3339))
	sections = append(sections,
		report.Section{Title: "Feature importance", Tables: []report.Table{imp}, Plots: impPlots},
		report.Section{Title: "Plots", Plots: plots},
		report.Section{Title: "Thresholds", Tables: []report.Table{th}},
		report.Section{Title: "Lift", Tables: []report.Table{report.LiftTable(s.Lift)}},
		report.Section{Title: "Calibration", Tables: []report.Table{cal}},
		report.Section{Title: "Calibration choice", Text: "Platt scaling and isotonic regression were compared by 5-fold cross-validated log loss on the calibration rows; the lower wins.",
			Tables: []report.Table{{Header: []string{"method", "CV log loss"}, Rows: calRows}}},
	)
	return report.Page{Title: title, Subtitle: sub, Sections: append(colSection, sections...)}, nil
}

// columnsText is the line above the column report of the HTML page.
func columnsText(r *table.Report) string {
	s := fmt.Sprintf("How each column of %s (%d rows) was read and used.", r.File, r.Rows)
	if r.Reference != "" {
		s += " Dates count days before " + r.Reference + "."
	}
	return s
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
