package report

import (
	"bytes"
	"errors"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/models/metrics"
)

func TestPageWithEveryPlot(t *testing.T) {
	y := []float64{1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0}
	p := []float64{0.9, 0.8, 0.8, 0.6, 0.55, 0.4, 0.35, 0.2, 0.2, 0.1, 0.05, 0.3}
	fpr, tpr, err := metrics.ROC(y, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	lift, err := metrics.Lift(y, p, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	var plots []template.HTML
	for _, mk := range []func() (template.HTML, error){
		func() (template.HTML, error) { return ROC(fpr, tpr, 0.7) },
		func() (template.HTML, error) { return Gains(lift) },
		func() (template.HTML, error) { return Lift(lift) },
		func() (template.HTML, error) { return Calibration("", metrics.Reliability(y, p, nil, 5)) },
		func() (template.HTML, error) {
			return Line("l", "x", "y", Series{Name: "a", X: []float64{0, 1, 2}, Y: []float64{1, math.NaN(), 3}})
		},
		func() (template.HTML, error) {
			return Scatter("s", "x", "y", Series{X: []float64{0, 1}, Y: []float64{1, 2}})
		},
		func() (template.HTML, error) { return Bar("b", "x", "y", []string{"a", "b"}, []float64{1, 2}) },
	} {
		svg, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(svg), "<svg") {
			t.Fatalf("plot does not start with <svg: %.60q", svg)
		}
		plots = append(plots, svg)
	}
	page := Page{Title: "Model <report>", Sections: []Section{{
		Title: "Metrics", Tables: []Table{LiftTable(lift)}, Plots: plots,
	}}}
	path := filepath.Join(t.TempDir(), "r.html")
	if err := WriteHTML(path, page); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if got := strings.Count(html, "<svg"); got != len(plots) {
		t.Errorf("%d svg elements, want %d", got, len(plots))
	}
	if strings.Contains(html, "<?xml") || !strings.Contains(html, "Model &lt;report&gt;") {
		t.Error("prolog left in or title not escaped")
	}
}

func TestNoData(t *testing.T) {
	if _, err := ROC(nil, nil, 0); !errors.Is(err, ErrNoData) {
		t.Errorf("err = %v", err)
	}
	if _, err := Bar("b", "", "", []string{"a"}, nil); err == nil {
		t.Error("mismatched bar accepted")
	}
	var buf bytes.Buffer
	if err := Render(&buf, Page{Title: "empty"}); err != nil {
		t.Fatal(err)
	}
}
