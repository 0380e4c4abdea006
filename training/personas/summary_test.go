package personas

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/internal/csvtest"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
)

// TestSummaryCSV reads personas.csv back: readable headers, one row per persona whose sizes
// add up to the rows, and numbers that parse, with the model scores given to Run and those
// found in the table next to everyone's means.
func TestSummaryCSV(t *testing.T) {
	f := table()
	conv := make([]float64, f.Rows())
	for i := range conv {
		conv[i] = 0.1 + 0.5*float64(i%2)
		if i%10 == 3 {
			conv[i] = math.NaN() // no score for this row
		}
	}
	out, err := Run(context.Background(), f, Options{Exclude: []string{"label"}, Scores: []ScoreColumn{{Name: "p_convert", Values: conv}},
		Persona: persona.Settings{K: 2, Stability: kmeans.StabilitySettings{Resamples: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	rows := csvtest.ReadFile(t, filepath.Join(dir, SummaryFile))
	head := rows[0]
	if got := strings.Join(head[:5], ","); got != "persona,name,people,share of people,key traits" {
		t.Errorf("header starts %q", got)
	}
	for _, h := range head {
		if strings.ContainsAny(h, "_/=") {
			t.Errorf("header %q reads as a column name", h)
		}
	}
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in %q", name, head)
		return -1
	}
	convCol, clvCol, clvAll := col("conversion probability"), col("customer lifetime value"), col("customer lifetime value (everyone)")
	col("probability still active")
	col("number of page view (last 30 days)")
	if len(rows) != 1+out.Model.K {
		t.Fatalf("%d rows, want %d personas", len(rows)-1, out.Model.K)
	}
	people, share := 0, 0.0
	for _, r := range rows[1:] {
		if len(r) != len(head) {
			t.Fatalf("row %q has %d fields, header %d", r, len(r), len(head))
		}
		id, err := strconv.Atoi(r[0])
		if err != nil || r[1] != out.Model.Personas[id].Name {
			t.Errorf("row %q: persona id %v, name", r[:2], err)
		}
		n, err := strconv.Atoi(r[2])
		if err != nil {
			t.Errorf("people %q: %v", r[2], err)
		}
		people += n
		s, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			t.Errorf("share %q: %v", r[3], err)
		}
		share += s
		if r[4] == "" || strings.ContainsAny(r[4], "_/") {
			t.Errorf("key traits %q", r[4])
		}
		for i := 5; i < len(r); i++ {
			if _, err := strconv.ParseFloat(r[i], 64); err != nil {
				t.Errorf("column %q: %q is not a number", head[i], r[i])
			}
		}
		// Probabilities have 4 decimals, money 2.
		if d := r[convCol][strings.IndexByte(r[convCol], '.')+1:]; len(d) != 4 {
			t.Errorf("conversion probability %q: want 4 decimals", r[convCol])
		}
		if d := r[clvCol][strings.IndexByte(r[clvCol], '.')+1:]; len(d) != 2 {
			t.Errorf("clv %q: want 2 decimals", r[clvCol])
		}
	}
	if people != f.Rows() || math.Abs(share-1) > 1e-3 {
		t.Errorf("sizes add up to %d people, share %v; want %d, 1", people, share, f.Rows())
	}
	// The two personas are the even rows (p_convert 0.1, clv ≥ 300) and the odd ones
	// (0.6): their means differ and everyone's lies between.
	a, _ := strconv.ParseFloat(rows[1][convCol], 64)
	b, _ := strconv.ParseFloat(rows[2][convCol], 64)
	if math.Abs(math.Abs(a-b)-0.5) > 1e-3 {
		t.Errorf("conversion means %v and %v, want 0.1 and 0.6", a, b)
	}
	all, _ := strconv.ParseFloat(rows[1][clvAll], 64)
	want := 0.0
	for _, v := range f.Column("clv").Num {
		want += v / float64(f.Rows())
	}
	if math.Abs(all-want) > 0.006 {
		t.Errorf("everyone's clv %v, want %v", all, want)
	}
}

func TestScoresLength(t *testing.T) {
	_, err := Run(context.Background(), table(), Options{Scores: []ScoreColumn{{Name: "p_churn", Values: []float64{1}}}})
	if err == nil || !strings.Contains(err.Error(), "p_churn") {
		t.Fatalf("error %v, want one naming the score column", err)
	}
}

// blobs returns n points around each of three far-apart centres.
func blobs(n int) *frame.Frame {
	rng := rand.New(rand.NewPCG(3, 3))
	var x, y []float64
	for i := range 3 * n {
		c := float64(i % 3)
		x = append(x, 10*c+rng.NormFloat64())
		y = append(y, -10*c+rng.NormFloat64())
	}
	f := &frame.Frame{}
	f.AddNumeric("x", x)
	f.AddNumeric("y", y)
	return f
}

// TestKEdgeWarning: three clear clusters chosen from [2, 3] land on the top of the range,
// from [3, 5] on its bottom, and from [2, 5] inside it. The warning reaches the summary
// (--json), the catalog and the report.
func TestKEdgeWarning(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kMin, kMax int
		want       string
	}{
		{"top", 2, 3, "largest k tried (2 to 3)"},
		{"bottom", 3, 5, "smallest k tried (3 to 5)"},
		{"inside", 2, 5, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Run(context.Background(), blobs(60), Options{Persona: persona.Settings{KMin: tc.kMin, KMax: tc.kMax,
				Stability: kmeans.StabilitySettings{Resamples: -1}}})
			if err != nil {
				t.Fatal(err)
			}
			if out.Model.K != 3 {
				t.Fatalf("k = %d, want 3", out.Model.K)
			}
			got := strings.Join(out.Summary().Warnings, "\n")
			if tc.want == "" {
				if got != "" {
					t.Errorf("warnings %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
			dir := t.TempDir()
			if err := out.Write(dir); err != nil {
				t.Fatal(err)
			}
			for _, file := range []string{CatalogFile, ReportFile} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(b, []byte(tc.want)) {
					t.Errorf("%s lacks the warning %q", file, tc.want)
				}
			}
		})
	}
}
