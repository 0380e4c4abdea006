package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/internal/csvtest"
)

// TestPersonasAndLTVCSV runs `ltv` into a models directory and `personas --models` on the
// same history, then reads personas.csv and customers.csv with encoding/csv, as a
// spreadsheet would: readable headers, the LTV model's means per persona, and values that
// parse.
func TestPersonasAndLTVCSV(t *testing.T) {
	dir := t.TempDir()
	// ltv and personas write into one models directory (--out MODELS), which personas also
	// reads with --models.
	hist, models := filepath.Join(dir, "hist"), filepath.Join(dir, "models")
	out := filepath.Join(models, "personas")
	for _, args := range [][]string{
		{"generate", "--out", hist, "--contacts", "1500", "--seed", "2"},
		{"ltv", "--transactions", filepath.Join(hist, "transactions.parquet"), "--calibration-end", "2025-12-31", "--out", models},
		{"personas", "--data", hist, "--as-of", "2026-01-01", "--k", "3", "--models", models, "--out", models},
	} {
		var stdout, stderr bytes.Buffer
		if code := realMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, stderr.String())
		}
	}
	rows := csvtest.ReadFile(t, filepath.Join(out, "personas.csv"))
	head := rows[0]
	for _, want := range []string{"persona", "name", "people", "share of people", "key traits", "probability still active",
		"probability still active (everyone)", "customer lifetime value", "customer lifetime value (everyone)"} {
		if !slices.Contains(head, want) {
			t.Errorf("personas.csv header %q lacks %q", head, want)
		}
	}
	for _, h := range head {
		if strings.ContainsAny(h, "_/=") {
			t.Errorf("personas.csv header %q reads as a column name", h)
		}
	}
	if len(rows) != 4 {
		t.Fatalf("personas.csv has %d personas, want 3", len(rows)-1)
	}
	clv := slices.Index(head, "customer lifetime value")
	for _, r := range rows[1:] {
		if _, err := strconv.Atoi(r[2]); err != nil {
			t.Errorf("people %q: %v", r[2], err)
		}
		if r[4] == "" || strings.ContainsAny(r[4], "_/") {
			t.Errorf("key traits %q", r[4])
		}
		for i := 5; i < len(r); i++ {
			if _, err := strconv.ParseFloat(r[i], 64); err != nil {
				t.Errorf("personas.csv %q = %q: %v", head[i], r[i], err)
			}
		}
		if v, _ := strconv.ParseFloat(r[clv], 64); !(v > 0) {
			t.Errorf("persona %s mean clv %q, want a positive amount", r[0], r[clv])
		}
	}

	rows = csvtest.ReadFile(t, filepath.Join(models, "ltv", "customers.csv"))
	if got := strings.Join(rows[0][:4], ","); got != "customer_id,repeat_purchases,days_first_to_last,days_observed" {
		t.Errorf("customers.csv header starts %q", got)
	}
	for _, r := range rows[1:] {
		for i, h := range rows[0] {
			switch h {
			case "customer_id", "value_tier", "holdout_repeat_purchases", "holdout_forecast":
			case "repeat_purchases", "days_first_to_last", "days_observed":
				if _, err := strconv.Atoi(r[i]); err != nil {
					t.Fatalf("customers.csv %s = %q, want an integer", h, r[i])
				}
			default:
				if _, err := strconv.ParseFloat(r[i], 64); err != nil {
					t.Fatalf("customers.csv %s = %q: %v", h, r[i], err)
				}
			}
		}
	}
}
