package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writePersonasTable(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,spend,visits,flat,label\n")
	for i := range 40 {
		if i%2 == 0 {
			b.WriteString("c" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ",900,2,5,1\n")
		} else {
			b.WriteString("c" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ",10,30,5,0\n")
		}
	}
	p := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPersonasCommand(t *testing.T) {
	table := writePersonasTable(t)
	dir := t.TempDir()
	segs := filepath.Join(dir, "segs.yml")
	os.WriteFile(segs, []byte("big: spend > 500\n"), 0o644)
	// Several segments print in file order (not sorted, not in map order).
	many := filepath.Join(dir, "many.yml")
	os.WriteFile(many, []byte("zeta: spend > 500\nalpha: visits > 10\nmid: flat == 5\nbeta: spend < 0\n"), 0o644)
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("big: money > 500\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout (code 0) or stderr
	}{
		{"ok", []string{"--table", table, "--exclude", "label", "--k", "2", "--segments", segs, "--json"}, 0, `"k": 2`},
		{"auto", []string{"--table", table, "--exclude", "label", "--k-max", "4"}, 0, "2 personas from 40 contacts"},
		{"segments in file order", []string{"--table", table, "--exclude", "label", "--k", "2", "--segments", many}, 0,
			"  segment zeta: 20\n  segment alpha: 20\n  segment mid: 40\n  segment beta: 0\n"},
		{"k above rows", []string{"--table", table, "--k", "41"}, 2, "k = 41 is larger than the number of rows (40)"},
		{"unknown segment field", []string{"--table", table, "--segments", bad, "--k", "2"}, 2, `segment "big": unknown field "money"`},
		{"bad k", []string{"--table", table, "--k", "many"}, 2, `--k: "many"`},
		{"no input", []string{}, 2, "exactly one of --data"},
		{"missing file", []string{"--table", filepath.Join(dir, "nope.csv")}, 2, "nope.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), append([]string{"personas", "--out", out}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			where := stderr.String()
			if code == 0 {
				where = stdout.String()
			}
			if !strings.Contains(where, tc.want) {
				t.Fatalf("output lacks %q:\nstdout: %s\nstderr: %s", tc.want, stdout.String(), stderr.String())
			}
			if tc.name == "ok" {
				var sum map[string]any
				if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
					t.Fatalf("stdout is not one JSON object: %v", err)
				}
				for _, f := range []string{"personas.json", "assignments.parquet", "assignments.csv", "report.html", "manifest.json"} {
					if _, err := os.Stat(filepath.Join(out, "personas", f)); err != nil { // --out is a models directory
						t.Errorf("missing %s", f)
					}
				}
			}
		})
	}
}

// TestPersonasFromHistory runs the --data mode on a small generated history.
func TestPersonasFromHistory(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "hist")
	var stdout, stderr bytes.Buffer
	if code := realMain(context.Background(), []string{"generate", "--out", hist, "--contacts", "400", "--seed", "2"}, &stdout, &stderr); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr.String())
	}
	out := filepath.Join(t.TempDir(), "out")
	stdout.Reset()
	stderr.Reset()
	code := realMain(context.Background(), []string{"personas", "--data", hist, "--as-of", "2026-01-01", "--k", "3", "--out", out, "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var sum struct {
		K     int   `json:"k"`
		Rows  int   `json:"rows"`
		Sizes []int `json:"sizes"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sum.Sizes {
		total += s
	}
	if sum.K != 3 || sum.Rows < 300 || total != sum.Rows {
		t.Fatalf("summary %+v", sum)
	}
	// The default persona feature set: demographics and shares, not every feature column.
	raw, err := os.ReadFile(filepath.Join(out, "personas", "personas.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Columns []string `json:"columns"`
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"age", "account_type", "decayed_webinar/decayed_events", "purchase_amount_sum/purchase_count"} {
		if !slices.Contains(cat.Columns, want) {
			t.Errorf("personas.json columns lack %q: %v", want, cat.Columns)
		}
	}
	if slices.Contains(cat.Columns, "n_page_view_7d") {
		t.Errorf("the persona feature set has a raw weekly count: %v", cat.Columns)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--feature-set", "all", "--k", "2"}, 0, "2 personas"},
		{[]string{"--columns", "age,tenure_days", "--k", "2"}, 0, "2 personas"},
		{[]string{"--feature-set", "some"}, exitUsage, `--feature-set: "some"`},
	} {
		stdout.Reset()
		stderr.Reset()
		args := append([]string{"personas", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(t.TempDir(), "o")}, tc.args...)
		code := realMain(context.Background(), args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
			t.Errorf("%v: exit %d (want %d), output %q lacks %q", tc.args, code, tc.code, stdout.String()+stderr.String(), tc.want)
		}
	}
}

// TestPersonasFeatureTable clusters the Parquet table written by `propensity features`: its
// merged_ids list column is refused by name unless --exclude leaves it out.
func TestPersonasFeatureTable(t *testing.T) {
	dir := t.TempDir()
	hist, table := filepath.Join(dir, "hist"), filepath.Join(dir, "features.parquet")
	for _, args := range [][]string{
		{"generate", "--out", hist, "--contacts", "400", "--seed", "3"},
		{"features", "--data", hist, "--as-of", "2026-01-01", "--out", table},
	} {
		var stdout, stderr bytes.Buffer
		if code := realMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"personas", "--table", table, "--k", "3", "--impute", "--out", filepath.Join(dir, "a")}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "merged_ids") {
		t.Fatalf("without --exclude: exit %d, stderr %q; want exit 2 naming merged_ids", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	code = realMain(context.Background(), []string{"personas", "--table", table, "--exclude", "merged_ids", "--k", "3", "--impute", "--out", filepath.Join(dir, "b"), "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("with --exclude merged_ids: exit %d: %s", code, stderr.String())
	}
	var sum struct {
		K int `json:"k"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil || sum.K != 3 {
		t.Fatalf("summary %s (%v)", stdout.String(), err)
	}
}
