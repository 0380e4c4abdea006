package report

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"strings"

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

// SVG renders p as an inline SVG element (no XML prolog), ready to embed in HTML.
func SVG(p *plot.Plot) (template.HTML, error) {
	wt, err := p.WriterTo(Width, Height, "svg")
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return template.HTML(s), nil // produced by gonum/plot's SVG canvas, not user text
}

func newPlot(title, x, y string) *plot.Plot {
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
	d, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
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
	p := newPlot(title, xlabel, ylabel)
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
	p.Legend.Top = true
	return SVG(p)
}

// Scatter draws series as points.
func Scatter(title, xlabel, ylabel string, series ...Series) (template.HTML, error) {
	p := newPlot(title, xlabel, ylabel)
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

// Bar draws one bar per label.
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
	p := newPlot(title, xlabel, ylabel)
	b, err := plotter.NewBarChart(v, vg.Points(math.Max(4, 240/float64(len(v)))))
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

// ROC draws a ROC curve with the chance diagonal.
func ROC(fpr, tpr []float64, auc float64) (template.HTML, error) {
	pts, err := finitePoints(fpr, tpr)
	if err != nil {
		return "", err
	}
	p := newPlot(fmt.Sprintf("ROC curve (AUC %.3f)", auc), "false positive rate", "true positive rate")
	l, err := plotter.NewLine(pts)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	l.Color = palette[0]
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add("model", l)
	if err := diagonal(p, "chance"); err != nil {
		return "", err
	}
	p.Legend.Left, p.Legend.Top = false, false
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
	p := newPlot("Cumulative gains", "share contacted (highest scores first)", "share of positives captured")
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
	p.Legend.Left, p.Legend.Top = false, false
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
// per bin, with the diagonal of perfect calibration. An empty title means "Calibration".
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
	p := newPlot(title, "mean predicted probability", "observed rate")
	l, lp, err := plotter.NewLinePoints(pts)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	l.Color, lp.Color = palette[1], palette[1]
	p.Add(l, lp)
	p.Legend.Add("model", l)
	if err := diagonal(p, "perfect"); err != nil {
		return "", err
	}
	p.Legend.Left, p.Legend.Top = true, true
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return SVG(p)
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
