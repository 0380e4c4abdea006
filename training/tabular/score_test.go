package tabular

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/internal/csvtest"
	"github.com/propensity-dev/propensity/internal/table"
)

// writeExport writes a semicolon CSV with decimal commas, a euro column, a dd.mm.yyyy date
// and a ja/nein label driven by them.
func writeExport(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	b.WriteString("\ufeffKunden-Nr;Besuche;Umsatz;Seit;Tarif;Gekauft\n")
	ref := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	for i := range n {
		v := rng.NormFloat64()
		amt := 50 + 40*rng.Float64()
		days := rng.IntN(400)
		plan := []string{"basis", "pro", "n/a"}[rng.IntN(3)]
		z := -0.5 + v + 0.02*(amt-70) - 0.002*float64(days)
		label := "nein"
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			label = "ja"
		}
		fmt.Fprintf(&b, "K%05d;%s;€%s;%s;%s;%s\n", i, strings.Replace(strconv.FormatFloat(v, 'f', 2, 64), ".", ",", 1),
			strings.Replace(strconv.FormatFloat(amt, 'f', 2, 64), ".", ",", 1), ref.AddDate(0, 0, -days).Format("02.01.2006"), plan, label)
	}
	p := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScoreTableReproducesTest checks that score --table gives the held-out test rows the
// probabilities the training run computed for them, for both output formats and models.
func TestScoreTableReproducesTest(t *testing.T) {
	dir := t.TempDir()
	path := writeExport(t, dir, 1500)
	for _, model := range []string{"logistic", "gbt"} {
		t.Run(model, func(t *testing.T) {
			models := filepath.Join(dir, model)
			res, _, err := TableJob{Path: path, Label: LabelOptions{Label: "Gekauft", ID: "Kunden-Nr"},
				Train: Options{Model: model}, Out: models}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.TestIndex) != len(res.TestP) || len(res.TestIndex) == 0 {
				t.Fatalf("%d test rows, %d probabilities", len(res.TestIndex), len(res.TestP))
			}
			for _, ext := range []string{".csv", ".parquet"} {
				out := filepath.Join(dir, model+"-scores"+ext)
				sum, err := ScoreTableJob{Path: path, Models: models, ID: "Kunden-Nr", Out: out}.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if sum.Rows != 1500 {
					t.Fatalf("rows = %d", sum.Rows)
				}
				ids, p := readScores(t, out, "Kunden-Nr", "p_convert")
				for k, i := range res.TestIndex {
					if want := fmt.Sprintf("K%05d", i); ids[i] != want {
						t.Fatalf("row %d id %q, want %q", i, ids[i], want)
					}
					if math.Abs(p[i]-res.TestP[k]) > 1e-12 {
						t.Fatalf("%s row %d: score --table %v, training test prediction %v", ext, i, p[i], res.TestP[k])
					}
				}
			}
		})
	}
}

func readScores(t *testing.T, path, idCol, pCol string) ([]string, []float64) {
	t.Helper()
	if strings.HasSuffix(path, ".csv") {
		recs := csvtest.ReadFile(t, path)
		if recs[0][0] != idCol || recs[0][1] != pCol {
			t.Fatalf("header %v", recs[0])
		}
		var ids []string
		var p []float64
		for _, r := range recs[1:] {
			v, err := strconv.ParseFloat(r[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			ids, p = append(ids, r[0]), append(p, v)
		}
		return ids, p
	}
	tb, err := table.Read(path, table.Options{Keep: []string{idCol}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Report.Format != "parquet" || tb.Column(idCol) == nil || tb.Column(pCol) == nil {
		t.Fatalf("scores file: %+v", tb.Report)
	}
	return tb.Column(idCol).Cat, tb.Column(pCol).Num
}

func TestScoreTableRefusesChangedColumns(t *testing.T) {
	dir := t.TempDir()
	path := writeExport(t, dir, 600)
	models := filepath.Join(dir, "models")
	if _, _, err := (TableJob{Path: path, Label: LabelOptions{Label: "Gekauft", ID: "Kunden-Nr"}, Out: models}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body, col string }{
		{"missing column", strings.Replace(string(body), ";Umsatz;", ";Betrag;", 1), "Umsatz"},
		{"changed type", strings.Replace(string(body), "€", "abc", 1), "Umsatz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "new.csv")
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ScoreTableJob{Path: p, Models: models, ID: "Kunden-Nr", Out: filepath.Join(t.TempDir(), "s.csv")}.Run(context.Background())
			var re *table.Error
			if !errors.As(err, &re) || !strings.Contains(err.Error(), strconv.Quote(tc.col)) {
				t.Fatalf("err = %v, want a table error naming %q", err, tc.col)
			}
		})
	}
}
