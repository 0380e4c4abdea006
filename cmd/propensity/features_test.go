package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/propensity-dev/propensity/features/history"
)

type featContact struct {
	ContactID string `parquet:"contact_id"`
	CreatedAt int64  `parquet:"created_at,timestamp(microsecond)"`
}

type featEvent struct {
	TS        int64  `parquet:"ts,timestamp(microsecond)"`
	Type      string `parquet:"type"`
	ContactID string `parquet:"contact_id"`
}

type featEventBadTS struct {
	TS        float64 `parquet:"ts"`
	Type      string  `parquet:"type"`
	ContactID string  `parquet:"contact_id"`
}

type featEventNoType struct {
	TS        int64  `parquet:"ts,timestamp(microsecond)"`
	ContactID string `parquet:"contact_id"`
}

func writeParquetRows[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewGenericWriter[T](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func featuresHistory(t *testing.T) string {
	dir := t.TempDir()
	writeParquetRows(t, filepath.Join(dir, "contacts.parquet"), []featContact{{"c1", 1_700_000_000_000_000}, {"c2", 1_700_000_000_000_000}})
	writeParquetRows(t, filepath.Join(dir, "events.parquet"), []featEvent{{1_760_000_000_000_000, "email_open", "c1"}})
	return dir
}

func TestFeaturesCommand(t *testing.T) {
	dir := featuresHistory(t)
	out := filepath.Join(t.TempDir(), "f.parquet")
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"features", "--data", dir, "--as-of", "2026-01-01", "--horizon", "90d", "--out", out, "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var sum map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	if sum["people"] != 2.0 || sum["events"] != 1.0 {
		t.Errorf("summary %v", sum)
	}
	if !strings.Contains(stderr.String(), "people=2") {
		t.Errorf("no summary on stderr: %s", stderr.String())
	}
	table, err := history.ReadParquet(out)
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	if n, _ := table.Float64s("n_email_open_90d"); table.Len() != 2 || n[0] != 1 {
		t.Errorf("table: %d rows, n_email_open_90d %v", table.Len(), n)
	}
}

func TestFeaturesCommandBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string) string // returns the --data directory
		msg   string
	}{
		{"wrong type", func(dir string) string {
			writeParquetRows(t, filepath.Join(dir, "events.parquet"), []featEventBadTS{{1, "x", "c1"}})
			return dir
		}, `column "ts" has type DOUBLE, expected timestamp or date`},
		{"missing column", func(dir string) string {
			writeParquetRows(t, filepath.Join(dir, "events.parquet"), []featEventNoType{{1, "c1"}})
			return dir
		}, `missing required column "type"`},
		{"unreadable file", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "events.parquet"), []byte("garbage"), 0o644)
			return dir
		}, "events.parquet"},
		{"empty directory", func(dir string) string {
			return t.TempDir()
		}, "no history files"},
		{"missing directory", func(dir string) string {
			return filepath.Join(dir, "nope")
		}, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := featuresHistory(t)
			data := tc.setup(dir)
			out := filepath.Join(t.TempDir(), "f.parquet")
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), []string{"features", "--data", data, "--as-of", "2026-01-01", "--out", out}, &stdout, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("output written despite the error")
			}
		})
	}
	t.Run("missing flags", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := realMain(context.Background(), []string{"features", "--data", "x"}, &stdout, &stderr); code != 2 {
			t.Errorf("exit %d", code)
		}
	})
}
