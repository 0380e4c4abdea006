package svgcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// measureScript runs in the page after load: for every SVG, in document order, it writes
// the extents of the texts of the frame and legend groups, in the SVG's own user units (its
// viewBox), as laid out by the browser with the fonts it found.
const measureScript = `<script>
(function(){
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const inv = svg.getScreenCTM().inverse();
    const texts = cls => Array.from(svg.querySelectorAll('g.' + cls + ' text')).map(t => {
      const b = t.getBBox(), m = inv.multiply(t.getScreenCTM());
      const pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]]
        .map(p => new DOMPoint(p[0], p[1]).matrixTransform(m));
      return [Math.min(...pts.map(p => p.x)), Math.min(...pts.map(p => p.y)), Math.max(...pts.map(p => p.x)), Math.max(...pts.map(p => p.y))];
    });
    out.push({frame: texts('plot-frame'), legend: texts('plot-legend')});
  }
  const pre = document.createElement('pre');
  pre.id = 'svgcheck-geometry';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

// Chromium renders the HTML document doc in headless Chromium (the binary at chromium)
// and returns its charts with the text extents the browser laid out, in place of the
// font-metric estimates of Parse. work is a scratch directory.
func Chromium(ctx context.Context, chromium, work string, doc []byte) ([]Chart, error) {
	charts, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	page := filepath.Join(work, "page.html")
	body := doc
	if i := bytes.LastIndex(body, []byte("</body>")); i >= 0 {
		body = append(append(append([]byte{}, body[:i]...), measureScript...), body[i:]...)
	} else {
		body = append(append([]byte{}, body...), measureScript...)
	}
	if err := os.WriteFile(page, body, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(work, "profile"), "--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("svgcheck: chromium: %w: %s", err, stderr.Bytes())
	}
	const open = `<pre id="svgcheck-geometry">`
	i := bytes.Index(dom, []byte(open))
	if i < 0 {
		return nil, fmt.Errorf("svgcheck: chromium ran no measuring script")
	}
	j := bytes.Index(dom[i:], []byte("</pre>"))
	if j < 0 {
		return nil, fmt.Errorf("svgcheck: chromium output cut short")
	}
	raw := dom[i+len(open) : i+j]
	raw = bytes.ReplaceAll(raw, []byte("&quot;"), []byte(`"`))
	var measured []struct{ Frame, Legend [][4]float64 }
	if err := json.Unmarshal(raw, &measured); err != nil {
		return nil, fmt.Errorf("svgcheck: chromium geometry: %w", err)
	}
	if len(measured) != len(charts) {
		return nil, fmt.Errorf("svgcheck: chromium saw %d charts, the markup holds %d", len(measured), len(charts))
	}
	for k := range charts {
		c, m := &charts[k], measured[k]
		if len(m.Frame) != len(c.Frame) || len(m.Legend) != len(c.LegendTexts) {
			return nil, fmt.Errorf("svgcheck: chart %d: chromium measured %d frame and %d legend texts, the markup holds %d and %d",
				k, len(m.Frame), len(m.Legend), len(c.Frame), len(c.LegendTexts))
		}
		for i, b := range m.Frame {
			c.Frame[i].Box = Box{b[0], b[1], b[2], b[3]}
		}
		c.Legend = c.legendPaths
		for i, b := range m.Legend {
			c.LegendTexts[i].Box = Box{b[0], b[1], b[2], b[3]}
			c.Legend = c.Legend.union(c.LegendTexts[i].Box)
		}
	}
	return charts, nil
}
