package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/internal/csvtest"
	"github.com/propensity-dev/propensity/internal/shareddata"
	"github.com/propensity-dev/propensity/internal/table"
)

// messyTelco writes a copy of the Telco churn table as a European CRM would export it: a
// UTF-8 byte-order mark, semicolons, decimal commas, German headers with spaces and umlauts,
// ja/nein booleans, a contract start date (dd.mm.yyyy) derived from the tenure, the total
// charges as a euro amount with thousands dots, and n/a, NA and empty cells for its blanks.
func messyTelco(t *testing.T, clean string) string {
	t.Helper()
	recs := csvtest.ReadFile(t, clean)
	col := map[string]int{}
	for j, h := range recs[0] {
		col[h] = j
	}
	rename := map[string]string{"customerID": "Kunden-Nr", "tenure": "Vertragsdauer (Monate)", "MonthlyCharges": "Monatliche Gebühr",
		"TotalCharges": "Gesamtbetrag", "Churn": "Gekündigt", "Partner": "Partner vorhanden", "PaymentMethod": "Zahlungsart"}
	ref := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Comma = ';'
	var hdr []string
	for _, h := range recs[0] {
		if r, ok := rename[h]; ok {
			h = r
		}
		hdr = append(hdr, h)
	}
	w.Write(append(hdr, "Vertragsbeginn"))
	missing := []string{"n/a", "NA", "", "N/A"}
	for i, r := range recs[1:] {
		out := append([]string(nil), r...)
		for _, yn := range []string{"Partner", "Churn"} {
			out[col[yn]] = map[string]string{"Yes": "ja", "No": "nein"}[r[col[yn]]]
		}
		out[col["MonthlyCharges"]] = strings.ReplaceAll(r[col["MonthlyCharges"]], ".", ",")
		if tc := strings.TrimSpace(r[col["TotalCharges"]]); tc == "" {
			out[col["TotalCharges"]] = missing[i%len(missing)]
		} else {
			v, err := strconv.ParseFloat(tc, 64)
			if err != nil {
				t.Fatal(err)
			}
			out[col["TotalCharges"]] = "€" + euro(v)
		}
		months, err := strconv.Atoi(r[col["tenure"]])
		if err != nil {
			t.Fatal(err)
		}
		w.Write(append(out, ref.AddDate(0, -months, -(i%28)).Format("02.01.2006")))
	}
	w.Flush()
	p := filepath.Join(t.TempDir(), "kunden export.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// euro formats v as 1.889,50.
func euro(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var g []string
	for len(intPart) > 3 {
		g = append([]string{intPart[len(intPart)-3:]}, g...)
		intPart = intPart[:len(intPart)-3]
	}
	return strings.Join(append([]string{intPart}, g...), ".") + "," + frac
}

type trainJSON struct {
	CVAUC   *float64      `json:"cv_auc"`
	Columns *table.Report `json:"columns"`
}

func trainTable(t *testing.T, args ...string) (trainJSON, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := realMain(context.Background(), append([]string{"train"}, args...), &stdout, &stderr); code != exitOK {
		t.Fatalf("train %v: exit %d: %s", args, code, stderr.String())
	}
	var s trainJSON
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, stdout.String())
	}
	if s.CVAUC == nil || s.Columns == nil {
		t.Fatalf("summary lacks cv_auc or columns: %s", stdout.String())
	}
	return s, stderr.String()
}

// TestTrainMessyExport is issue 18's test: the messy export of Telco trains as well as the
// clean file (5-fold CV AUC within 0.01, logistic and gbt), and its column report names
// every column's decision.
func TestTrainMessyExport(t *testing.T) {
	clean := filepath.Join(shareddata.Dir(t), "telco_churn", "telco_churn.csv")
	messy := messyTelco(t, clean)
	for _, model := range []string{"logistic", "gbt"} {
		t.Run(model, func(t *testing.T) {
			c, _ := trainTable(t, "--table", clean, "--label", "Churn", "--id", "customerID", "--cv", "5", "--model", model, "--json")
			m, stderr := trainTable(t, "--table", messy, "--label", "Gekündigt", "--id", "Kunden-Nr", "--cv", "5", "--model", model, "--json")
			t.Logf("%s: clean CV AUC %.4f, messy %.4f", model, *c.CVAUC, *m.CVAUC)
			if math.Abs(*c.CVAUC-*m.CVAUC) > 0.01 {
				t.Errorf("messy CV AUC %.4f vs clean %.4f: more than 0.01 apart", *m.CVAUC, *c.CVAUC)
			}
			r := m.Columns
			if r.Delimiter != ";" || !r.BOM || r.Decimal != "," {
				t.Errorf("dialect: delimiter %q bom %v decimal %q", r.Delimiter, r.BOM, r.Decimal)
			}
			if len(r.Columns) != 22 {
				t.Errorf("report has %d columns, want the file's 22", len(r.Columns))
			}
			for _, c := range r.Columns {
				if c.Type == "" || c.Use == "" {
					t.Errorf("column %q has no decision: %+v", c.Name, c)
				}
				if !strings.Contains(stderr, c.Name) {
					t.Errorf("stderr report lacks column %q", c.Name)
				}
			}
			want := map[string][2]string{
				"Monatliche Gebühr":      {table.TypeNumber, table.UseNumeric},
				"Gesamtbetrag":           {table.TypeNumber, table.UseNumeric},
				"Vertragsdauer (Monate)": {table.TypeInteger, table.UseNumeric},
				"Partner vorhanden":      {table.TypeBoolean, table.UseNumeric},
				"Vertragsbeginn":         {table.TypeDate, table.UseDays},
				"Zahlungsart":            {table.TypeCategorical, table.UseCategorical},
				"Kunden-Nr":              {table.TypeKept, table.UseKept},
			}
			for name, w := range want {
				c := r.Column(name)
				if c == nil || c.Type != w[0] || c.Use != w[1] {
					t.Errorf("column %q: %+v, want type %s use %s", name, c, w[0], w[1])
				}
			}
			if g := r.Column("Gesamtbetrag"); g == nil || !strings.Contains(fmt.Sprint(g.Why), `"€" stripped`) || g.Missing == 0 {
				t.Errorf("Gesamtbetrag: %+v, want the euro sign stripped and reported, and its blanks missing", g)
			}
			if strings.Contains(stderr, "\ufeff") {
				t.Errorf("stderr carries the byte-order mark")
			}
		})
	}
}
