package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	plotpalette "gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Every figure is inline SVG in three groups, so that a reader of the markup (the chart
// geometry test, docs/reports.md) can tell the parts apart:
//
//	<g class="plot-frame">  title, axes, tick labels, grid
//	<g class="plot-data">   everything plotted: lines, points, bars, cells
//	<g class="plot-legend"> the legend, drawn outside the data area
//
// The classes are part of the report format.
const (
	ClassFrame  = "plot-frame"
	ClassData   = "plot-data"
	ClassLegend = "plot-legend"
)

type phase int

const (
	phaseFrame phase = iota
	phaseData
	phaseLegend
	phases
)

// phaseCanvas sends drawing operations to the SVG canvas of the current phase, and state
// changes (colours, transforms, push and pop) to all of them, so each stays consistent.
type phaseCanvas struct {
	cur phase
	c   [phases]*vgsvg.Canvas
}

func newPhaseCanvas(w, h vg.Length) *phaseCanvas {
	pc := &phaseCanvas{}
	for i := range pc.c {
		pc.c[i] = vgsvg.New(w, h)
	}
	return pc
}

// Size is the size of the figure.
func (pc *phaseCanvas) Size() (w, h vg.Length) { return pc.c[0].Size() }

func (pc *phaseCanvas) all(f func(c *vgsvg.Canvas)) {
	for _, c := range pc.c {
		f(c)
	}
}

func (pc *phaseCanvas) SetLineWidth(w vg.Length) { pc.all(func(c *vgsvg.Canvas) { c.SetLineWidth(w) }) }
func (pc *phaseCanvas) SetLineDash(d []vg.Length, o vg.Length) {
	pc.all(func(c *vgsvg.Canvas) { c.SetLineDash(d, o) })
}
func (pc *phaseCanvas) SetColor(col color.Color) { pc.all(func(c *vgsvg.Canvas) { c.SetColor(col) }) }
func (pc *phaseCanvas) Rotate(a float64)         { pc.all(func(c *vgsvg.Canvas) { c.Rotate(a) }) }
func (pc *phaseCanvas) Translate(p vg.Point)     { pc.all(func(c *vgsvg.Canvas) { c.Translate(p) }) }
func (pc *phaseCanvas) Scale(x, y float64)       { pc.all(func(c *vgsvg.Canvas) { c.Scale(x, y) }) }
func (pc *phaseCanvas) Push()                    { pc.all(func(c *vgsvg.Canvas) { c.Push() }) }
func (pc *phaseCanvas) Pop()                     { pc.all(func(c *vgsvg.Canvas) { c.Pop() }) }
func (pc *phaseCanvas) Stroke(p vg.Path)         { pc.c[pc.cur].Stroke(p) }
func (pc *phaseCanvas) Fill(p vg.Path)           { pc.c[pc.cur].Fill(p) }
func (pc *phaseCanvas) DrawImage(r vg.Rectangle, img image.Image) {
	pc.c[pc.cur].DrawImage(r, img)
}
func (pc *phaseCanvas) FillString(f font.Face, p vg.Point, s string) {
	pc.c[pc.cur].FillString(f, p, s)
}

// svg merges the three canvases into one SVG element, each phase in its classed group.
func (pc *phaseCanvas) svg() (template.HTML, error) {
	var out bytes.Buffer
	for i, c := range pc.c {
		var b bytes.Buffer
		if _, err := c.WriteTo(&b); err != nil {
			return "", fmt.Errorf("report: %w", err)
		}
		s := b.Bytes()
		open := bytes.Index(s, []byte("<svg"))
		end := bytes.LastIndex(s, []byte("</svg>"))
		if open < 0 || end < 0 {
			return "", fmt.Errorf("report: unexpected SVG from the plot canvas")
		}
		head := open + bytes.IndexByte(s[open:], '>') + 1
		if i == 0 {
			out.Write(s[open:head])
			out.WriteByte('\n')
		}
		fmt.Fprintf(&out, "<g class=%q>\n", [...]string{ClassFrame, ClassData, ClassLegend}[i])
		out.Write(bytes.TrimSpace(s[head:end]))
		out.WriteString("\n</g>\n")
	}
	out.WriteString("</svg>\n")
	return template.HTML(out.String()), nil // drawn by gonum/plot, text escaped by its canvas
}

// dataStart is a plotter that draws nothing: plotters added before it (the grid) belong to
// the frame, those after it to the data.
type dataStart struct{}

func (dataStart) Plot(c draw.Canvas, _ *plot.Plot) {
	var vc vg.Canvas = c
	for {
		switch x := vc.(type) {
		case draw.Canvas:
			vc = x.Canvas
			continue
		case *draw.Canvas:
			vc = x.Canvas
			continue
		case *phaseCanvas:
			x.cur = phaseData
		}
		return
	}
}

// NewPlot returns a plot with a title, axis labels and a grid, ready for data: everything
// added to it afterwards is drawn in the figure's data group.
func NewPlot(title, x, y string) *plot.Plot {
	p := newFramePlot(title, x, y)
	p.Add(dataStart{})
	return p
}

// NewPlotNoGrid is NewPlot without the grid (for heat maps and bar charts that carry their
// own scale).
func NewPlotNoGrid(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Add(dataStart{})
	return p
}

// legendGap is the space between the plot and a legend drawn outside it.
const legendGap = 4

// drawPlot draws p into c with its legend outside the data area: below the plot when the
// legend is short, on the right when it is tall and narrow enough, so the legend never
// hides data. p's legend is drawn from a copy; p itself keeps it.
func drawPlot(pc *phaseCanvas, c draw.Canvas, p *plot.Plot) {
	legend := p.Legend
	if legend.Padding == 0 {
		legend.Padding = vg.Points(4) // entries apart by more than the font's full extent
	}
	lr := legend.Rectangle(c)
	lw, lh := lr.Size().X, lr.Size().Y
	body := c
	var band draw.Canvas
	switch {
	case lh == 0:
	case lh <= 0.3*c.Size().Y || lw > 0.4*c.Size().X:
		body = draw.Crop(c, 0, 0, lh+2*legendGap, 0)
		band = c
		band.Max.Y = c.Min.Y + lh + legendGap
		band.Min.X = p.DataCanvas(body).Min.X
	default:
		body = draw.Crop(c, 0, -(lw + 2*legendGap), 0, 0)
		band = c
		band.Min.X = c.Max.X - lw - legendGap
		band.Max.Y = p.DataCanvas(body).Max.Y
	}
	p.Legend = plot.NewLegend()
	p.Legend.TextStyle = legend.TextStyle
	pc.cur = phaseFrame
	p.Draw(body)
	p.Legend = legend
	if lh > 0 {
		pc.cur = phaseLegend
		l := legend
		l.Top, l.Left = true, true
		l.XOffs, l.YOffs = 0, 0
		l.Draw(band)
	}
	pc.cur = phaseFrame
}

// Figure renders p as an inline SVG element of size w × h (Width × Height when zero), with
// its legend outside the data area.
func Figure(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	if w == 0 || h == 0 {
		w, h = Width, Height
	}
	pc := newPhaseCanvas(w, h)
	drawPlot(pc, draw.New(pc), p)
	return pc.svg()
}

// FigureWithScale renders p with a second, narrow plot on its right (a colour bar) of width
// side.
func FigureWithScale(p, scale *plot.Plot, w, h, side vg.Length) (template.HTML, error) {
	pc := newPhaseCanvas(w, h)
	c := draw.New(pc)
	drawPlot(pc, draw.Crop(c, 0, -side, 0, 0), p)
	// The scale spans the main plot's data area vertically; give it no title and no x axis.
	d := p.DataCanvas(draw.Crop(c, 0, -side, 0, 0))
	sc := c
	sc.Min.X = c.Max.X - side
	sc.Min.Y, sc.Max.Y = d.Min.Y, d.Max.Y
	drawPlot(pc, sc, scale)
	return pc.svg()
}

// Steps is a palette.ColorMap over [Lo, Hi] with the discrete colours of a palette, the
// same steps a plotter.HeatMap with that palette draws, for a plotter.ColorBar beside it.
type Steps struct {
	Colors []color.Color
	Lo, Hi float64
}

// At returns the colour of v.
func (s *Steps) At(v float64) (color.Color, error) {
	if len(s.Colors) == 0 || !(v >= s.Lo && v <= s.Hi) || s.Hi <= s.Lo {
		return nil, fmt.Errorf("report: %v outside the scale [%v, %v]", v, s.Lo, s.Hi)
	}
	i := int((v - s.Lo) / (s.Hi - s.Lo) * float64(len(s.Colors)))
	return s.Colors[min(i, len(s.Colors)-1)], nil
}

// Max returns Hi.
func (s *Steps) Max() float64 { return s.Hi }

// SetMax sets Hi.
func (s *Steps) SetMax(v float64) { s.Hi = v }

// Min returns Lo.
func (s *Steps) Min() float64 { return s.Lo }

// SetMin sets Lo.
func (s *Steps) SetMin(v float64) { s.Lo = v }

// Alpha is always 1: the colours are drawn as they are.
func (s *Steps) Alpha() float64 { return 1 }

// SetAlpha is ignored.
func (s *Steps) SetAlpha(float64) {}

// Palette returns the colours.
func (s *Steps) Palette(int) plotpalette.Palette { return stepPalette(s.Colors) }

type stepPalette []color.Color

func (p stepPalette) Colors() []color.Color { return p }
