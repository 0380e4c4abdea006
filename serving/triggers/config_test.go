package triggers

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/*.bad.yml")

// testEnv is the environment of the testdata files and of data/triggers: the secrets they
// name are set, EMPTY_SECRET is empty, nothing else is set.
func testEnv(name string) (string, bool) {
	switch name {
	case "TEST_SECRET", "CRM_WEBHOOK_SECRET", "SALES_CRM_WEBHOOK_SECRET", "RETENTION_WEBHOOK_SECRET":
		return "secret-of-" + name, true
	case "EMPTY_SECRET":
		return "", true
	}
	return "", false
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func load(t *testing.T, path string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ParseEnv(data, path, testEnv)
}

// TestBadConfigs checks the messages of every testdata/*.bad.yml against its .golden file
// (one problem a line); run with -update to rewrite them after a deliberate change.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata/*.bad.yml", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := load(t, f)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if c != nil {
				t.Error("a config came back with the error")
			}
			got := err.Error() + "\n"
			golden.Check(t, f+".golden", got, *update)
		})
	}
}

func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yml")
	shipped, _ := filepath.Glob("../../data/triggers/*.yaml")
	if len(files) == 0 || len(shipped) == 0 {
		t.Fatal("no testdata/*.good.yml or data/triggers/*.yaml")
	}
	files = append(files, shipped...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := load(t, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Endpoints) == 0 || len(c.Triggers) == 0 {
				t.Fatalf("empty config: %+v", c)
			}
			for _, tr := range c.Triggers {
				if tr.When.Kind == "" {
					t.Errorf("trigger %s has no condition kind", tr.Name)
				}
				for _, name := range tr.Endpoints {
					if _, ok := c.Endpoint(name); !ok {
						t.Errorf("trigger %s names endpoint %q, which is not defined", tr.Name, name)
					}
				}
			}
		})
	}
}

// TestDealershipConfig checks what the documented example decodes to, defaults included.
func TestDealershipConfig(t *testing.T) {
	c, err := load(t, "testdata/dealership.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	crm, _ := c.Endpoint("sales-crm")
	if crm.Secret != "secret-of-CRM_WEBHOOK_SECRET" || crm.SecretEnv != "CRM_WEBHOOK_SECRET" || crm.Timeout != 5*time.Second {
		t.Errorf("sales-crm: %+v", crm)
	}
	ret, _ := c.Endpoint("retention")
	if ret.Secret != "literal-secret-for-tests" || ret.Timeout != DefaultTimeout {
		t.Errorf("retention: %+v", ret)
	}
	want := map[string]Condition{
		"became-mql":       {Kind: KindStageEntered, Stage: "mql"},
		"mql-lapsed":       {Kind: KindStageLeft, Stage: "mql"},
		"total-up-30":      {Kind: KindRuleTotalCrossedUp, Value: 30},
		"total-down-30":    {Kind: KindRuleTotalCrossedDown, Value: 30},
		"churn-risk":       {Kind: KindPChurnCrossedUp, Value: 0.5},
		"family-buyer-in":  {Kind: KindSegmentEntered, Segment: "family-buyers"},
		"family-buyer-out": {Kind: KindSegmentLeft, Segment: "family-buyers"},
		"ltv-tier":         {Kind: KindLTVTierChanged},
	}
	if len(c.Triggers) != len(want) {
		t.Fatalf("%d triggers, want %d", len(c.Triggers), len(want))
	}
	for _, tr := range c.Triggers {
		if tr.When != want[tr.Name] {
			t.Errorf("%s: when = %+v, want %+v", tr.Name, tr.When, want[tr.Name])
		}
	}
	if got := c.Triggers[4].Endpoints; strings.Join(got, ",") != "retention,sales-crm" {
		t.Errorf("churn-risk endpoints %v", got)
	}
	if got := c.Triggers[1].Endpoints; strings.Join(got, ",") != "sales-crm" {
		t.Errorf("a single endpoint name: %v", got)
	}
	if c.Delivery != (DeliverySettings{MaxAttempts: 8, BaseBackoff: 30 * time.Second, MaxBackoff: 2 * time.Hour, PauseAfter: 3}) {
		t.Errorf("delivery %+v", c.Delivery)
	}
	if got := c.Stages(); strings.Join(got, ",") != "mql" {
		t.Errorf("Stages() = %v", got)
	}
	// The secret never leaves in JSON (e.g. an admin route showing the config).
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret-of") || strings.Contains(string(b), "literal-secret") {
		t.Errorf("JSON shows a secret: %s", b)
	}
}

func TestDefaults(t *testing.T) {
	c, err := ParseEnv([]byte("endpoints: [{name: a, url: 'https://a.example.com', secret: s}]\ntriggers: [{name: t, when: {mql: left}, endpoints: a}]\n"), "", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := DeliverySettings{MaxAttempts: DefaultMaxAttempts, BaseBackoff: DefaultBaseBackoff, MaxBackoff: DefaultMaxBackoff, PauseAfter: DefaultPauseAfter}
	if c.Delivery != want || c.Endpoints[0].Timeout != DefaultTimeout || c.Endpoints[0].MaxInFlight != DefaultMaxInFlight || c.Triggers[0].When.Kind != KindMQLLeft {
		t.Errorf("defaults: %+v", c)
	}
}

// TestLineErrorFields checks that problems are typed, carry source, line and field, and wrap
// the right sentinels.
func TestLineErrorFields(t *testing.T) {
	_, err := load(t, "testdata/bad_values.bad.yml")
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatalf("err %v is not a *LineError", err)
	}
	if le.Source != "testdata/bad_values.bad.yml" || le.Line != 3 || le.Field != "endpoints[0].url" || !errors.Is(le, ErrInvalid) {
		t.Errorf("first problem: %+v", le)
	}
	tests := []struct {
		file     string
		sentinel error
	}{
		{"bad_values", ErrSecret},
		{"bad_values", ErrDuplicate},
		{"bad_values", ErrReference},
		{"bad_values", ErrMissing},
		{"unknown_fields", ErrUnknownField},
		{"unknown_fields", ErrDuplicate},
		{"missing", ErrMissing},
		{"not_yaml", ErrInvalid},
		{"empty", ErrMissing},
		{"not_mapping", ErrInvalid},
	}
	for _, tt := range tests {
		_, err := load(t, "testdata/"+tt.file+".bad.yml")
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: %v does not wrap %v", tt.file, err, tt.sentinel)
		}
	}
	// Every joined problem is a *LineError with a line.
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if !errors.As(e, &le) || le.Line == 0 {
			t.Errorf("problem without a line: %v", e)
		}
	}
}

func TestSecretEnv(t *testing.T) {
	for _, tt := range []struct {
		env, want string
	}{
		{"TEST_SECRET", ""},
		{"EMPTY_SECRET", "3: endpoints[0].secret_env: environment variable EMPTY_SECRET is not set or empty"},
		{"NOT_SET", "3: endpoints[0].secret_env: environment variable NOT_SET is not set or empty"},
	} {
		yml := "endpoints:\n  - name: a\n    secret_env: " + tt.env + "\n    url: https://a.example.com\ntriggers: [{name: t, when: {mql: entered}, endpoints: a}]\n"
		c, err := ParseEnv([]byte(yml), "", testEnv)
		switch {
		case tt.want == "" && (err != nil || c.Endpoints[0].Secret != "secret-of-TEST_SECRET"):
			t.Errorf("%s: %v, %+v", tt.env, err, c)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("%s: err = %v, want %q", tt.env, err, tt.want)
		}
	}
	// Load and Parse read the real environment.
	t.Setenv("PROPENSITY_TRIGGERS_TEST_SECRET", "from-env")
	path := filepath.Join(t.TempDir(), "t.yml")
	yml := "endpoints: [{name: a, url: 'https://a.example.com', secret_env: PROPENSITY_TRIGGERS_TEST_SECRET}]\ntriggers: [{name: t, when: {mql: entered}, endpoints: a}]\n"
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || c.Endpoints[0].Secret != "from-env" || c.Source != path {
		t.Errorf("Load: %v, %+v", err, c)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yml")); err == nil {
		t.Error("Load of a missing file: no error")
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	shipped, _ := filepath.Glob("../../data/triggers/*.yaml")
	for _, p := range append(files, shipped...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseEnv(data, "fuzz.yml", testEnv)
		if err != nil {
			if c != nil {
				t.Fatal("config and error both returned")
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LineError", err)
			}
			return
		}
		// A config that parses is whole: names unique, references resolved, secrets set,
		// and it evaluates without panicking.
		seen := map[string]bool{}
		for _, e := range c.Endpoints {
			if e.Name == "" || e.Secret == "" || e.Timeout <= 0 || seen[e.Name] {
				t.Fatalf("bad endpoint %+v", e)
			}
			seen[e.Name] = true
		}
		names := map[string]bool{}
		for _, tr := range c.Triggers {
			if tr.Name == "" || tr.When.Kind == "" || len(tr.Endpoints) == 0 || names[tr.Name] {
				t.Fatalf("bad trigger %+v", tr)
			}
			names[tr.Name] = true
			for _, e := range tr.Endpoints {
				if !seen[e] {
					t.Fatalf("trigger %s names unknown endpoint %q", tr.Name, e)
				}
			}
		}
		full := State{Stage: "mql", MQL: true, HasRules: true, RuleTotal: 40, HasConvert: true, PConvert: 0.7,
			HasChurn: true, PChurn: 0.6, Segments: []string{"a"}, HasLTV: true, LTVTier: "gold"}
		for _, tr := range c.Evaluate(State{}, full) {
			if len(c.NewDeliveries("c1", []Transition{tr}, json.RawMessage(`{}`), time.Unix(0, 0))) != len(tr.Endpoints) {
				t.Fatal("a delivery per endpoint expected")
			}
		}
		c.Evaluate(full, State{})
	})
}

// TestDocsExamples keeps docs/triggers.md true: its example is the shipped file, and its
// error listing is what that file gets.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/triggers.md")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../../data/triggers/dealership.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(shipped)+"```\n") {
		t.Error("docs/triggers.md does not show data/triggers/dealership.yaml as it is")
	}
	bad, err := os.ReadFile("testdata/unknown_fields.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, perr := ParseEnv(bad, "unknown_fields.yml", testEnv)
	if perr == nil {
		t.Fatal("unknown_fields.bad.yml parsed")
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(bad)+"```\n\nis refused with:\n\n```\n"+perr.Error()+"\n```\n") {
		t.Errorf("docs/triggers.md does not show unknown_fields.bad.yml and its messages:\n%v", perr)
	}
}
