package svgcheck

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// chart wraps groups in an SVG with gonum/plot's orientation flip (height 100).
func chart(frame, data, legend string) string {
	return `<svg width="200pt" height="100pt" viewBox="0 0 200 100"><g transform="scale(1, -1) translate(0, -100)">` +
		`<g class="plot-frame">` + frame + `</g><g class="plot-data">` + data + `</g><g class="plot-legend">` + legend + `</g></g></svg>`
}

func text(x, y float64, s string) string {
	return `<text x="` + ftoa(x) + `" y="` + ftoa(-y) + `" transform="scale(1, -1)" style="font-family:Liberation Serif;font-size:10px">` + s + `</text>`
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func TestTransforms(t *testing.T) {
	m, err := parseTransform("translate(10, 20) rotate(90) scale(2)")
	if err != nil {
		t.Fatal(err)
	}
	x, y := m.apply(1, 0) // scale → (2, 0), rotate 90° → (0, 2), translate → (10, 22)
	if math.Abs(x-10) > 1e-9 || math.Abs(y-22) > 1e-9 {
		t.Errorf("(1, 0) → (%v, %v), want (10, 22)", x, y)
	}
	if _, err := parseTransform("skewX(3)"); err == nil {
		t.Error("skewX accepted: the geometry would be wrong")
	}
}

func TestPathSegments(t *testing.T) {
	segs, err := pathSegments("M0,0L10,0L10,10Z")
	if err != nil {
		t.Fatal(err)
	}
	// The move is a point, then three edges including the closing one.
	if len(segs) != 4 || segs[3] != [2][2]float64{{10, 10}, {0, 0}} {
		t.Errorf("segments %v", segs)
	}
}

func TestCrosses(t *testing.T) {
	b := Box{0, 0, 10, 10}
	for _, tc := range []struct {
		s    [2][2]float64
		want bool
	}{
		{[2][2]float64{{-5, 5}, {15, 5}}, true},      // through the middle, no vertex inside
		{[2][2]float64{{-5, -5}, {-1, 20}}, false},   // beside
		{[2][2]float64{{5, 5}, {5, 5}}, true},        // a point inside
		{[2][2]float64{{0.5, -3}, {0.5, 20}}, false}, // within the tolerance of the edge
	} {
		if got := b.crosses(tc.s, Tolerance); got != tc.want {
			t.Errorf("%v crosses %v: %v, want %v", tc.s, b, got, tc.want)
		}
	}
}

// TestCheck: a clean chart passes; a legend over a line, two colliding tick labels, and a
// figure without the groups are each reported.
func TestCheck(t *testing.T) {
	line := `<path d="M20,20L180,80" style="fill:none;stroke:#000"/>`
	clean := chart(text(20, 5, "0")+text(170, 5, "1"), line, text(150, 25, "model"))
	cs, err := Parse([]byte("<html>" + clean + "</html>"))
	if err != nil {
		t.Fatal(err)
	}
	if pbs := Check(cs); len(pbs) != 0 {
		t.Errorf("clean chart: %v", pbs)
	}
	if len(cs[0].Frame) != 2 || len(cs[0].LegendTexts) != 1 || len(cs[0].Data) != 2 {
		t.Errorf("parsed %+v", cs[0])
	}
	// The y axis flips: a baseline at y = 5 (from the bottom) is near the bottom, 95 from the top.
	if b := cs[0].Frame[0].Box; !(b.Y1 > 95 && b.Y0 < 95 && b.Y1 < 100) {
		t.Errorf("text box %v: want the baseline at 95", b)
	}
	for name, tc := range map[string]struct {
		svg, want string
	}{
		"legend over line": {chart(text(20, 5, "0"), line, text(95, 48, "model")), "legend"},
		"ticks collide":    {chart(text(20, 5, "0.25")+text(30, 5, "0.50"), line, ""), "overlap"},
		"text over data":   {chart(text(90, 48, "label"), line, ""), "covers"},
		"no groups":        {`<svg><path d="M0,0L1,1"/></svg>`, "not drawn"},
	} {
		cs, err := Parse([]byte(tc.svg))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pbs := Check(cs)
		if len(pbs) == 0 || !strings.Contains(pbs[0].What, tc.want) {
			t.Errorf("%s: problems %v, want one about %q", name, pbs, tc.want)
		}
	}
	if _, err := Parse([]byte("<html>no charts</html>")); !errors.Is(err, ErrNoCharts) {
		t.Errorf("err = %v", err)
	}
}

// TestChromium measures the texts in the browser: the clean chart passes, colliding tick
// labels and a legend over the line are found, and the browser's boxes sit where the font
// metrics put them (within a few points).
func TestChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	line := `<path d="M20,20L180,80" style="fill:none;stroke:#000"/>`
	doc := "<html><body>" +
		chart(text(20, 5, "0")+text(170, 5, "1"), line, text(150, 25, "model")) +
		chart(text(20, 5, "0.25")+text(30, 5, "0.50"), line, "") +
		chart(text(20, 5, "0"), line, text(95, 48, "model")) + "</body></html>"
	est, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Chromium(context.Background(), chromium, t.TempDir(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range got {
		for j, tx := range c.Frame {
			e := est[i].Frame[j].Box
			if math.Abs(tx.Box.X0-e.X0) > 3 || math.Abs(tx.Box.Y1-e.Y1) > 3 {
				t.Errorf("chart %d text %q: browser %v, font metrics %v", i, tx.S, tx.Box, e)
			}
		}
	}
	byChart := map[int][]Problem{}
	for _, p := range Check(got) {
		byChart[p.Chart] = append(byChart[p.Chart], p)
	}
	if len(byChart[0]) != 0 || len(byChart[1]) == 0 || len(byChart[2]) == 0 {
		t.Errorf("problems by chart: %v", byChart)
	}
}
