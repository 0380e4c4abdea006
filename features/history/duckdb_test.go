package history

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
)

// duckdbScript finds the DuckDB reference script (the peer script duckdb_features.mjs (docs/performance.md)) in a
// folder where `npm install` has been run, or "" when there is none.
func duckdbScript(t testing.TB) string {
	if _, err := exec.LookPath("node"); err != nil {
		return ""
	}
	cands := []string{filepath.Join(repoRoot(t), "..", "shared", "bench"), "/tmp/bench"}
	if d := os.Getenv("PROPENSITY_BENCH_DIR"); d != "" {
		cands = append([]string{d}, cands...)
	}
	for _, d := range cands {
		s := filepath.Join(d, "duckdb_features.mjs")
		if _, err := os.Stat(s); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "node_modules", "@duckdb", "node-api")); err != nil {
			continue
		}
		return s
	}
	return ""
}

// compareCanonical checks, cell by cell, that the canonical columns of got equal those of
// want (the DuckDB reference): counts exactly, days and amounts within 1e-6.
func compareCanonical(t *testing.T, got, want *Table) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Errorf("people: got %d, DuckDB %d", got.Len(), want.Len())
	}
	wantRow := map[string]int{}
	for i, id := range want.ContactIDs() {
		wantRow[id] = i
	}
	gotIDs := got.ContactIDs()
	compared := 0
	defer func() {
		// 1 + 36 per-type counts + 6 + 4 labels when the reference has labels
		if compared < 43 {
			t.Errorf("only %d canonical columns compared", compared)
		}
		t.Logf("compared %d columns × %d people", compared, len(gotIDs))
	}()
	for _, c := range want.Schema().Columns {
		if c.Name == "contact_id" {
			continue
		}
		if got.Schema().Index(c.Name) < 0 {
			t.Errorf("column %s missing", c.Name)
			continue
		}
		compared++
		g, err := got.Float64s(c.Name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := want.Float64s(c.Name)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for i, id := range gotIDs {
			j, ok := wantRow[id]
			if !ok {
				if c.Name == "n_events_30d" {
					t.Errorf("person %s not in the DuckDB table", id)
				}
				continue
			}
			a, b := g[i], w[j]
			same := (math.IsNaN(a) && math.IsNaN(b)) || a == b ||
				(!c.Integer && math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)))
			if !same {
				if bad < 3 {
					t.Errorf("%s of %s: got %v, DuckDB %v", c.Name, id, a, b)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d cells differ", c.Name, bad)
		}
	}
}

func runDuckDB(t *testing.T, script, dir, asOf string, horizonDays int) *Table {
	t.Helper()
	out := filepath.Join(t.TempDir(), "duck.parquet")
	cmd := exec.Command("node", script, dir, asOf, out, "2", strconv.Itoa(horizonDays))
	cmd.Dir = filepath.Dir(script)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("DuckDB reference: %v\n%s", err, b)
	}
	tb, err := ReadParquet(out)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestMatchesDuckDBReference(t *testing.T) {
	script := duckdbScript(t)
	if script == "" {
		t.Skip("DuckDB reference not installed (need node and npm install beside the peer script duckdb_features.mjs (docs/performance.md) or /tmp/bench)")
	}
	dir := generated(t)
	want := runDuckDB(t, script, dir, "2026-01-01", 90)
	defer want.Release()
	got, _, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf, Horizon: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	compareCanonical(t, got, want)
	// stitched people: merged contacts exist and none of them has a row of its own
	merged := 0
	ids := map[string]bool{}
	for _, id := range got.ContactIDs() {
		ids[id] = true
	}
	for _, m := range got.MergedIDs() {
		for _, id := range m {
			merged++
			if ids[id] {
				t.Errorf("merged id %s also has its own row", id)
			}
		}
	}
	if merged == 0 {
		t.Error("generated history has no merged contacts: the stitching is not exercised")
	}
}

// TestCompareFiles compares two feature files named by $PROPENSITY_COMPARE ("ours.parquet,
// duckdb.parquet"), as scripts/bench_features.sh does after timing both on a large history.
func TestCompareFiles(t *testing.T) {
	pair := os.Getenv("PROPENSITY_COMPARE")
	if pair == "" {
		t.Skip("set PROPENSITY_COMPARE=ours.parquet,duckdb.parquet to compare two feature files")
	}
	ours, duck, ok := strings.Cut(pair, ",")
	if !ok {
		t.Fatalf("PROPENSITY_COMPARE=%q: want two comma-separated files", pair)
	}
	got, err := ReadParquet(ours)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	want, err := ReadParquet(duck)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	compareCanonical(t, got, want)
}
