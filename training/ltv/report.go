package ltv

import (
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/propensity-dev/propensity/training/report"
)

// svg renders p as an inline SVG element, its legend outside the data (report.Figure).
func svg(p *plot.Plot, w, h vg.Length) (template.HTML, error) { return report.Figure(p, w, h) }

var (
	colActual   = color.RGBA{R: 30, G: 30, B: 30, A: 255}
	colModel    = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colBaseline = color.RGBA{R: 214, G: 100, B: 30, A: 255}
)

func line(p *plot.Plot, name string, xy plotter.XYs, c color.Color, dashed bool) error {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// frequencyPlot draws mean holdout purchases by calibration frequency: actual, BG/NBD and
// the naive baseline.
func (r *Result) frequencyPlot() (template.HTML, error) {
	p := report.NewPlot("Holdout purchases by calibration frequency",
		fmt.Sprintf("repeat purchases in calibration (%d = %d+)", maxFrequencyRow, maxFrequencyRow),
		"mean repeat purchases in holdout")
	var act, mod, base plotter.XYs
	for _, row := range r.Holdout.ByFrequency {
		if row.Customers == 0 {
			continue
		}
		x := float64(row.X)
		act = append(act, plotter.XY{X: x, Y: row.Actual})
		mod = append(mod, plotter.XY{X: x, Y: row.Predicted})
		base = append(base, plotter.XY{X: x, Y: row.Baseline})
	}
	for _, s := range []struct {
		n  string
		xy plotter.XYs
		c  color.Color
		d  bool
	}{{"actual", act, colActual, false}, {"BG/NBD", mod, colModel, false}, {"baseline x/T", base, colBaseline, true}} {
		if err := line(p, s.n, s.xy, s.c, s.d); err != nil {
			return "", err
		}
	}
	return svg(p, 16*vg.Centimeter, 10*vg.Centimeter)
}

// trackingEnd is the last day of the tracking plot: the holdout end, but never after both
// the calibration end and the data's last purchase. Past them the actual curve is flat, and
// E[X(t)] over lags of centuries cost minutes (a holdout end far past the data is only
// warned about; a calibration end far past it is refused by checkDates).
func trackingEnd(s *Summaries, calEnd, holdEnd int64) int64 {
	return min(max(holdEnd, calEnd), max(calEnd, s.LastDay))
}

// trackingPlot draws cumulative repeat purchases, actual against the model's expectation
// Σ_cohorts n_d · E[X((t − d)/period)] over cohorts d of first-purchase day (Fader, Hardie &
// Lee 2005, figure 2).
func (r *Result) trackingPlot(calEnd, holdEnd int64) (template.HTML, error) {
	s := r.Summaries
	cohort := map[int64]float64{}
	for _, f := range s.First {
		cohort[f]++
	}
	start := slices.Min(s.First)
	end := trackingEnd(s, calEnd, holdEnd)
	step := int64(math.Max(1, math.Round(s.Period.Days())))
	for (end-start)/step > 150 {
		step *= 2
	}
	// E[X(lag)] for every lag in days that the grid needs, computed once per lag.
	ex := map[int64]float64{}
	repeat := slices.Clone(s.RepeatDays)
	slices.Sort(repeat)
	var act, mod plotter.XYs
	j := 0
	for g := start; ; g += step {
		g = min(g, end)
		var e float64
		for d, n := range cohort {
			if d >= g {
				continue
			}
			lag := g - d
			v, ok := ex[lag]
			if !ok {
				v = r.Model.BGNBD.ExpectedPurchases(float64(lag) / s.Period.Days())
				ex[lag] = v
			}
			e += n * v
		}
		for j < len(repeat) && repeat[j] <= g {
			j++
		}
		x := float64(g-start) / s.Period.Days()
		act = append(act, plotter.XY{X: x, Y: float64(j)})
		mod = append(mod, plotter.XY{X: x, Y: e})
		if g == end {
			break
		}
	}
	// Repeat purchases are counted as days with a purchase after the first one (several
	// orders on one day are one repeat purchase, as in the model's frequency x).
	p := report.NewPlot("Cumulative repeat purchases",
		fmt.Sprintf("%ss since the first purchase in the data", s.Period),
		"cumulative repeat purchases (days with a purchase)")
	if err := line(p, "actual", act, colActual, false); err != nil {
		return "", err
	}
	if err := line(p, "BG/NBD", mod, colModel, true); err != nil {
		return "", err
	}
	cal := float64(calEnd-start) / s.Period.Days()
	if vl, err := plotter.NewLine(plotter.XYs{{X: cal, Y: 0}, {X: cal, Y: math.Max(1, act[len(act)-1].Y)}}); err == nil {
		vl.Color = color.Gray{Y: 150}
		vl.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(vl)
		p.Legend.Add("calibration end", vl)
	}
	return svg(p, 16*vg.Centimeter, 10*vg.Centimeter)
}

// aliveGrid is P(alive) over frequency × recency for a customer of age T.
type aliveGrid struct {
	xs, txs []float64
	z       [][]float64 // [row = tx][col = x]
}

func (g aliveGrid) Dims() (c, r int)   { return len(g.xs), len(g.txs) }
func (g aliveGrid) Z(c, r int) float64 { return g.z[r][c] }
func (g aliveGrid) X(c int) float64    { return g.xs[c] }
func (g aliveGrid) Y(r int) float64    { return g.txs[r] }

func (r *Result) aliveMatrix() (template.HTML, float64, error) {
	s := r.Summaries
	T := slices.Max(s.T)
	xs := slices.Clone(s.X)
	slices.Sort(xs)
	maxX := math.Max(1, math.Min(xs[int(0.99*float64(len(xs)-1))], 60))
	g := aliveGrid{}
	for x := 0.0; x <= maxX; x++ {
		g.xs = append(g.xs, x)
	}
	const rows = 40
	for k := range rows {
		g.txs = append(g.txs, T*float64(k)/float64(rows-1))
	}
	g.z = make([][]float64, rows)
	for k, tx := range g.txs {
		g.z[k] = make([]float64, len(g.xs))
		for c, x := range g.xs {
			t := tx
			if x == 0 {
				t = 0
			}
			g.z[k][c] = r.Model.BGNBD.PAlive(x, t, T)
		}
	}
	p := report.NewPlotNoGrid(fmt.Sprintf("P(alive), customer first seen %.1f %ss before the calibration end", T, s.Period),
		"repeat purchases", fmt.Sprintf("%ss from first to last purchase", s.Period))
	pal := palette.Heat(20, 1)
	hm := plotter.NewHeatMap(g, pal)
	hm.Min, hm.Max = 0, 1
	p.Add(hm)
	// The colour bar: P(alive) from 0 (red, likely gone) to 1 (white, likely alive).
	scale := report.NewPlotNoGrid("", "", "P(alive)")
	cb := &plotter.ColorBar{ColorMap: &report.Steps{Colors: pal.Colors(), Lo: 0, Hi: 1}, Vertical: true, Colors: len(pal.Colors())}
	scale.Add(cb)
	scale.HideX()
	scale.Y.Min, scale.Y.Max = 0, 1
	return mustSVG(report.FigureWithScale(p, scale, 16*vg.Centimeter, 12*vg.Centimeter, 2.2*vg.Centimeter)), T, nil
}

func mustSVG(h template.HTML, err error) template.HTML {
	if err != nil {
		return template.HTML(template.HTMLEscapeString("plot failed: " + err.Error()))
	}
	return h
}

var reportTmpl = template.Must(template.New("r").Funcs(template.FuncMap{
	"f": func(v float64) string {
		if math.Abs(v) >= 1000 {
			return fmt.Sprintf("%.1f", v)
		}
		return fmt.Sprintf("%.4g", v)
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>propensity ltv report</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}figure{margin:1em 0}
.warn{background:#fff4e5;border-left:4px solid #e8a33d;padding:.5em 1em;margin:1em 0}</style></head><body>
<h1>Customer lifetime value</h1>
<p>{{.R.Customers}} customers from {{.R.Transactions}} transactions ({{.R.SkippedRows}} rows skipped;
{{.R.AfterCalibrationOnly}} customers first bought after the calibration end and are not modelled).
Calibration ends {{.R.CalibrationEnd}} (inclusive){{if .R.HoldoutEnd}}, holdout to {{.R.HoldoutEnd}}{{end}};
time unit: {{.R.Period}} ({{.R.PeriodDays}} days). Model version {{.R.ModelVersion}}.</p>
{{if .R.Warnings}}<div class="warn" id="warnings"><b>Warnings</b><ul>{{range .R.Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<h2>Models</h2>
<table><tr><th>BG/NBD</th><th>r</th><th>α</th><th>a</th><th>b</th><th>log-likelihood</th></tr>
<tr><td>estimate</td><td>{{f .R.BGNBD.R}}</td><td>{{f .R.BGNBD.Alpha}}</td><td>{{f .R.BGNBD.A}}</td><td>{{f .R.BGNBD.B}}</td><td>{{f .R.BGNBD.LogLikelihood}}</td></tr>
{{with .R.BGNBD.StdErrors}}<tr><td>std. error</td><td>{{f .R}}</td><td>{{f .Alpha}}</td><td>{{f .A}}</td><td>{{f .B}}</td><td></td></tr>{{end}}
</table>
<table><tr><th>Gamma-Gamma</th><th>p</th><th>q</th><th>γ</th><th>log-likelihood</th></tr>
<tr><td>estimate</td><td>{{f .R.GammaGamma.P}}</td><td>{{f .R.GammaGamma.Q}}</td><td>{{f .R.GammaGamma.V}}</td><td>{{f .R.GammaGamma.LogLikelihood}}</td></tr>
{{with .R.GammaGamma.StdErrors}}<tr><td>std. error</td><td>{{f .P}}</td><td>{{f .Q}}</td><td>{{f .V}}</td><td></td></tr>{{end}}
</table>
{{with .R.Holdout}}
<h2>Holdout ({{f .Periods}} periods)</h2>
<table><tr><th></th><th>repeat purchases</th><th>MAE per customer</th><th>RMSE per customer</th></tr>
<tr><td>actual</td><td>{{f .Actual}}</td><td></td><td></td></tr>
<tr><td>BG/NBD</td><td>{{f .Predicted}}</td><td>{{f .MAE}}</td><td>{{f .RMSE}}</td></tr>
<tr><td>baseline (x/T)</td><td>{{f .BaselinePredicted}}</td><td>{{f .BaselineMAE}}</td><td>{{f .BaselineRMSE}}</td></tr></table>
<table><tr><th>x</th><th>customers</th><th>actual mean</th><th>BG/NBD mean</th><th>baseline mean</th></tr>
{{range .ByFrequency}}<tr><td>{{.X}}{{if .Plus}}+{{end}}</td><td>{{.Customers}}</td><td>{{f .Actual}}</td><td>{{f .Predicted}}</td><td>{{f .Baseline}}</td></tr>
{{end}}</table>
{{end}}
{{if .Freq}}<figure>{{.Freq}}</figure>{{end}}
<figure>{{.Track}}</figure>
<h2>P(alive)</h2>
<p>Probability that a customer is still active at the calibration end, by number of repeat purchases and recency,
for a customer first seen {{f .AliveT}} periods before it: red = likely gone (P near 0), yellow to white = likely alive (P near 1).</p>
<figure>{{.Alive}}</figure>
<h2>Value tiers</h2>
<p>Horizon {{f .R.HorizonDays}} days, annual discount rate {{f .R.AnnualDiscount}}; total CLV {{f .R.TotalCLV}}.
Rules: {{.R.Tiers.Rules}}.</p>
<table><tr><th>clv_vip_cut</th><th>clv_loyal_cut</th><th>at_risk_spend_cut</th><th>at_risk_p_alive</th><th>lapsed_p_alive</th></tr>
<tr><td>{{f .R.Tiers.CLVVIPCut}}</td><td>{{f .R.Tiers.CLVLoyalCut}}</td><td>{{f .R.Tiers.AtRiskSpendCut}}</td><td>{{f .R.Tiers.AtRiskPAlive}}</td><td>{{f .R.Tiers.LapsedPAlive}}</td></tr></table>
<table><tr><th>tier</th><th>customers</th></tr>{{range $k, $v := .R.Tiers.Counts}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>
</body></html>
`))

func (r *Result) writeReport(w io.Writer) error {
	calEnd := dayNum(r.CalibrationEnd)
	holdEnd := calEnd
	if r.HoldoutEnd != "" {
		holdEnd = dayNum(r.HoldoutEnd)
	}
	data := struct {
		R                  *Result
		Freq, Track, Alive template.HTML
		AliveT             float64
	}{R: r}
	if r.Holdout != nil {
		data.Freq = mustSVG(r.frequencyPlot())
	}
	data.Track = mustSVG(r.trackingPlot(calEnd, holdEnd))
	alive, T, _ := r.aliveMatrix()
	data.Alive, data.AliveT = alive, T
	return reportTmpl.Execute(w, data)
}
