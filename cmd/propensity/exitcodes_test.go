package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// exitHistory generates a small history once per test binary run (600 people: enough for
// every command to get past its checks and start working).
func exitHistory(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hist")
	var stdout, stderr bytes.Buffer
	if code := realMain(context.Background(), []string{"generate", "--out", dir, "--contacts", "600", "--seed", "3"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("generate: exit %d: %s", code, stderr.String())
	}
	return dir
}

// emptyHistory is a history whose files are valid Parquet with no rows: zero contacts.
func emptyHistory(t *testing.T) string {
	dir := t.TempDir()
	writeParquetRows(t, filepath.Join(dir, "contacts.parquet"), []featContact{})
	writeParquetRows(t, filepath.Join(dir, "events.parquet"), []featEvent{})
	return dir
}

// corruptModels is a models directory whose conversion artifact is damaged.
func corruptModels(t *testing.T) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conversion"), 0o755)
	os.WriteFile(filepath.Join(dir, "conversion", "manifest.json"), []byte(`{"format_version": 1, "kind": "conv`), 0o644)
	os.WriteFile(filepath.Join(dir, "conversion", "model.json"), []byte(`{}`), 0o644)
	return dir
}

// TestDefect10ExitCodes is issue 17 defect 10: one rule for every command. Bad input,
// meaning anything the user gave (flags, files, data, configs, artifacts), exits 2; a
// failure while running (here: interrupted) exits 1. Before the fix, personas on zero
// contacts exited 1 where train exited 2.
func TestDefect10ExitCodes(t *testing.T) {
	hist := exitHistory(t)
	empty := emptyHistory(t)
	garbage := filepath.Join(t.TempDir(), "garbage.parquet")
	os.WriteFile(garbage, []byte("not parquet"), 0o644)
	notDir := garbage
	card := filepath.Join("..", "..", "data", "scorecards", "dealership.yaml")
	o := func(name string) string { return filepath.Join(t.TempDir(), name) }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		args []string
		want int
	}{
		// Bad input: 2.
		{"generate bad flag", nil, []string{"generate", "--out", o("h"), "--contacts", "0"}, exitUsage},
		{"generate out is a file", nil, []string{"generate", "--out", notDir, "--contacts", "10"}, exitUsage},
		{"features unknown flag", nil, []string{"features", "--dta", hist}, exitUsage},
		{"features corrupt history", nil, []string{"features", "--data", filepath.Dir(garbage), "--as-of", "2026-01-01", "--out", o("f.parquet")}, exitUsage},
		{"features zero contacts", nil, []string{"features", "--data", empty, "--as-of", "2026-01-01", "--out", o("f.parquet")}, exitOK},
		{"score corrupt artifact", nil, []string{"score", "--data", hist, "--as-of", "2026-01-01", "--models", corruptModels(t), "--out", o("s.parquet")}, exitUsage},
		{"score missing models", nil, []string{"score", "--data", hist, "--as-of", "2026-01-01", "--models", o("none"), "--out", o("s.parquet")}, exitUsage},
		{"score zero contacts", nil, []string{"score", "--data", empty, "--as-of", "2026-01-01", "--out", o("s.parquet")}, exitOK},
		{"train zero contacts", nil, []string{"train", "conversion", "--data", empty, "--as-of", "2026-01-01", "--out", o("m")}, exitUsage},
		{"train corrupt table", nil, []string{"train", "--table", garbage, "--label", "y"}, exitUsage},
		{"ltv corrupt transactions", nil, []string{"ltv", "--transactions", garbage, "--calibration-end", "2025-12-31"}, exitUsage},
		{"ltv zero transactions", nil, []string{"ltv", "--transactions", filepath.Join(empty, "events.parquet"), "--time", "ts", "--customer", "contact_id", "--amount", "type", "--calibration-end", "2025-12-31"}, exitUsage},
		{"personas zero contacts", nil, []string{"personas", "--data", empty, "--as-of", "2026-01-01", "--out", o("p")}, exitUsage},
		{"personas corrupt table", nil, []string{"personas", "--table", garbage, "--out", o("p")}, exitUsage},
		{"evaluate zero contacts", nil, []string{"evaluate", "--data", empty, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", card, "--out", o("e")}, exitUsage},
		{"evaluate corrupt artifact", nil, []string{"evaluate", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", card, "--models", corruptModels(t), "--out", o("e")}, exitUsage},
		{"serve missing models", nil, []string{"serve", "--models", o("none"), "--addr", "127.0.0.1:0"}, exitUsage},
		{"serve corrupt artifact", nil, []string{"serve", "--models", corruptModels(t), "--addr", "127.0.0.1:0"}, exitUsage},
		{"serve bad address", nil, []string{"serve", "--models", t.TempDir(), "--addr", "nohost"}, exitUsage},
		{"demo bad flag", nil, []string{"demo", "--contacts", "10", "--out", o("d")}, exitUsage},
		{"features missing history", nil, []string{"features", "--data", o("none"), "--as-of", "2026-01-01", "--out", o("f.parquet")}, exitUsage},
		{"score missing history", nil, []string{"score", "--data", o("none"), "--as-of", "2026-01-01", "--out", o("s.parquet")}, exitUsage},
		{"score missing profile", nil, []string{"score", "--profile", o("none.json")}, exitUsage},
		{"train missing table", nil, []string{"train", "--table", o("none.csv"), "--label", "y"}, exitUsage},
		{"train missing history", nil, []string{"train", "churn", "--data", o("none"), "--as-of", "2026-01-01", "--out", o("m")}, exitUsage},
		{"ltv missing transactions", nil, []string{"ltv", "--transactions", o("none.parquet"), "--calibration-end", "2025-12-31"}, exitUsage},
		{"personas missing table", nil, []string{"personas", "--table", o("none.csv"), "--out", o("p")}, exitUsage},
		{"personas missing history", nil, []string{"personas", "--data", o("none"), "--as-of", "2026-01-01", "--out", o("p")}, exitUsage},
		{"evaluate missing history", nil, []string{"evaluate", "--data", o("none"), "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", card, "--out", o("e")}, exitUsage},
		{"evaluate missing scorecard", nil, []string{"evaluate", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", o("none.yaml"), "--out", o("e")}, exitUsage},
		{"serve bad config", nil, []string{"serve", "--models", t.TempDir(), "--config", garbage}, exitUsage},
		{"features out in a missing dir", nil, []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(o("none"), "f.parquet")}, exitUsage},
		{"score out under a file", nil, []string{"score", "--data", hist, "--as-of", "2026-01-01", "--out", filepath.Join(notDir, "s.parquet")}, exitUsage},
		{"features out is a dir", nil, []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", t.TempDir()}, exitUsage},
		{"personas out is a file", nil, []string{"personas", "--data", hist, "--as-of", "2026-01-01", "--out", notDir}, exitUsage},
		{"ltv out under a file", nil, []string{"ltv", "--transactions", filepath.Join(hist, "transactions.parquet"), "--calibration-end", "2025-09-30", "--out", filepath.Join(notDir, "a", "b")}, exitUsage},
		{"demo out is a file", nil, []string{"demo", "--out", notDir}, exitUsage},

		// Failure while running (interrupted before it finished): 1.
		{"generate interrupted", cancelled, []string{"generate", "--out", o("h"), "--contacts", "600"}, exitFailure},
		{"features interrupted", cancelled, []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", o("f.parquet")}, exitFailure},
		{"score interrupted", cancelled, []string{"score", "--data", hist, "--as-of", "2026-01-01", "--out", o("s.parquet")}, exitFailure},
		{"train interrupted", cancelled, []string{"train", "churn", "--data", hist, "--as-of", "2026-01-01", "--out", o("m")}, exitFailure},
		{"ltv interrupted", cancelled, []string{"ltv", "--transactions", filepath.Join(hist, "transactions.parquet"), "--calibration-end", "2025-09-30", "--out", o("l")}, exitFailure},
		{"personas interrupted", cancelled, []string{"personas", "--data", hist, "--as-of", "2026-01-01", "--out", o("p")}, exitFailure},
		{"evaluate interrupted", cancelled, []string{"evaluate", "--data", hist, "--as-of", "2026-01-01", "--horizon", "90d", "--scorecard", card, "--out", o("e")}, exitFailure},
		{"demo interrupted", cancelled, []string{"demo", "--contacts", "600", "--no-serve", "--out", o("d")}, exitFailure},
	}
	if runtime.GOOS == "linux" {
		// A directory nobody can create files in, root included: writing the output fails
		// after the work is done.
		tests = append(tests, []struct {
			name string
			ctx  context.Context
			args []string
			want int
		}{
			{"features write fails", nil, []string{"features", "--data", hist, "--as-of", "2026-01-01", "--out", "/proc/self/f.parquet"}, exitFailure},
			{"score write fails", nil, []string{"score", "--data", hist, "--as-of", "2026-01-01", "--out", "/proc/self/s.parquet"}, exitFailure},
			{"personas write fails", nil, []string{"personas", "--data", hist, "--as-of", "2026-01-01", "--k", "3", "--out", "/proc/self/p"}, exitFailure},
			{"ltv write fails", nil, []string{"ltv", "--transactions", filepath.Join(hist, "transactions.parquet"), "--calibration-end", "2025-09-30", "--out", "/proc/self/ltv"}, exitFailure},
		}...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			var stdout, stderr bytes.Buffer
			if code := realMain(ctx, tt.args, &stdout, &stderr); code != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.want, stderr.String())
			}
		})
	}
}
