package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/data/synth"
)

// renameParquet rewrites a Parquet file with some top-level columns renamed, values kept.
func renameParquet(t *testing.T, path string, rename map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	g := parquet.Group{}
	var oldLeaf []string // leaf index → new top-level name
	for _, fl := range pf.Schema().Fields() {
		name := fl.Name()
		if r, ok := rename[name]; ok {
			name = r
		}
		g[name] = fl
		for range leafCount(fl) {
			oldLeaf = append(oldLeaf, name)
		}
	}
	schema := parquet.NewSchema("renamed", g)
	newIndex := make([]int, len(oldLeaf))
	for i, name := range oldLeaf {
		leaf, ok := schema.Lookup(name)
		if !ok {
			t.Fatalf("%s: nested column %q not supported by the test helper", path, name)
		}
		newIndex[i] = leaf.ColumnIndex
	}
	var rows []parquet.Row
	rd := parquet.NewReader(pf)
	buf := make([]parquet.Row, 256)
	for {
		n, err := rd.ReadRows(buf)
		for _, r := range buf[:n] {
			out := make(parquet.Row, len(r))
			for k, v := range r {
				out[k] = v.Clone().Level(v.RepetitionLevel(), v.DefinitionLevel(), newIndex[v.Column()])
			}
			slices.SortStableFunc(out, func(a, b parquet.Value) int { return a.Column() - b.Column() })
			rows = append(rows, out)
		}
		if err != nil || n == 0 {
			break
		}
	}
	rd.Close()
	f.Close()
	var w bytes.Buffer
	pw := parquet.NewWriter(&w, schema)
	if _, err := pw.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, w.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func leafCount(n parquet.Node) int {
	if n.Leaf() {
		return 1
	}
	k := 0
	for _, f := range n.Fields() {
		k += leafCount(f)
	}
	return k
}

// mappingYAML maps the renamed history below back to the contract's names.
const mappingYAML = `contacts:
  file: kontakte.parquet
  contact_id: Kontakt ID
  created_at: angelegt am
events:
  contact_id: Kontakt ID
  ts: Zeitpunkt
  type: Art
transactions:
  file: bestellungen.parquet
  contact_id: Kunde
  ts: Bestelldatum
  amount: Betrag
`

// TestEveryHistoryCommandTakesConfig runs every command that reads a history on one whose
// files and columns have other names, with --config naming them; without it, they fail
// naming a column.
func TestEveryHistoryCommandTakesConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and runs every command on it")
	}
	hist := t.TempDir()
	if _, err := synth.Generate(context.Background(), hist, synth.Options{Contacts: 3000, Seed: 5, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	renameParquet(t, filepath.Join(hist, "contacts.parquet"), map[string]string{"contact_id": "Kontakt ID", "created_at": "angelegt am"})
	renameParquet(t, filepath.Join(hist, "events.parquet"), map[string]string{"contact_id": "Kontakt ID", "ts": "Zeitpunkt", "type": "Art"})
	renameParquet(t, filepath.Join(hist, "transactions.parquet"), map[string]string{"contact_id": "Kunde", "ts": "Bestelldatum", "amount": "Betrag"})
	for old, new := range map[string]string{"contacts.parquet": "kontakte.parquet", "transactions.parquet": "bestellungen.parquet"} {
		if err := os.Rename(filepath.Join(hist, old), filepath.Join(hist, new)); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(hist, synth.TruthFile))
	cfg := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(cfg, []byte(mappingYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := func(name string) string { return filepath.Join(out, name) }
	asOf := "2026-01-01"
	cmds := []struct {
		name string
		args []string
	}{
		{"features", []string{"features", "--data", hist, "--as-of", asOf, "--out", o("f.parquet")}},
		{"train", []string{"train", "conversion", "--data", hist, "--as-of", asOf, "--out", o("models")}},
		{"score", []string{"score", "--data", hist, "--as-of", asOf, "--models", o("models"), "--out", o("s.csv")}},
		{"personas", []string{"personas", "--data", hist, "--as-of", asOf, "--k", "3", "--out", o("personas")}},
		{"evaluate", []string{"evaluate", "--data", hist, "--as-of", asOf, "--horizon", "90d", "--scorecard", evaluateScorecard, "--out", o("eval")}},
		{"ingest", []string{"ingest", "--data", hist, "--store", o("store")}},
		{"ltv", []string{"ltv", "--transactions", filepath.Join(hist, "bestellungen.parquet"), "--calibration-end", "2025-09-30"}},
	}
	for _, c := range cmds {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// Without the mapping: refused as bad input, naming what is missing.
			if code := realMain(context.Background(), c.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("without --config: exit %d, want 2: %s", code, stderr.String())
			}
			stdout.Reset()
			stderr.Reset()
			if code := realMain(context.Background(), append(c.args, "--config", cfg), &stdout, &stderr); code != exitOK {
				t.Fatalf("with --config: exit %d: %s", code, lastLines(stderr.String(), 5))
			}
		})
	}
	if b, err := os.ReadFile(o("s.csv")); err != nil || !strings.HasPrefix(string(b), "contact_id,") {
		t.Errorf("score --out s.csv: %v, %.60q", err, b)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
