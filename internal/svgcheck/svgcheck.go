// Package svgcheck reads the inline SVG charts of an HTML report and checks their layout
// from the geometry of the markup: the legend and the text of the frame (title, axis labels,
// tick labels) must not cover plotted data, and no two of them may overlap.
//
// It relies on the groups that training/report draws every figure in (plot-frame, plot-data,
// plot-legend; docs/reports.md). Text extents are computed with the metrics of the font the
// SVG names, from gonum/plot's font cache, as the plot library laid them out.
package svgcheck

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// Group classes of a figure (training/report.ClassFrame and friends).
const (
	classFrame  = "plot-frame"
	classData   = "plot-data"
	classLegend = "plot-legend"
)

// Box is an axis-aligned rectangle in the SVG's user units (points), y downwards.
type Box struct{ X0, Y0, X1, Y1 float64 }

func (b Box) empty() bool { return b.X1 < b.X0 || b.Y1 < b.Y0 }

func (b Box) union(o Box) Box {
	if b.empty() {
		return o
	}
	if o.empty() {
		return b
	}
	return Box{math.Min(b.X0, o.X0), math.Min(b.Y0, o.Y0), math.Max(b.X1, o.X1), math.Max(b.Y1, o.Y1)}
}

// overlaps reports whether b and o share an area wider than tol in both directions.
func (b Box) overlaps(o Box, tol float64) bool {
	return math.Min(b.X1, o.X1)-math.Max(b.X0, o.X0) > tol && math.Min(b.Y1, o.Y1)-math.Max(b.Y0, o.Y0) > tol
}

// crosses reports whether the segment s passes through b shrunk by tol on every side
// (Liang & Barsky 1984 clipping).
func (b Box) crosses(s [2][2]float64, tol float64) bool {
	x0, y0, x1, y1 := b.X0+tol, b.Y0+tol, b.X1-tol, b.Y1-tol
	if x1 <= x0 || y1 <= y0 {
		return false
	}
	dx, dy := s[1][0]-s[0][0], s[1][1]-s[0][1]
	t0, t1 := 0.0, 1.0
	for _, e := range [][2]float64{{-dx, s[0][0] - x0}, {dx, x1 - s[0][0]}, {-dy, s[0][1] - y0}, {dy, y1 - s[0][1]}} {
		p, q := e[0], e[1]
		if p == 0 {
			if q <= 0 {
				return false
			}
			continue
		}
		r := q / p
		if p < 0 {
			t0 = math.Max(t0, r)
		} else {
			t1 = math.Min(t1, r)
		}
		if t0 > t1 {
			return false
		}
	}
	return true
}

func (b Box) String() string {
	return fmt.Sprintf("[%.1f,%.1f]x[%.1f,%.1f]", b.X0, b.X1, b.Y0, b.Y1)
}

// Text is one text element and its extent.
type Text struct {
	S   string
	Box Box
}

// Chart is the geometry of one figure.
type Chart struct {
	Index int    // position among the document's SVG elements
	Title string // the first frame text drawn (the plot title, when it has one)
	Frame []Text // title, axis labels, tick labels
	// Data are the plotted segments (a lone point is a segment of length zero).
	Data   [][2][2]float64
	Legend Box // union of the legend's texts and thumbnails; empty without a legend
	// LegendTexts are the legend's entries.
	LegendTexts []Text
	Groups      map[string]bool // which classed groups were present

	legendPaths Box // the legend's thumbnails alone
}

// Problem is one layout fault.
type Problem struct {
	Chart int
	Title string
	What  string
}

func (p Problem) String() string { return fmt.Sprintf("chart %d (%q): %s", p.Chart, p.Title, p.What) }

type matrix [6]float64 // a b c d e f: x' = a x + c y + e, y' = b x + d y + f

var identity = matrix{1, 0, 0, 1, 0, 0}

func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[2]*n[1], m[1]*n[0] + m[3]*n[1],
		m[0]*n[2] + m[2]*n[3], m[1]*n[2] + m[3]*n[3],
		m[0]*n[4] + m[2]*n[5] + m[4], m[1]*n[4] + m[3]*n[5] + m[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

var transformRE = regexp.MustCompile(`(matrix|translate|scale|rotate)\s*\(([^)]*)\)`)

func parseTransform(s string) (matrix, error) {
	m := identity
	if rest := strings.Trim(transformRE.ReplaceAllString(s, ""), " ,\t\n"); rest != "" {
		return m, fmt.Errorf("transform %q: %q not supported", s, rest)
	}
	for _, t := range transformRE.FindAllStringSubmatch(s, -1) {
		args, err := numbers(t[2])
		if err != nil {
			return m, fmt.Errorf("transform %q: %w", s, err)
		}
		var n matrix
		switch {
		case t[1] == "translate" && len(args) >= 1:
			ty := 0.0
			if len(args) > 1 {
				ty = args[1]
			}
			n = matrix{1, 0, 0, 1, args[0], ty}
		case t[1] == "scale" && len(args) >= 1:
			sy := args[0]
			if len(args) > 1 {
				sy = args[1]
			}
			n = matrix{args[0], 0, 0, sy, 0, 0}
		case t[1] == "rotate" && len(args) >= 1:
			s, c := math.Sincos(args[0] * math.Pi / 180)
			n = matrix{c, s, -s, c, 0, 0}
		case t[1] == "matrix" && len(args) == 6:
			copy(n[:], args)
		default:
			return m, fmt.Errorf("transform %q: unsupported", s)
		}
		m = m.mul(n)
	}
	return m, nil
}

var numberRE = regexp.MustCompile(`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`)

func numbers(s string) ([]float64, error) {
	var out []float64
	for _, f := range numberRE.FindAllString(s, -1) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// pathSegments returns the straight segments between consecutive end points of an SVG
// path's commands (arcs and curves by their end points; a closed subpath back to its start).
func pathSegments(d string) ([][2][2]float64, error) {
	var out [][2][2]float64
	var start, last [2]float64
	have := false
	cmds := regexp.MustCompile(`[MLAQCZmlaqcz][^MLAQCZmlaqcz]*`).FindAllString(d, -1)
	for _, c := range cmds {
		args, err := numbers(c[1:])
		if err != nil {
			return nil, err
		}
		per := map[byte]int{'M': 2, 'L': 2, 'A': 7, 'Q': 4, 'C': 6, 'Z': 0}[c[0]]
		if per == 0 {
			if c[0] != 'Z' {
				return nil, fmt.Errorf("path command %q not supported", c[:1])
			}
			if have {
				out = append(out, [2][2]float64{last, start})
				last = start
			}
			continue
		}
		for i := 0; i+per <= len(args); i += per {
			p := [2]float64{args[i+per-2], args[i+per-1]}
			if c[0] == 'M' && i == 0 {
				start, last, have = p, p, true
				out = append(out, [2][2]float64{p, p})
				continue
			}
			out = append(out, [2][2]float64{last, p})
			last = p
		}
	}
	return out, nil
}

var styleRE = regexp.MustCompile(`([a-z-]+)\s*:\s*([^;]+)`)

// textFace returns the font face a text element's style names.
func textFace(style string) (font.Face, error) {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(12)}
	for _, kv := range styleRE.FindAllStringSubmatch(style, -1) {
		v := strings.TrimSpace(kv[2])
		switch kv[1] {
		case "font-family":
			name := strings.Trim(v, `'"`)
			if rest, ok := strings.CutPrefix(name, "Liberation "); ok {
				f.Variant = font.Variant(rest)
			}
		case "font-size":
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(v, "px"), "pt"), 64)
			if err != nil {
				return font.Face{}, fmt.Errorf("font-size %q", v)
			}
			f.Size = vg.Points(n)
		case "font-weight":
			if v == "bold" {
				f.Weight = 700
			}
		case "font-style":
			if v == "italic" {
				f.Style = 1
			}
		}
	}
	face := plot.DefaultTextHandler.Cache().Lookup(f, f.Size)
	if face.Face == nil {
		return face, fmt.Errorf("font %v not available", f)
	}
	return face, nil
}

// ErrNoCharts is returned by Parse when the document holds no SVG.
var ErrNoCharts = errors.New("svgcheck: no SVG charts in the document")

// Parse reads every <svg> element of an HTML (or SVG) document.
func Parse(doc []byte) ([]Chart, error) {
	var charts []Chart
	rest := doc
	for {
		i := bytes.Index(rest, []byte("<svg"))
		if i < 0 {
			break
		}
		j := bytes.Index(rest[i:], []byte("</svg>"))
		if j < 0 {
			return nil, fmt.Errorf("svgcheck: unterminated <svg> element")
		}
		c, err := parseSVG(rest[i : i+j+len("</svg>")])
		if err != nil {
			return nil, fmt.Errorf("svgcheck: chart %d: %w", len(charts), err)
		}
		c.Index = len(charts)
		charts = append(charts, c)
		rest = rest[i+j:]
	}
	if len(charts) == 0 {
		return nil, ErrNoCharts
	}
	return charts, nil
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func parseSVG(b []byte) (Chart, error) {
	c := Chart{Groups: map[string]bool{}, Legend: Box{0, 0, -1, -1}, legendPaths: Box{0, 0, -1, -1}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	type frame struct {
		m     matrix
		class string
	}
	stack := []frame{{m: identity}}
	var text *xml.StartElement
	var textM matrix
	var textClass string
	var sb strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			top := stack[len(stack)-1]
			m := top.m
			if tr := attr(t, "transform"); tr != "" {
				n, err := parseTransform(tr)
				if err != nil {
					return c, err
				}
				m = m.mul(n)
			}
			class := top.class
			if cl := attr(t, "class"); cl == classFrame || cl == classData || cl == classLegend {
				class = cl
				c.Groups[cl] = true
			}
			stack = append(stack, frame{m: m, class: class})
			switch t.Name.Local {
			case "path":
				segs, err := pathSegments(attr(t, "d"))
				if err != nil {
					return c, err
				}
				for _, sg := range segs {
					x0, y0 := m.apply(sg[0][0], sg[0][1])
					x1, y1 := m.apply(sg[1][0], sg[1][1])
					switch class {
					case classData:
						c.Data = append(c.Data, [2][2]float64{{x0, y0}, {x1, y1}})
					case classLegend:
						c.legendPaths = c.legendPaths.union(Box{x0, y0, x0, y0}).union(Box{x1, y1, x1, y1})
						c.Legend = c.Legend.union(c.legendPaths)
					}
				}
			case "image":
				nums := make([]float64, 4)
				for k, a := range []string{"x", "y", "width", "height"} {
					nums[k], _ = strconv.ParseFloat(attr(t, a), 64)
				}
				corners := [][2]float64{{nums[0], nums[1]}, {nums[0] + nums[2], nums[1]}, {nums[0] + nums[2], nums[1] + nums[3]}, {nums[0], nums[1] + nums[3]}}
				for k := range corners {
					x0, y0 := m.apply(corners[k][0], corners[k][1])
					x1, y1 := m.apply(corners[(k+1)%4][0], corners[(k+1)%4][1])
					if class == classData {
						c.Data = append(c.Data, [2][2]float64{{x0, y0}, {x1, y1}})
					}
				}
			case "text":
				tt := t.Copy()
				text, textM, textClass = &tt, m, class
				sb.Reset()
			}
		case xml.CharData:
			if text != nil {
				sb.Write(t)
			}
		case xml.EndElement:
			if t.Name.Local == "text" && text != nil {
				box, err := textBox(*text, textM, sb.String())
				if err != nil {
					return c, err
				}
				tx := Text{S: sb.String(), Box: box}
				switch textClass {
				case classFrame:
					if c.Title == "" {
						c.Title = tx.S
					}
					c.Frame = append(c.Frame, tx)
				case classLegend:
					c.LegendTexts = append(c.LegendTexts, tx)
					c.Legend = c.Legend.union(box)
				}
				text = nil
			}
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return c, nil
}

// textBox is the extent of a text element: from its start x over the advance width of the
// string, and from the font's ascent above the baseline y to its descent below.
func textBox(se xml.StartElement, m matrix, s string) (Box, error) {
	face, err := textFace(attr(se, "style"))
	if err != nil {
		return Box{}, err
	}
	x, _ := strconv.ParseFloat(attr(se, "x"), 64)
	y, _ := strconv.ParseFloat(attr(se, "y"), 64)
	w := face.Width(s).Points()
	ext := face.Extents()
	asc, desc := ext.Ascent.Points(), ext.Descent.Points()
	// Local coordinates have y downwards (before the element's own transform, already in m).
	b := Box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range [][2]float64{{x, y - asc}, {x + w, y - asc}, {x, y + desc}, {x + w, y + desc}} {
		px, py := m.apply(p[0], p[1])
		b = Box{math.Min(b.X0, px), math.Min(b.Y0, py), math.Max(b.X1, px), math.Max(b.Y1, py)}
	}
	return b, nil
}

// Tolerance is how far (points) two extents may touch before they count as overlapping: font
// extents include the line's leading, so neighbouring tick labels touch without colliding.
const Tolerance = 1.0

// Check returns every layout fault of the charts: a figure not drawn in the classed groups,
// a legend over data or over frame text, legend entries or frame texts over each other,
// frame texts over data.
func Check(charts []Chart) []Problem {
	var out []Problem
	for _, c := range charts {
		bad := func(format string, args ...any) {
			out = append(out, Problem{Chart: c.Index, Title: c.Title, What: fmt.Sprintf(format, args...)})
		}
		if !c.Groups[classFrame] || !c.Groups[classData] {
			bad("not drawn in %s/%s groups (render it with training/report.Figure)", classFrame, classData)
			continue
		}
		if len(c.Data) == 0 {
			bad("no plotted data")
		}
		if !c.Legend.empty() {
			n := 0
			for _, sg := range c.Data {
				if c.Legend.crosses(sg, Tolerance) {
					n++
				}
			}
			if n > 0 {
				bad("legend %v covers %d plotted segments", c.Legend, n)
			}
			for _, t := range c.Frame {
				if c.Legend.overlaps(t.Box, Tolerance) {
					bad("legend %v overlaps text %q %v", c.Legend, t.S, t.Box)
				}
			}
		}
		for i, t := range c.LegendTexts {
			for _, u := range c.LegendTexts[i+1:] {
				if t.Box.overlaps(u.Box, Tolerance) {
					bad("legend entries %q %v and %q %v overlap", t.S, t.Box, u.S, u.Box)
				}
			}
		}
		for i, t := range c.Frame {
			n := 0
			for _, sg := range c.Data {
				if t.Box.crosses(sg, Tolerance) {
					n++
				}
			}
			if n > 0 {
				bad("text %q %v covers %d plotted segments", t.S, t.Box, n)
			}
			for _, u := range c.Frame[i+1:] {
				if t.Box.overlaps(u.Box, Tolerance) {
					bad("texts %q %v and %q %v overlap", t.S, t.Box, u.S, u.Box)
				}
			}
		}
	}
	return out
}
