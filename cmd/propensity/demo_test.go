package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
)

// TestDemoNoServe runs the offline part of the demo on a small history: every model is
// trained and lands in the models directory, the summary quotes their metrics, and the
// sample contact is scored with every block a prospect can have.
func TestDemoNoServe(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"demo", "--out", out, "--contacts", "2000", "--no-serve", "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Summary []demoRow `json:"summary"`
		Models  string    `json:"models"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	steps := map[string]bool{}
	for _, r := range got.Summary {
		steps[r.Step] = true
		if r.Value == "" || strings.Contains(r.Value, "-") && r.Step != "demo" {
			t.Errorf("summary row %s %q has no value: %q", r.Step, r.Metric, r.Value)
		}
	}
	for _, s := range []string{"history", "features", "conversion", "churn", "ltv", "personas", "score"} {
		if !steps[s] {
			t.Errorf("summary has no %s row", s)
		}
	}
	for _, kind := range []string{artifact.KindConversion, artifact.KindChurn, artifact.KindLTV, artifact.KindPersonas} {
		if _, err := artifact.ReadManifest(filepath.Join(got.Models, kind)); err != nil {
			t.Errorf("%s artifact: %v", kind, err)
		}
	}
	// One models directory: every job wrote its artifact and reports into models/<kind>/.
	for _, f := range []string{"reports/features.parquet", "models/ltv/report.html", "models/personas/report.html", "models/conversion/report.html", "sample_profile.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// The sample profile scores with the models the demo trained, as the printed curl would.
	stdout.Reset()
	stderr.Reset()
	code = realMain(context.Background(), []string{"score", "--profile", filepath.Join(out, "sample_profile.json"), "--models", got.Models, "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("score: exit %d: %s", code, stderr.String())
	}
	var resp struct {
		Rules       json.RawMessage `json:"rules"`
		Conversion  json.RawMessage `json:"conversion"`
		Persona     json.RawMessage `json:"persona"`
		Unavailable []string        `json:"unavailable"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Rules == nil || resp.Conversion == nil || resp.Persona == nil {
		t.Errorf("sample score lacks a block: %s", stdout.String())
	}
	for _, b := range []string{"rules", "conversion", "persona"} {
		if slices.Contains(resp.Unavailable, b) {
			t.Errorf("%s listed as unavailable: %v", b, resp.Unavailable)
		}
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--contacts", "10", "--no-serve"},
		{"demo", "--contacts", "lots", "--no-serve"},
		{"demo", "--no-serve", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := realMain(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr.String())
		}
	}
}

// TestDemoBusyPort: a port already in use fails the demo at once, before the offline work,
// with bad usage (exit 2) and a message naming the address.
func TestDemoBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer ln.Close()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), []string{"demo", "--out", out, "--contacts", "2000", "--addr", ln.Addr().String()}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--addr "+ln.Addr().String()) {
		t.Errorf("message does not name the address: %s", stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("the demo worked before checking its port: %s holds %v", out, entries)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}
