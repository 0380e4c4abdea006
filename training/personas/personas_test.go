package personas

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
)

// table is a small contact table with two behaviours, an id, a label and scores.
func table() *frame.Frame {
	f := &frame.Frame{}
	var id, plan []string
	var clv, alive, visits, label []float64
	for i := range 80 {
		id = append(id, "c-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if i%2 == 0 {
			clv = append(clv, 300+float64(i))
			alive = append(alive, 0.2+float64(i%5)/100)
			visits = append(visits, 1+float64(i%3))
			plan = append(plan, "pro")
			label = append(label, 1)
		} else {
			clv = append(clv, 20+float64(i%7))
			alive = append(alive, 0.9)
			visits = append(visits, 40+float64(i%5))
			plan = append(plan, "free")
			label = append(label, 0)
		}
	}
	f.AddCategorical("contact_id", id)
	f.AddNumeric("clv", clv)
	f.AddNumeric("p_alive", alive)
	f.AddNumeric("n_page_view_30d", visits)
	f.AddCategorical("plan", plan)
	f.AddNumeric("label", label)
	return f
}

const segYAML = `
segments:
  win_back: p_alive < 0.3 and clv > 200
  free_visitors: plan == "free" and persona_id >= 0
`

func TestParseSegments(t *testing.T) {
	segs, err := ParseSegments("s.yml", []byte(segYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0].Name != "win_back" || segs[1].Name != "free_visitors" {
		t.Fatalf("segments %+v", segs)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"syntax", "a: p_alive <", `s.yml:1: segment "a": bad condition`},
		{"not a mapping", "- a\n- b\n", "want a mapping"},
		{"empty rule", "a: ''\n", "non-empty string"},
		{"reserved name", "distance: clv > 1\n", "reserved"},
		{"duplicate", "a: clv > 1\na: clv > 2\n", "used twice"},
		{"empty", "", "empty file"},
		{"yaml", "a: [\n", "bad segments file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSegments("s.yml", []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestUnknownSegmentField(t *testing.T) {
	segs, err := ParseSegments("s.yml", []byte("vip: clv > 100 and lifetime_value > 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), table(), Options{Segments: segs, Persona: persona.Settings{K: 2}})
	if !errors.Is(err, ErrUnknownField) || !strings.Contains(err.Error(), `segment "vip": unknown field "lifetime_value"`) {
		t.Fatalf("error %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	f := table()
	for _, tc := range []struct {
		name string
		opts Options
		want error
		msg  string
	}{
		{"k above rows", Options{Persona: persona.Settings{K: 81}}, kmeans.ErrRows, "k = 81 is larger than the number of rows (80)"},
		{"unknown exclude", Options{Exclude: []string{"nope"}}, ErrColumn, `--exclude "nope"`},
		{"unknown id", Options{ID: "key"}, ErrColumn, `id column "key"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), f, tc.opts)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %v with %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestRunAndWrite(t *testing.T) {
	segs, err := ParseSegments("s.yml", []byte(segYAML))
	if err != nil {
		t.Fatal(err)
	}
	f := table()
	out, err := Run(context.Background(), f, Options{Exclude: []string{"label"}, Segments: segs,
		Persona: persona.Settings{KMax: 4, Stability: kmeans.StabilitySettings{Resamples: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Model.K != 2 {
		t.Fatalf("k = %d, want 2", out.Model.K)
	}
	if out.IDs[0] != "c-aa" {
		t.Errorf("contact_id not detected as the id: %q", out.IDs[0])
	}
	if strings.Contains(strings.Join(out.Columns, ","), "label") || strings.Contains(strings.Join(out.Columns, ","), "contact_id") {
		t.Errorf("clustered on %v", out.Columns)
	}
	// win_back holds exactly the even rows (p_alive ≈ 0.2, clv ≥ 300).
	for r := range f.Rows() {
		if out.Flags[0][r] != (r%2 == 0) {
			t.Fatalf("row %d: win_back %v", r, out.Flags[0][r])
		}
		if out.Flags[1][r] != (r%2 == 1) {
			t.Fatalf("row %d: free_visitors %v", r, out.Flags[1][r])
		}
	}
	dir := t.TempDir()
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	// CSV
	fh, err := os.Open(filepath.Join(dir, CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "contact_id,persona_id,persona_name,distance,win_back,free_visitors" {
		t.Errorf("CSV header %q", got)
	}
	if len(rows) != 81 || rows[1][0] != "c-aa" || rows[1][4] != "true" {
		t.Errorf("CSV rows: %d, first %v", len(rows), rows[1])
	}
	// Parquet
	type assignment struct {
		ContactID   string  `parquet:"contact_id"`
		PersonaID   int64   `parquet:"persona_id"`
		PersonaName string  `parquet:"persona_name"`
		Distance    float64 `parquet:"distance"`
		WinBack     bool    `parquet:"win_back"`
	}
	got, err := parquet.ReadFile[assignment](filepath.Join(dir, ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 80 || got[0].ContactID != "c-aa" || !got[0].WinBack || got[1].WinBack ||
		got[0].PersonaID != int64(out.Labels[0]) || got[0].PersonaName != out.Model.Personas[out.Labels[0]].Name {
		t.Errorf("parquet rows %d, first %+v", len(got), got[0])
	}
	// Catalog and model
	cat, err := os.ReadFile(filepath.Join(dir, CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"k": 2`, `"win_back"`, `"traits"`, `"risk"`, `"p_alive"`} {
		if !bytes.Contains(cat, []byte(want)) {
			t.Errorf("personas.json lacks %s", want)
		}
	}
	m, _, err := persona.Load(filepath.Join(dir, ModelDir))
	if err != nil {
		t.Fatal(err)
	}
	id, _, _, err := m.Assign(map[string]any{"clv": 350.0, "p_alive": 0.2, "n_page_view_30d": 2, "plan": "pro"})
	if err != nil || id != out.Labels[0] {
		t.Errorf("loaded model assigns %d (%v), want %d", id, err, out.Labels[0])
	}
	html, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(html, []byte("<svg")); n != 2+out.Model.K {
		t.Errorf("report has %d SVG plots, want %d", n, 2+out.Model.K)
	}
	if bytes.Contains(html, []byte("<?xml")) {
		t.Error("report embeds an XML declaration")
	}
}

// TestReportScreenshot renders the report in headless Chromium and checks that the page is
// not blank: plots and text cover a visible share of it.
func TestReportScreenshot(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed; skipping the screenshot check")
	}
	out, err := Run(context.Background(), table(), Options{Exclude: []string{"label"}, Persona: persona.Settings{K: 2, Stability: kmeans.StabilitySettings{Resamples: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--screenshot="+shot, "--window-size=1200,2000",
		"file://"+filepath.Join(dir, ReportFile))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	ink, colour := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
			if max(r, g, bl)-min(r, g, bl) > 0x3000 {
				colour++ // persona colours: the plots drew
			}
		}
	}
	total := (b.Dx() / 2) * (b.Dy() / 2)
	if share := float64(ink) / float64(total); share < 0.03 {
		t.Errorf("screenshot is nearly blank: %.1f%% non-white pixels", 100*share)
	}
	if share := float64(colour) / float64(total); share < 0.005 {
		t.Errorf("no coloured plot pixels: %.2f%%", 100*share)
	}
}

// FuzzParseSegments checks that no segments file makes the parser panic, and that what it
// accepts can be matched against a record.
func FuzzParseSegments(f *testing.F) {
	f.Add([]byte(segYAML))
	f.Add([]byte("a: x > 1 and (y in [\"a\", 'b'] or not z missing)\n"))
	f.Add([]byte("segments:\n  - a\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		segs, err := ParseSegments("f.yml", body)
		if err != nil {
			return
		}
		rec := map[string]any{"x": 2.0, "y": "a", "z": nil, "persona": "p"}
		for i := range segs {
			segs[i].Match(rec)
		}
	})
}
