package clobber

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDefect6Check covers issue 17 defect 6 at the package level: every way an output can
// name an input, or a place the input is read from, is refused; neighbours are not.
func TestDefect6Check(t *testing.T) {
	root := t.TempDir()
	hist := filepath.Join(root, "hist")
	touch(t, filepath.Join(hist, "contacts.parquet"))
	touch(t, filepath.Join(hist, "events", "part-0.parquet"))
	touch(t, filepath.Join(root, "models", "conversion", "model.json"))
	touch(t, filepath.Join(root, "table.csv"))
	if err := os.Symlink(hist, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "table.csv"), filepath.Join(root, "hardlink.csv")); err != nil {
		t.Fatal(err)
	}
	history := Path{Flag: "--data", Path: hist, Reads: []string{"contacts.parquet", "events", "transactions.parquet"}}
	models := Path{Flag: "--models", Path: filepath.Join(root, "models")}
	table := Path{Flag: "--table", Path: filepath.Join(root, "table.csv")}
	j := func(p ...string) string { return filepath.Join(append([]string{root}, p...)...) }
	tests := []struct {
		name     string
		out      string
		in       Path
		relation string // "" when allowed
	}{
		{"history file", j("hist", "contacts.parquet"), history, "is"},
		{"dotted spelling", j("hist", "..", "hist", ".", "contacts.parquet"), history, "is"},
		{"through a symlink", j("link", "contacts.parquet"), history, "is"},
		{"missing optional history file", j("hist", "transactions.parquet"), history, "is"},
		{"new part file", j("hist", "events", "part-9.parquet"), history, "lies inside"},
		{"history dir itself", hist, history, "contains"},
		{"parent of the history", root, history, "contains"},
		{"elsewhere in the history dir", j("hist", "features.parquet"), history, ""},
		{"beside the history", j("features.parquet"), history, ""},
		{"prefix that is not a parent", j("hist2", "contacts.parquet"), history, ""},
		{"inside a models dir", j("models", "scores.parquet"), models, "lies inside"},
		{"models dir itself", j("models"), models, "is"},
		{"table", j("table.csv"), table, "is"},
		{"hard link to the table", j("hardlink.csv"), table, "is"},
		{"dir holding the table", root, table, "contains"},
		{"beside the table", j("table.out.csv"), table, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]Path{{Flag: "--out", Path: tt.out}}, []Path{tt.in})
			if tt.relation == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrOverlap) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.Relation != tt.relation {
				t.Errorf("relation %q, want %q", e.Relation, tt.relation)
			}
			msg := err.Error()
			if !strings.Contains(msg, "--out "+tt.out) || !strings.Contains(msg, tt.in.Flag+" "+tt.in.Path) {
				t.Errorf("message does not name both paths: %s", msg)
			}
		})
	}
}

func TestCheckEmptyAndSeveral(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := Check([]Path{{Flag: "--out", Path: ""}}, []Path{{Flag: "--data", Path: dir}}); err != nil {
		t.Errorf("empty output refused: %v", err)
	}
	if err := Check([]Path{{Flag: "--out", Path: a}}, []Path{{Flag: "--config", Path: ""}}); err != nil {
		t.Errorf("empty input refused: %v", err)
	}
	err := Check([]Path{{Flag: "--out", Path: a}, {Flag: "--report", Path: b}},
		[]Path{{Flag: "--x", Path: a}, {Flag: "--y", Path: b}})
	if err == nil || !strings.Contains(err.Error(), "--out") || !strings.Contains(err.Error(), "--report") {
		t.Errorf("want both overlaps reported, got %v", err)
	}
}
