package personas

import (
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/training/report"
)

// maxScatter bounds the points drawn in the projection.
const maxScatter = 3000

// WriteReport writes a self-contained HTML report: a summary, persona sizes, a 2-D PCA
// projection of the contacts coloured by persona, and one card per persona with a bar chart
// of its distinguishing features. Plots are inline SVG drawn with gonum.org/v1/plot.
func (o *Output) WriteReport(w io.Writer) error {
	sizes, err := o.sizePlot()
	if err != nil {
		return err
	}
	scatter, err := o.pcaPlot()
	if err != nil {
		return err
	}
	type card struct {
		P     persona.Profile
		Color string
		Chart template.HTML
	}
	var cards []card
	for j, p := range o.Model.Personas {
		chart, err := traitPlot(p, plotutil.Color(j))
		if err != nil {
			return err
		}
		cards = append(cards, card{P: p, Color: cssColor(plotutil.Color(j)), Chart: chart})
	}
	data := map[string]any{
		"Catalog": o.Catalog(),
		"Sizes":   sizes,
		"Scatter": scatter,
		"Cards":   cards,
		"Columns": o.TableColumns,
	}
	t, err := template.New("report").Funcs(template.FuncMap{
		"num":       func(v float64) string { return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".") },
		"pct":       func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
		"traitName": traitName,
	}).Parse(reportTemplate)
	if err != nil {
		return err
	}
	return t.Execute(w, data)
}

func cssColor(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

// svg renders p as inline SVG markup, its legend outside the data (report.Figure).
func svg(p *plot.Plot, w, h vg.Length) (template.HTML, error) { return report.Figure(p, w, h) }

// labelWidth is the widest tick label of names on p's y axis.
func labelWidth(p *plot.Plot, names []string) vg.Length {
	w := vg.Length(0)
	for _, n := range names {
		w = max(w, p.Y.Tick.Label.Width(n))
	}
	return w
}

func (o *Output) sizePlot() (template.HTML, error) {
	p := report.NewPlotNoGrid("Contacts per persona", "contacts", "")
	var names []string
	for j, pr := range o.Model.Personas {
		v := plotter.Values{}
		for i := range o.Model.Personas {
			if i == j {
				v = append(v, float64(pr.Size))
			} else {
				v = append(v, 0)
			}
		}
		b, err := plotter.NewBarChart(v, vg.Points(18))
		if err != nil {
			return "", err
		}
		b.Horizontal = true
		b.Color = plotutil.Color(j)
		b.LineStyle.Width = 0
		p.Add(b)
		names = append(names, pr.Name)
	}
	p.NominalY(names...)
	p.X.Min = 0
	return svg(p, max(7*vg.Inch, labelWidth(p, names)+4*vg.Inch), vg.Length(0.45*float64(len(names))+1.2)*vg.Inch)
}

// pcaPlot projects a sample of the encoded rows on their first two principal components.
func (o *Output) pcaPlot() (template.HTML, error) {
	dim := o.Model.Transform.Dim()
	n := len(o.Labels)
	rows := kmeans.SampleRows(n, maxScatter, rand.NewPCG(7, 7))
	p := report.NewPlot("Contacts on the first two principal components", "PC 1", "PC 2")
	proj := make([][2]float64, len(rows))
	var varExpl [2]float64
	if dim >= 2 && len(rows) > 2 {
		a := mat.NewDense(len(rows), dim, kmeans.Rows(o.X, dim, rows))
		var pc stat.PC
		if !pc.PrincipalComponents(a, nil) {
			return "", fmt.Errorf("personas: PCA of the report failed")
		}
		var vecs mat.Dense
		pc.VectorsTo(&vecs)
		vars := pc.VarsTo(nil)
		tot := 0.0
		for _, v := range vars {
			tot += v
		}
		if tot > 0 {
			varExpl = [2]float64{vars[0] / tot, vars[1] / tot}
		}
		var out mat.Dense
		out.Mul(a, vecs.Slice(0, dim, 0, 2))
		for i := range proj {
			proj[i] = [2]float64{out.At(i, 0), out.At(i, 1)}
		}
		p.X.Label.Text = fmt.Sprintf("PC 1 (%.0f%% of variance)", 100*varExpl[0])
		p.Y.Label.Text = fmt.Sprintf("PC 2 (%.0f%% of variance)", 100*varExpl[1])
	} else {
		for i, r := range rows {
			proj[i] = [2]float64{o.X[r*dim], 0}
		}
	}
	for j, pr := range o.Model.Personas {
		var xy plotter.XYs
		for i, r := range rows {
			if o.Labels[r] == j {
				xy = append(xy, plotter.XY{X: proj[i][0], Y: proj[i][1]})
			}
		}
		if len(xy) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return "", err
		}
		s.GlyphStyle.Color = plotutil.Color(j)
		s.GlyphStyle.Radius = vg.Points(2)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(pr.Name, s)
	}
	return svg(p, 8*vg.Inch, 6*vg.Inch)
}

// traitPlot draws a persona's distinguishing features as horizontal bars of z-scores.
func traitPlot(pr persona.Profile, c color.Color) (template.HTML, error) {
	p := report.NewPlot("", "standard deviations from the population mean", "")
	var names []string
	n := len(pr.Traits)
	for i := range n {
		t := pr.Traits[n-1-i] // largest at the top
		v := make(plotter.Values, n)
		v[i] = t.Z
		b, err := plotter.NewBarChart(v, vg.Points(14))
		if err != nil {
			return "", err
		}
		b.Horizontal = true
		b.LineStyle.Width = 0
		if t.Z < 0 {
			b.Color = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
		} else {
			b.Color = c
		}
		p.Add(b)
		names = append(names, traitName(t))
	}
	p.NominalY(names...)
	lim := 0.5
	for _, t := range pr.Traits {
		lim = math.Max(lim, math.Abs(t.Z))
	}
	p.X.Min, p.X.Max = -lim*1.1, lim*1.1
	return svg(p, max(5.2*vg.Inch, labelWidth(p, names)+3*vg.Inch), vg.Length(0.3*float64(n)+1)*vg.Inch)
}

// traitName is a trait's label in plain words, or its feature for a model saved before
// labels existed.
func traitName(t persona.Trait) string {
	if t.Label != "" {
		return t.Label
	}
	return t.Feature
}

const reportTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Personas</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1150px}
h1{margin:0 0 4px} .sub{color:#666;margin-bottom:16px}
.kpis{display:flex;gap:16px;margin:12px 0 20px}
.kpi{background:#f4f6f8;border-radius:8px;padding:10px 16px} .kpi b{display:block;font-size:22px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
.card{border:1px solid #ddd;border-radius:10px;padding:12px 16px;border-top:6px solid var(--c)}
.card h3{margin:4px 0} .card p{font-size:13px;color:#444}
table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
svg{max-width:100%;height:auto}
.notes{font-size:12px;color:#666}
.warn{background:#fff4e5;border-left:4px solid #e8a33d;padding:8px 12px;margin:12px 0}
</style></head><body>
<h1>Personas</h1>
<div class="sub">{{.Catalog.Rows}} contacts, {{len .Catalog.Columns}} columns ({{len .Catalog.Dimensions}} encoded dimensions)</div>
<div class="kpis">
<div class="kpi"><b>{{.Catalog.K}}</b>personas</div>
<div class="kpi"><b>{{num .Catalog.Silhouette}}</b>silhouette</div>
<div class="kpi"><b>{{num .Catalog.Stability}}</b>stability (bootstrap ARI)</div>
</div>
{{if .Catalog.Warnings}}<div class="warn" id="warnings"><b>Warnings</b><ul>{{range .Catalog.Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<h2>Sizes</h2>
<div class="plot" id="sizes">{{.Sizes}}</div>
<h2>Projection</h2>
<div class="plot" id="pca">{{.Scatter}}</div>
<h2>Personas</h2>
<div class="cards">
{{range .Cards}}<div class="card" style="--c:{{.Color}}">
<h3>{{.P.ID}} · {{.P.Name}}</h3>
<p>{{.P.Description}}</p>
{{.Chart}}
<table><tr><th>trait</th><th>persona</th><th>everyone</th><th>z</th></tr>
{{range .P.Traits}}<tr><td title="{{.Feature}}">{{traitName .}}</td><td>{{num .Value}}</td><td>{{num .Population}}</td><td>{{num .Z}}</td></tr>{{end}}
</table>
{{if or .P.Value .P.Risk}}<table><tr><th>value / risk</th><th>persona</th><th>everyone</th></tr>
{{range .P.Value}}<tr><td>{{.Column}}</td><td>{{num .Mean}}</td><td>{{num .Population}}</td></tr>{{end}}
{{range .P.Risk}}<tr><td>{{.Column}}</td><td>{{num .Mean}}</td><td>{{num .Population}}</td></tr>{{end}}
</table>{{end}}
</div>
{{end}}</div>
{{if .Catalog.Segments}}<h2>Segments</h2>
<table><tr><th>segment</th><th>rule</th><th>contacts</th></tr>
{{range .Catalog.Segments}}<tr><td>{{.Name}}</td><td><code>{{.Rule}}</code></td><td>{{.Size}}</td></tr>{{end}}
</table>{{end}}
{{if .Catalog.Choice}}<h2>Choice of k</h2>
<table><tr><th>k</th><th>silhouette</th><th>BIC</th><th>inertia (sample)</th></tr>
{{range .Catalog.Choice.Candidates}}<tr><td>{{.K}}</td><td>{{num .Silhouette}}</td><td>{{num .BIC}}</td><td>{{num .Inertia}}</td></tr>{{end}}
</table>{{end}}
{{if .Catalog.Notes}}<h2>Notes</h2><ul class="notes">{{range .Catalog.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Columns}}<h2>Columns of {{.File}}</h2>
<table><tr><th>column</th><th>type</th><th>use</th><th>missing</th><th>notes</th></tr>
{{range .TableRows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}
</table>{{end}}
</body></html>
`
