package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoProgressOffTerminal: when stderr is not a terminal (a file, a pipe, a test buffer),
// long jobs draw no progress bars: stderr holds log lines only and stdout one JSON object.
func TestNoProgressOffTerminal(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "hist")
	for _, args := range [][]string{
		{"generate", "--out", hist, "--contacts", "600", "--seed", "2", "--json"},
		{"features", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(dir, "f.parquet"), "--json"},
	} {
		var stdout, stderr bytes.Buffer
		if code := realMain(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		if strings.ContainsAny(stderr.String(), "\r\x1b") || strings.Contains(stderr.String(), "rows/s") {
			t.Errorf("%s: progress drawn on a non-terminal stderr: %q", args[0], stderr.String())
		}
		var v map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
			t.Errorf("%s: stdout is not one JSON object: %v\n%s", args[0], err, stdout.String())
		}
	}
}
