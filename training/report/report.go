package report

import (
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/models/metrics"
)

// Size of every plot, in points.
var (
	Width  = 5 * vg.Inch
	Height = 3.6 * vg.Inch
)

// ErrNoData is returned when a plot has nothing to draw.
var ErrNoData = errors.New("report: no data to plot")

// Palette of series colours (Okabe & Ito 2008, readable with colour-vision deficiencies).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

// Series is one named line or set of points.
type Series struct {
	Name string
	X, Y []float64
}

// Section is one part of a page: a heading, optional text, tables and plots.
type Section struct {
	Title  string
	Text   string
	Tables []Table
	Plots  []template.HTML // inline SVG from the plot functions
}

// Table is a simple table of text cells.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// Page is a whole report.
type Page struct {
	Title    string
	Subtitle string
	Sections []Section
}

// SVG renders p as an inline SVG element of the default size (Width × Height), with its
// legend outside the data area (Figure).
func SVG(p *plot.Plot) (template.HTML, error) { return Figure(p, Width, Height) }

func newFramePlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	return p
}

func finitePoints(x, y []float64) (plotter.XYs, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("report: %d x values and %d y values", len(x), len(y))
	}
	pts := make(plotter.XYs, 0, len(x))
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
	}
	if len(pts) == 0 {
		return nil, ErrNoData
	}
	return pts, nil
}

func diagonal(p *plot.Plot, name string) error {
	return reference(p, name, plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
}

// reference draws a dashed grey reference line (chance, perfect calibration, base rate).
func reference(p *plot.Plot, name string, pts plotter.XYs) error {
	d, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	d.Color = color.Gray{Y: 150}
	d.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(d)
	if name != "" {
		p.Legend.Add(name, d)
	}
	return nil
}

// Line draws series as lines.
func Line(title, xlabel, ylabel string, series ...Series) (template.HTML, error) {
	p := NewPlot(title, xlabel, ylabel)
	for i, s := range series {
		pts, err := finitePoints(s.X, s.Y)
		if err != nil {
			return "", err
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	return SVG(p)
}

// Scatter draws series as points.
func Scatter(title, xlabel, ylabel string, series ...Series) (template.HTML, error) {
	p := NewPlot(title, xlabel, ylabel)
	for i, s := range series {
		pts, err := finitePoints(s.X, s.Y)
		if err != nil {
			return "", err
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		sc.GlyphStyle.Color = palette[i%len(palette)]
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		sc.GlyphStyle.Radius = vg.Points(1.5)
		p.Add(sc)
		if s.Name != "" {
			p.Legend.Add(s.Name, sc)
		}
	}
	return SVG(p)
}

// Bar draws one bar per label. When the labels would not fit side by side under the bars,
// the bars are drawn horizontally with the labels on the left, one per line, so no tick
// label collides with another.
func Bar(title, xlabel, ylabel string, labels []string, values []float64) (template.HTML, error) {
	if len(labels) != len(values) {
		return "", fmt.Errorf("report: %d labels and %d values", len(labels), len(values))
	}
	if len(values) == 0 {
		return "", ErrNoData
	}
	v := make(plotter.Values, len(values))
	for i, x := range values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = 0
		}
		v[i] = x
	}
	p := NewPlot(title, xlabel, ylabel)
	widest := vg.Length(0)
	for _, l := range labels {
		widest = max(widest, p.X.Tick.Label.Width(l))
	}
	slot := (Width - 80) / vg.Length(len(v))
	if widest+6 <= slot {
		b, err := plotter.NewBarChart(v, min(slot*0.7, vg.Points(40)))
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		b.Color = palette[0]
		b.LineStyle.Width = 0
		p.Add(b)
		p.Y.Min = math.Min(0, p.Y.Min)
		p.NominalX(labels...)
		return SVG(p)
	}
	// Horizontal: the first label at the top, as in a table.
	rev := make(plotter.Values, len(v))
	names := make([]string, len(v))
	for i := range v {
		rev[i] = v[len(v)-1-i]
		names[i] = labels[len(v)-1-i]
	}
	p.X.Label.Text, p.Y.Label.Text = ylabel, xlabel
	b, err := plotter.NewBarChart(rev, vg.Points(11))
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	b.Horizontal = true
	b.Color = palette[0]
	b.LineStyle.Width = 0
	p.Add(b)
	p.X.Min = math.Min(0, p.X.Min)
	p.NominalY(names...)
	return Figure(p, Width, max(Height, vg.Points(16*float64(len(v))+90)))
}

// HBar draws one horizontal bar per label, the first at the top, sized so every label has
// its own line; negative values are drawn in grey.
func HBar(title, xlabel string, labels []string, values []float64, c color.Color) (template.HTML, error) {
	if len(labels) != len(values) {
		return "", fmt.Errorf("report: %d labels and %d values", len(labels), len(values))
	}
	if len(values) == 0 {
		return "", ErrNoData
	}
	if c == nil {
		c = palette[0]
	}
	p := NewPlot(title, xlabel, "")
	n := len(values)
	lim := 0.0
	for i := range n {
		x := values[n-1-i]
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = 0
		}
		lim = math.Max(lim, math.Abs(x))
		v := make(plotter.Values, n)
		v[i] = x
		b, err := plotter.NewBarChart(v, vg.Points(11))
		if err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		b.Horizontal = true
		b.LineStyle.Width = 0
		b.Color = c
		if x < 0 {
			b.Color = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
		}
		p.Add(b)
	}
	names := make([]string, n)
	for i := range n {
		names[i] = labels[n-1-i]
	}
	p.NominalY(names...)
	p.X.Min = math.Min(0, p.X.Min)
	widest := vg.Length(0)
	for _, l := range labels {
		widest = max(widest, p.Y.Tick.Label.Width(l))
	}
	return Figure(p, max(Width, widest+3*vg.Inch), vg.Points(16*float64(n)+80))
}

// ROC draws a ROC curve with the chance diagonal.
func ROC(fpr, tpr []float64, auc float64) (template.HTML, error) {
	return unitCurve(fmt.Sprintf("ROC curve (AUC %.3f)", auc), "false positive rate", "true positive rate",
		fpr, tpr, "chance", plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
}

// PR draws a precision-recall curve with the base rate (a random ranking) as reference.
func PR(curve []metrics.PRPoint, ap, baseRate float64) (template.HTML, error) {
	x := make([]float64, len(curve))
	y := make([]float64, len(curve))
	for i, c := range curve {
		x[i], y[i] = c.Recall, c.Precision
	}
	return unitCurve(fmt.Sprintf("Precision-recall (PR-AUC %.3f)", ap), "recall", "precision",
		x, y, fmt.Sprintf("random (base rate %.3f)", baseRate), plotter.XYs{{X: 0, Y: baseRate}, {X: 1, Y: baseRate}})
}

// unitCurve draws the model's curve (x, y) on the unit square with a dashed reference line.
func unitCurve(title, xlabel, ylabel string, x, y []float64, refName string, ref plotter.XYs) (template.HTML, error) {
	pts, err := finitePoints(x, y)
	if err != nil {
		return "", err
	}
	p := NewPlot(title, xlabel, ylabel)
	l, err := plotter.NewLine(pts)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	l.Color = palette[0]
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add("model", l)
	if err := reference(p, refName, ref); err != nil {
		return "", err
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return SVG(p)
}

// Gains draws the cumulative gains curve of a lift table: the share of positives captured
// against the share of people contacted, highest scores first.
func Gains(lift []metrics.LiftRow) (template.HTML, error) {
	if len(lift) == 0 {
		return "", ErrNoData
	}
	total := 0
	for _, r := range lift {
		total += r.Rows
	}
	x, y := []float64{0}, []float64{0}
	cum := 0
	for _, r := range lift {
		cum += r.Rows
		x = append(x, float64(cum)/float64(total))
		y = append(y, r.Gain)
	}
	p := NewPlot("Cumulative gains", "share contacted (highest scores first)", "share of positives captured")
	pts, err := finitePoints(x, y)
	if err != nil {
		return "", err
	}
	l, lp, err := plotter.NewLinePoints(pts)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	l.Color, lp.Color = palette[0], palette[0]
	p.Add(l, lp)
	p.Legend.Add("model", l)
	if err := diagonal(p, "random"); err != nil {
		return "", err
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return SVG(p)
}

// Lift draws the lift of each group of a lift table as bars.
func Lift(lift []metrics.LiftRow) (template.HTML, error) {
	labels := make([]string, len(lift))
	values := make([]float64, len(lift))
	for i, r := range lift {
		labels[i] = fmt.Sprint(r.Decile)
		values[i] = r.Lift
	}
	return Bar("Lift by decile", "decile (1 = highest scores)", "lift (rate / overall rate)", labels, values)
}

// Calibration draws a reliability diagram: observed rate against mean predicted probability
// per bin, with the diagonal of perfect calibration, each bin's 95% Wilson interval as an
// error bar and its row count next to the point, so a bin of a handful of rows reads as
// such. An empty title means "Calibration".
func Calibration(title string, bins []metrics.Bin) (template.HTML, error) {
	if title == "" {
		title = "Calibration"
	}
	x := make([]float64, len(bins))
	y := make([]float64, len(bins))
	for i, b := range bins {
		x[i], y[i] = b.MeanScore, b.Rate
	}
	pts, err := finitePoints(x, y)
	if err != nil {
		return "", err
	}
	p := NewPlot(title, "mean predicted probability", "observed rate (95% Wilson interval; n = rows)")
	l, lp, err := plotter.NewLinePoints(pts)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	l.Color, lp.Color = palette[1], palette[1]
	p.Add(l, lp)
	p.Legend.Add("model", l)
	var eb errorPoints
	var lab plotter.XYLabels
	for _, b := range bins {
		if math.IsNaN(b.MeanScore) || math.IsNaN(b.Rate) {
			continue
		}
		lo, hi := metrics.Wilson(b.Rate, float64(b.Count), 1.96)
		eb.XYs = append(eb.XYs, plotter.XY{X: b.MeanScore, Y: b.Rate})
		eb.YErrors = append(eb.YErrors, struct{ Low, High float64 }{b.Rate - lo, hi - b.Rate})
		lab.XYs = append(lab.XYs, plotter.XY{X: b.MeanScore, Y: b.Rate})
		lab.Labels = append(lab.Labels, fmt.Sprintf("n=%d", b.Count))
	}
	if bars, err := plotter.NewYErrorBars(eb); err == nil {
		bars.Color = palette[1]
		p.Add(bars)
	}
	if labels, err := plotter.NewLabels(lab); err == nil {
		for i := range labels.TextStyle {
			labels.TextStyle[i].Font.Size = vg.Points(7)
			labels.TextStyle[i].Color = color.Gray{Y: 90}
		}
		labels.Offset = vg.Point{X: vg.Points(3), Y: vg.Points(-9)}
		p.Add(labels)
	}
	if err := diagonal(p, "perfect"); err != nil {
		return "", err
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return SVG(p)
}

// errorPoints are points with asymmetric vertical errors, for plotter.NewYErrorBars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// LiftTable formats a lift table for a page.
func LiftTable(lift []metrics.LiftRow) Table {
	t := Table{Caption: "Lift by decile (1 = highest scores)",
		Header: []string{"decile", "rows", "mean score", "positives", "rate", "lift", "cumulative lift", "gain"}}
	for _, r := range lift {
		t.Rows = append(t.Rows, []string{fmt.Sprint(r.Decile), fmt.Sprint(r.Rows), fmt.Sprintf("%.4f", r.MeanScore),
			fmt.Sprintf("%.0f", r.Positives), fmt.Sprintf("%.4f", r.Rate), fmt.Sprintf("%.2f", r.Lift),
			fmt.Sprintf("%.2f", r.CumulativeLift), fmt.Sprintf("%.3f", r.Gain)})
	}
	return t
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} .sub{color:#666;margin-top:0}
section{margin:2em 0} table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right} th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left} caption{text-align:left;font-weight:600;padding:.3em 0}
.plots{display:flex;flex-wrap:wrap;gap:1em} .plots svg{max-width:100%;height:auto;border:1px solid #eee}
p.text{white-space:pre-wrap}
</style></head><body>
<h1>{{.Title}}</h1>{{with .Subtitle}}<p class="sub">{{.}}</p>{{end}}
{{range .Sections}}<section><h2>{{.Title}}</h2>{{with .Text}}<p class="text">{{.}}</p>{{end}}
{{range .Tables}}<table>{{with .Caption}}<caption>{{.}}</caption>{{end}}
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{with .Plots}}<div class="plots">{{range .}}{{.}}{{end}}</div>{{end}}
</section>{{end}}
</body></html>
`))

// Render writes page as one self-contained HTML document.
func Render(w io.Writer, page Page) error {
	return pageTemplate.Execute(w, page)
}

// WriteHTML writes page to path atomically.
func WriteHTML(path string, page Page) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error { return Render(w, page) })
}
