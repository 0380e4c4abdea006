package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = realMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestIngestExport loads a generated history into a store, loads it again (every row a
// duplicate), and exports it: the export holds the same rows.
func TestIngestExport(t *testing.T) {
	dir := t.TempDir()
	hist, st, out := filepath.Join(dir, "h"), filepath.Join(dir, "store"), filepath.Join(dir, "x")
	if _, err := synth.Generate(context.Background(), hist, synth.Options{Contacts: 60, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Contacts, Events, Transactions, Identities, Duplicates int
	}
	var first, again, exp summary
	for _, run := range []struct {
		args []string
		dst  *summary
	}{
		{[]string{"ingest", "--data", hist, "--store", st, "--json"}, &first},
		{[]string{"ingest", "--data", hist, "--store", st, "--json"}, &again},
		{[]string{"export", "--store", st, "--out", out, "--json"}, &exp},
	} {
		code, stdout, stderr := runCmd(t, run.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", run.args, code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), run.dst); err != nil {
			t.Fatalf("%v: %v: %s", run.args, err, stdout)
		}
	}
	if first.Events == 0 || first.Contacts == 0 || first.Duplicates != 0 {
		t.Fatalf("first load: %+v", first)
	}
	if again.Events+again.Transactions+again.Identities != 0 ||
		again.Duplicates < first.Events+first.Transactions+first.Identities {
		t.Fatalf("second load stored rows again: %+v (first %+v)", again, first)
	}
	if exp.Contacts != first.Contacts || exp.Events != first.Events || exp.Transactions != first.Transactions ||
		exp.Identities != first.Identities {
		t.Fatalf("export %+v, loaded %+v", exp, first)
	}
	for _, f := range []string{"contacts.parquet", "events.parquet", "transactions.parquet", "identities.parquet"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestLiveUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("endpoints:\n  - {name: x}\ntriggers: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ingest", "--store", filepath.Join(dir, "s")}, 2, "--data"},
		{[]string{"ingest", "--data", filepath.Join(dir, "nope"), "--store", filepath.Join(dir, "s")}, 2, "--data"},
		{[]string{"export", "--store", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "x")}, 2, "--store"},
		{[]string{"serve", "--models", dir, "--triggers", bad}, 2, "triggers: needs a store"},
		{[]string{"serve", "--models", dir, "--store", filepath.Join(dir, "s"), "--triggers", bad, "--addr", "127.0.0.1:0"}, 2, "bad.yaml"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
