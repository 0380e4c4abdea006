package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateBadFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"missing out", []string{}, "--out"},
		{"negative contacts", []string{"--out", out, "--contacts", "-5"}, "--contacts"},
		{"zero contacts", []string{"--out", out, "--contacts", "0"}, "--contacts"},
		{"bad seed", []string{"--out", out, "--seed", "x"}, "--seed"},
		{"bad date", []string{"--out", out, "--as-of", "2026-02-30"}, "--as-of"},
		{"bad horizon", []string{"--out", out, "--horizon", "-3d"}, "--horizon"},
		{"zero personas", []string{"--out", out, "--personas", "0"}, "--personas"},
		{"too many personas", []string{"--out", out, "--personas", "50"}, "personas"},
		{"out is a file", []string{"--out", file, "--contacts", "10"}, "not a directory"},
		{"out under a file", []string{"--out", filepath.Join(file, "x"), "--contacts", "10"}, "output directory"},
		{"unknown flag", []string{"--out", out, "--frobnicate"}, "frobnicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), append([]string{"generate"}, tc.args...), &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			last := msg[strings.LastIndex(msg, "\n")+1:]
			if !strings.Contains(last, tc.want) {
				t.Errorf("message %q does not mention %q", last, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
		})
	}
}

func TestGenerateJSON(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"generate", "--out", dir, "--contacts", "300", "--seed", "9", "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var sum struct {
		People int   `json:"people"`
		Events int64 `json:"events"`
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("stdout is not one JSON object: %v", err)
	}
	if dec.More() {
		t.Error("more than one JSON value on stdout")
	}
	if sum.People != 300 || sum.Events == 0 {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range []string{"contacts.parquet", "events.parquet", "transactions.parquet", "identities.parquet", "truth.parquet", "generator.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// FuzzSynthOptions checks that no flag value makes the generate flag parser panic, and that
// every rejection is a usage error (exit 2).
func FuzzSynthOptions(f *testing.F) {
	f.Add("20000", "1", "2026-01-01", "90d", "5")
	f.Add("-1", "0", "2026-02-30", "0d", "99")
	f.Add("1e9", "18446744073709551616", "2026-01-01T00:00:00Z", "1.5w", "")
	f.Fuzz(func(t *testing.T, contacts, seed, asOf, horizon, personas string) {
		_, err := synthOptions(contacts, seed, asOf, horizon, personas)
		if err != nil {
			var u *usageError
			if !errors.As(err, &u) {
				t.Fatalf("error %v is not a usage error", err)
			}
		}
	})
}
