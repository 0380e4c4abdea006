package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/batch"
)

// scoreContractProfile is the example profile of docs/contract.md §2.
const scoreContractProfile = `{
  "contact_id": "c-1",
  "as_of": "2026-03-10T00:00:00Z",
  "attributes": {"age": 62, "occupation": "retired", "net_worth": 2500000},
  "events": [
    {"type": "form_submit", "ts": "2026-03-01T10:00:00Z", "page": "/models/suv-x"},
    {"type": "email_open",  "ts": "2026-03-02T08:00:00Z"},
    {"type": "email_click", "ts": "2026-03-02T08:01:00Z"},
    {"type": "page_view",   "ts": "2026-03-05T19:00:00Z", "page": "/directions"}
  ],
  "transactions": [{"ts": "2025-11-02T12:00:00Z", "amount": 129.5, "product": "service"}]
}`

func scoreRunCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func scoreWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScoreProfileContract(t *testing.T) {
	profile := scoreWriteFile(t, "p.json", scoreContractProfile)
	for _, args := range [][]string{
		{"score", "--profile", profile, "--json"},
		{"score", "--scorecard", "../../data/scorecards/dealership.yaml", "--profile", profile, "--json"},
	} {
		code, stdout, stderr := scoreRunCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var resp struct {
			ContactID   string            `json:"contact_id"`
			AsOf        string            `json:"as_of"`
			Rules       *scorecard.Result `json:"rules"`
			Unavailable []string          `json:"unavailable"`
			// Added by issue 17 (docs/contract.md §3 is extended, never renamed).
			UnavailableReasons []serving.Unavailability `json:"unavailable_reasons"`
			Warnings           []serving.Warning        `json:"warnings"`
		}
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stdout)
		}
		r := resp.Rules
		if r == nil {
			t.Fatalf("no rules block: %s", stdout)
		}
		if resp.ContactID != "c-1" || resp.AsOf != "2026-03-10T00:00:00Z" || r.Scorecard != "dealership" || r.Version != "3" ||
			r.Total != 40 || r.Fit != 0 || r.Engagement != 40 || r.Lifecycle != 0 || r.Grade != "B2" ||
			r.Stage != "mql" || !r.MQL || r.Disqualified || r.DisqualifiedBy != "" || len(r.Contributions) != 4 {
			t.Errorf("%v: response %s", args, stdout)
		}
		if strings.Join(resp.Unavailable, ",") != "conversion,churn,ltv,persona,uplift" {
			t.Errorf("unavailable = %v", resp.Unavailable)
		}
	}
}

func TestScoreProfileVariants(t *testing.T) {
	student := scoreWriteFile(t, "s.json", strings.Replace(scoreContractProfile, `"retired"`, `"student"`, 1))
	code, stdout, stderr := scoreRunCLI(t, "score", "--profile", student, "--json")
	if code != 0 || !strings.Contains(stdout, `"disqualified": true`) || !strings.Contains(stdout, `"mql": false`) ||
		!strings.Contains(stdout, `"disqualified_by": "student"`) {
		t.Errorf("student: exit %d\n%s%s", code, stdout, stderr)
	}
	// --as-of overrides the profile's: a day before the directions visit.
	code, stdout, _ = scoreRunCLI(t, "score", "--profile", scoreWriteFile(t, "p.json", scoreContractProfile), "--as-of", "2026-03-05", "--json")
	if code != 0 || !strings.Contains(stdout, `"total": 20`) {
		t.Errorf("as-of override: exit %d\n%s", code, stdout)
	}
	// No scorecard for this audience: the rules block is absent and named.
	b2b := scoreWriteFile(t, "b2b.json", strings.Replace(scoreContractProfile, `"age": 62`, `"account_type": "b2c", "age": 62`, 1))
	code, stdout, stderr = scoreRunCLI(t, "score", "--scorecard", "../../data/scorecards/b2b.yaml", "--profile", b2b, "--json")
	if code != 0 || strings.Contains(stdout, `"rules":`) || !strings.Contains(stdout, `"rules",`) {
		t.Errorf("no matching scorecard: exit %d\n%s%s", code, stdout, stderr)
	}
	// Without --json: a readable summary.
	code, stdout, _ = scoreRunCLI(t, "score", "--profile", scoreWriteFile(t, "p.json", scoreContractProfile))
	if code != 0 || !strings.Contains(stdout, "total 40") || !strings.Contains(stdout, "directions-page") {
		t.Errorf("text output: exit %d\n%s", code, stdout)
	}
}

func TestScoreBadInput(t *testing.T) {
	profile := scoreWriteFile(t, "p.json", scoreContractProfile)
	badCard := scoreWriteFile(t, "bad.yaml", "name: x\nversion: '1'\nrules:\n  - {name: r, points: 1, event: {type: nope}}\n")
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no mode", []string{"score"}, "--profile"},
		{"both modes", []string{"score", "--profile", profile, "--data", "x"}, "not both"},
		{"missing profile", []string{"score", "--profile", "/nonexistent.json"}, "nonexistent"},
		{"bad profile", []string{"score", "--profile", scoreWriteFile(t, "b.json", `{"contact_id": 3}`)}, "contact_id"},
		{"bad scorecard", []string{"score", "--scorecard", badCard, "--profile", profile}, `bad.yaml:4: rules[0].event.type[0]: unknown event type "nope"`},
		{"missing scorecard", []string{"score", "--scorecard", "/nonexistent.yaml", "--profile", profile}, "nonexistent"},
		{"batch without as-of", []string{"score", "--data", t.TempDir(), "--out", "x.parquet"}, "--as-of"},
		{"bad date", []string{"score", "--data", t.TempDir(), "--as-of", "yesterday", "--out", "x.parquet"}, "--as-of"},
		{"empty history", []string{"score", "--data", t.TempDir(), "--as-of", "2026-03-10", "--out", filepath.Join(t.TempDir(), "s.parquet")}, ""},
		{"bad memory", []string{"score", "--data", t.TempDir(), "--as-of", "2026-03-10", "--out", filepath.Join(t.TempDir(), "s.parquet"), "--memory", "lots"}, "--memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := scoreRunCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.msg) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 naming %q", code, stderr, stdout, tt.msg)
			}
		})
	}
}

// TestScoreHistoryMatchesProfiles scores a generated history in batch and checks a sample
// of people against the single-profile path (their history posted as docs/contract.md §2 JSON).
func TestScoreHistoryMatchesProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history")
	}
	dir := t.TempDir()
	asOf := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	if _, err := synth.Generate(context.Background(), dir, synth.Options{Contacts: 400, Seed: 11, AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	// A folder of two scorecards chosen by audience: b2b, then dealership for everyone else.
	cards := t.TempDir()
	for _, f := range []string{"b2b.yaml", "dealership.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../data/scorecards", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cards, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "scores.parquet")
	code, stdout, stderr := scoreRunCLI(t, "score", "--scorecard", cards, "--data", dir, "--as-of", "2026-03-10", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum batch.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.People < 300 || sum.Out != out {
		t.Fatalf("summary %+v (%v):\n%s", sum, err, stdout)
	}
	// A budget too small for the people's events walks them partition by partition through
	// spill files: the same file, byte for byte, and no temporary files left.
	tmp := t.TempDir()
	spilled := filepath.Join(t.TempDir(), "spilled.parquet")
	code, _, stderr = scoreRunCLI(t, "score", "--scorecard", cards, "--data", dir, "--as-of", "2026-03-10", "--out", spilled,
		"--memory", "1MB", "--tmp", tmp, "--workers", "3")
	if code != 0 {
		t.Fatalf("--memory 1MB: exit %d: %s", code, stderr)
	}
	checkSpilledScore(t, stderr, out, spilled, tmp)
	rows, err := batch.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != sum.People {
		t.Fatalf("%d rows for 400 contacts", len(rows))
	}
	byID := map[string]batch.Row{}
	for _, r := range rows {
		byID[r.ContactID] = r
	}
	checked, nonzero := 0, 0
	_, err = history.ForEachPerson(context.Background(), dir, features.Options{AsOf: asOf}, func(p *history.Person) error {
		if checked >= 25 || len(p.Events) == 0 {
			return nil
		}
		checked++
		row, ok := byID[p.ContactID]
		if !ok {
			t.Errorf("%s has no row", p.ContactID)
			return nil
		}
		code, stdout, stderr := scoreRunCLI(t, "score", "--scorecard", cards, "--profile", scoreWriteFile(t, "p.json", scoreProfileJSON(t, p, asOf)), "--json")
		if code != 0 {
			t.Errorf("%s: exit %d: %s", p.ContactID, code, stderr)
			return nil
		}
		var resp serving.Response
		if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
			return err
		}
		if resp.Rules == nil {
			return fmt.Errorf("%s: no rules block", p.ContactID)
		}
		if resp.Rules.Total != 0 || resp.Rules.Disqualified {
			nonzero++
		}
		if got := batch.NewRow(resp); !reflect.DeepEqual(got, row) {
			t.Errorf("%s: profile gives %+v, batch %+v", p.ContactID, got, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 || nonzero < checked/3 {
		t.Fatalf("only %d of %d sampled people score anything", nonzero, checked)
	}
}

// scoreProfileJSON writes p as a docs/contract.md §2 profile.
func scoreProfileJSON(t *testing.T, p *history.Person, asOf time.Time) string {
	attrs := map[string]any{}
	for k, v := range p.Attributes {
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			v = nil
		}
		attrs[k] = v
	}
	var events []map[string]any
	for _, e := range p.Events {
		m := map[string]any{"type": e.Type, "ts": e.TS.Format(time.RFC3339Nano)}
		for k, v := range map[string]string{"page": e.Page, "channel": e.Channel, "campaign": e.Campaign} {
			if v != "" {
				m[k] = v
			}
		}
		if !math.IsNaN(e.Value) {
			m["value"] = e.Value
		}
		events = append(events, m)
	}
	b, err := json.Marshal(map[string]any{"contact_id": p.ContactID, "as_of": asOf.Format(time.RFC3339), "attributes": attrs, "events": events})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeRefusesBadScorecard checks that serve exits 2 with the file and line when its
// scorecard cannot be loaded, before listening.
func TestServeRefusesBadScorecard(t *testing.T) {
	bad := scoreWriteFile(t, "bad.yaml", "name: x\nversion: \"1\"\nrules:\n  - {name: a, pionts: 3, when: 'age > 1'}\n")
	code, _, stderr := scoreRunCLI(t, "serve", "--models", t.TempDir(), "--scorecard", bad, "--addr", "127.0.0.1:0")
	if code != exitUsage || !strings.Contains(stderr, "bad.yaml:4") || !strings.Contains(stderr, "pionts") {
		t.Errorf("exit %d, stderr %q; want 2 naming bad.yaml:4 and the field", code, stderr)
	}
}

// TestDefect7ScoreHistoryWithModelsMatchesProfiles (issue 17, defect 7): batch scoring with
// models takes the models' feature rows from the streamed feature table, and loads only the
// events the scorecards read; each person's row must still be what scoring the person's
// whole profile gives online. With a budget too small for the people, the feature rows
// are read back from a temporary file partition by partition, and the file is the same.
func TestDefect7ScoreHistoryWithModelsMatchesProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the demo models")
	}
	demo := t.TempDir()
	if code, _, stderr := scoreRunCLI(t, "demo", "--out", demo, "--contacts", "2000", "--no-serve", "--json"); code != exitOK {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	dir, models := filepath.Join(demo, "history"), filepath.Join(demo, "models")
	asOf := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := filepath.Join(t.TempDir(), "scores.parquet")
	if code, _, stderr := scoreRunCLI(t, "score", "--data", dir, "--as-of", "2026-01-01", "--models", models, "--out", out); code != exitOK {
		t.Fatalf("score: exit %d: %s", code, stderr)
	}
	// A budget too small for the people walks them partition by partition, the models'
	// feature table written to a temporary file under --tmp and read back with each
	// partition: the same file, byte for byte, and no temporary files left.
	tmp := t.TempDir()
	spilled := filepath.Join(t.TempDir(), "spilled.parquet")
	code, _, stderr := scoreRunCLI(t, "score", "--data", dir, "--as-of", "2026-01-01", "--models", models, "--out", spilled,
		"--memory", "1MB", "--tmp", tmp, "--workers", "3")
	if code != exitOK {
		t.Fatalf("--memory 1MB: exit %d: %s", code, stderr)
	}
	checkSpilledScore(t, stderr, out, spilled, tmp)
	rows, err := batch.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]batch.Row{}
	for _, r := range rows {
		byID[r.ContactID] = r
	}
	env := &cliEnv{stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
	cards, err := loadScorecardFlag("")
	if err != nil {
		t.Fatal(err)
	}
	set, err := scoreCmdModelSet(context.Background(), env, cards, "", models)
	if err != nil {
		t.Fatal(err)
	}
	if set.Conversion == nil || set.Churn == nil || set.Personas == nil {
		t.Fatal("the demo's models did not load")
	}
	scorer := serving.NewScorer(serving.Static{Set: set}, nil)
	near := func(a, b *float64) bool {
		return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) <= 1e-9)
	}
	checked := 0
	_, err = history.ForEachPerson(context.Background(), dir, features.Options{AsOf: asOf}, func(p *history.Person) error {
		if checked >= 60 {
			return nil
		}
		checked++
		prof := p.Profile(asOf)
		resp, err := scorer.ScoreWith(context.Background(), set, &prof, serving.Options{})
		if err != nil {
			return err
		}
		want, got := batch.NewRow(resp), byID[p.ContactID]
		if !near(want.PConvert, got.PConvert) || !near(want.PChurn, got.PChurn) || !near(want.CLV, got.CLV) ||
			!reflect.DeepEqual(want.PersonaID, got.PersonaID) || want.Total != got.Total || want.Grade != got.Grade {
			t.Errorf("%s: online %+v, batch %+v", p.ContactID, want, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no person checked")
	}
}

// checkSpilledScore checks a `score --data --memory 1MB` run against the unbounded one: its
// walk was partitioned (stderr's log line), its file is out's byte for byte, and it left
// nothing in tmp, its --tmp.
func checkSpilledScore(t *testing.T, stderr, out, spilled, tmp string) {
	t.Helper()
	if m := regexp.MustCompile(`partitions=(\d+)`).FindStringSubmatch(stderr); m == nil || m[1] == "1" {
		t.Errorf("--memory 1MB: the walk was not partitioned: %s", stderr)
	}
	a, errA := os.ReadFile(out)
	b, errB := os.ReadFile(spilled)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("score file with --memory 1MB differs from the unbounded one (%v, %v)", errA, errB)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("temporary files left in --tmp: %v", left)
	}
}
