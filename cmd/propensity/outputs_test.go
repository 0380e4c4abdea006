package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// treeDigest hashes every file under root (names and contents), to show that a refused
// command left its inputs as they were.
func treeDigest(t *testing.T, root string) [32]byte {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestDefect6OutOverlapsInput is issue 17 defect 6: `features --data base --out
// base/events.parquet` replaced the events history with the feature table and exited 0.
// Every command that writes must refuse, with exit 2 and both paths named, an output that
// is an input, lies inside a path it reads, or contains one; the inputs stay untouched.
func TestDefect6OutOverlapsInput(t *testing.T) {
	root := t.TempDir()
	hist := featuresHistory(t)
	// A history whose events are a directory of part files.
	parts := featuresHistory(t)
	os.Rename(filepath.Join(parts, "events.parquet"), filepath.Join(parts, "part-0.parquet"))
	os.MkdirAll(filepath.Join(parts, "events.parquet"), 0o755)
	os.Rename(filepath.Join(parts, "part-0.parquet"), filepath.Join(parts, "events.parquet", "part-0.parquet"))
	// A history kept in a folder that is also a train target's name.
	churnHist := filepath.Join(root, "data", "churn")
	os.MkdirAll(filepath.Dir(churnHist), 0o755)
	os.Rename(featuresHistory(t), churnHist)
	models := filepath.Join(root, "models")
	os.MkdirAll(filepath.Join(models, "conversion"), 0o755)
	table := filepath.Join(models, "conversion", "train.csv")
	os.WriteFile(table, []byte("id,x,y\n1,2,0\n"), 0o644)
	cfg := filepath.Join(root, "history.yaml")
	os.WriteFile(cfg, []byte("events:\n  file: events.parquet\n"), 0o644)
	// personas --out MODELS writes MODELS/personas/: a segments file there would be overwritten.
	segs := filepath.Join(root, "out", "personas", "segments.yaml")
	os.MkdirAll(filepath.Dir(segs), 0o755)
	os.WriteFile(segs, []byte("hot: n_events_90d > 3\n"), 0o644)
	cards := filepath.Join(root, "cards")
	os.MkdirAll(cards, 0o755)
	dealership, err := os.ReadFile(filepath.Join("..", "..", "data", "scorecards", "dealership.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(cards, "a.yaml"), dealership, 0o644)
	link := filepath.Join(root, "link")
	if err := os.Symlink(hist, link); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		args  []string
		paths []string // both paths the message must name
	}{
		{"features events file", []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(hist, "events.parquet")},
			[]string{filepath.Join(hist, "events.parquet")}},
		{"features through a symlink", []string{"features", "--data", link, "--as-of", "2026-01-01", "--out", filepath.Join(hist, "contacts.parquet")},
			[]string{filepath.Join(hist, "contacts.parquet"), link}},
		{"features missing optional file", []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(hist, "identities.parquet")},
			[]string{filepath.Join(hist, "identities.parquet")}},
		{"features new part file", []string{"features", "--data", parts, "--as-of", "2026-01-01", "--out", filepath.Join(parts, "events.parquet", "part-1.parquet")},
			[]string{filepath.Join(parts, "events.parquet", "part-1.parquet"), filepath.Join(parts, "events.parquet")}},
		{"features config", []string{"features", "--data", hist, "--config", cfg, "--as-of", "2026-01-01", "--out", cfg},
			[]string{"--config " + cfg}},
		{"score history file", []string{"score", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(hist, "transactions.parquet")},
			[]string{filepath.Join(hist, "transactions.parquet")}},
		{"score inside models", []string{"score", "--data", hist, "--as-of", "2026-01-01", "--models", models, "--out", filepath.Join(models, "scores.parquet")},
			[]string{filepath.Join(models, "scores.parquet"), "--models " + models}},
		{"score scorecard folder", []string{"score", "--data", hist, "--as-of", "2026-01-01", "--scorecard", cards, "--out", filepath.Join(cards, "s.parquet")},
			[]string{"--scorecard " + cards}},
		{"train table", []string{"train", "--table", table, "--label", "y", "--out", models},
			[]string{filepath.Join(models, "conversion"), "--table " + table}},
		{"train history", []string{"train", "churn", "--data", churnHist, "--as-of", "2026-01-01", "--out", filepath.Dir(churnHist)},
			[]string{churnHist}},
		// ltv and personas write MODELS/<kind>/ of their --out (checked before the inputs are
		// read, so these inputs need not exist).
		{"ltv", []string{"ltv", "--transactions", filepath.Join(root, "m2", "ltv", "tx.parquet"), "--calibration-end", "2025-12-31", "--out", filepath.Join(root, "m2")},
			[]string{"--out " + filepath.Join(root, "m2", "ltv"), "--transactions " + filepath.Join(root, "m2", "ltv", "tx.parquet")}},
		{"personas table", []string{"personas", "--table", filepath.Join(root, "m3", "personas", "t.csv"), "--out", filepath.Join(root, "m3")},
			[]string{"--table " + filepath.Join(root, "m3", "personas", "t.csv")}},
		{"personas history", []string{"personas", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(hist, "events.parquet")},
			[]string{filepath.Join(hist, "events.parquet")}},
		{"personas segments", []string{"personas", "--data", hist, "--as-of", "2026-01-01", "--segments", segs, "--out", filepath.Dir(filepath.Dir(segs))},
			[]string{"--segments " + segs}},
		{"evaluate models", []string{"evaluate", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", filepath.Join(cards, "a.yaml"),
			"--models", models, "--out", filepath.Join(models, "eval")}, []string{"--models " + models}},
		{"evaluate history", []string{"evaluate", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", filepath.Join(cards, "a.yaml"),
			"--out", hist}, []string{"--out " + hist}},
	}
	before := treeDigest(t, root)
	beforeHist, beforeParts := treeDigest(t, hist), treeDigest(t, parts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), tt.args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			msg := stderr.String()
			for _, p := range append([]string{"--out "}, tt.paths...) {
				if !strings.Contains(msg, p) {
					t.Errorf("message does not name %q: %s", p, msg)
				}
			}
			if !strings.Contains(msg, "must not overwrite an input") {
				t.Errorf("message does not say why: %s", msg)
			}
		})
	}
	if treeDigest(t, root) != before || treeDigest(t, hist) != beforeHist || treeDigest(t, parts) != beforeParts {
		t.Error("a refused command changed its inputs")
	}

	// An output elsewhere in the history directory is not read back, so it is allowed.
	t.Run("features beside the history files", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		out := filepath.Join(hist, "features.parquet")
		if code := realMain(context.Background(), []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", out}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if _, err := os.Stat(out); err != nil {
			t.Fatal(err)
		}
	})
}
