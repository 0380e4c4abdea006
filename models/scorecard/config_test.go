package scorecard

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
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/*.bad.yml")

// TestBadConfigs checks the messages of every testdata/*.bad.yml against its .golden file
// (one problem a line); run with -update to rewrite them after a deliberate change.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata/*.bad.yml", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			got := err.Error() + "\n"
			golden.Check(t, f+".golden", got, *update)
		})
	}
}

func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.good.yml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			set, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range set.Scorecards() {
				if _, err := sc.Score(Input{AsOf: asOf, Events: evs("chat", 1)}); err != nil {
					t.Errorf("%s: %v", sc.Name(), err)
				}
			}
		})
	}
}

// TestConfigErrorFields checks that problems are typed, carry file, line and field, and
// wrap the right sentinels.
func TestConfigErrorFields(t *testing.T) {
	_, err := Load("testdata/unknown_event_type.bad.yml")
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v is not a *ConfigError", err)
	}
	if ce.File != "testdata/unknown_event_type.bad.yml" || ce.Line != 5 || ce.Field != "rules[0].event.type[0]" || !errors.Is(err, ErrEventType) {
		t.Errorf("first problem: %+v", ce)
	}
	tests := []struct {
		file     string
		sentinel error
	}{
		{"unknown_field", ErrUnknownField},
		{"bad_regex", ErrPattern},
		{"threshold_order", ErrOrder},
		{"bad_values", ErrInvalid},
		{"duplicate_scorecards", ErrDuplicate},
		{"duplicate_scorecards", ErrMissing},
		{"not_yaml", ErrInvalid},
	}
	for _, tt := range tests {
		_, err := Load("testdata/" + tt.file + ".bad.yml")
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: %v does not wrap %v", tt.file, err, tt.sentinel)
		}
	}
}

func TestConfigValidateProgrammatic(t *testing.T) {
	cfg := Config{Rules: []RuleConfig{{Name: "r", Points: 1}}}
	err := cfg.Validate()
	for _, want := range []string{"name: a scorecard needs a name", "version: a scorecard needs a version", "rules[0]: a rule needs a when"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	if _, err := New(cfg); err == nil {
		t.Error("New accepted an invalid config")
	}
}

func TestUnmarshalYAML(t *testing.T) {
	// A scorecard embedded in another YAML document decodes through Config.UnmarshalYAML.
	var outer struct {
		Scorecard Config `yaml:"scorecard"`
	}
	err := yaml.Unmarshal([]byte("scorecard:\n  name: x\n  version: '1'\n  rules: [{name: r, points: 2, when: 'a > 1'}]\n"), &outer)
	if err != nil {
		t.Fatal(err)
	}
	if c := outer.Scorecard; c.Name != "x" || c.MQLStage != "mql" || len(c.Thresholds) != 3 || c.Rules[0].Dimension != Fit {
		t.Errorf("defaults not applied: %+v", c)
	}
	err = yaml.Unmarshal([]byte("scorecard:\n  name: x\n  rules: [{name: r, pints: 2}]\n"), &outer)
	for _, want := range []string{"3: rules[0].pints: unknown field", "version: a scorecard needs a version"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	var c Config
	if err := c.UnmarshalYAML(nil); err == nil {
		t.Error("nil node: want an error")
	}
}

func FuzzParseConfigs(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	files = append(files, "../../data/scorecards/dealership.yaml", "../../data/scorecards/b2b.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data, "fuzz.yml")
		if err != nil {
			if set != nil {
				t.Fatal("set and error both returned")
			}
			return
		}
		for _, sc := range set.Scorecards() {
			res, err := sc.Score(Input{AsOf: asOf, Attributes: map[string]any{"a": 1, "email": "x@y.z"},
				Events: append(evs("page_view", 1, 2), evs("form_submit", 3)...)})
			if err != nil {
				continue
			}
			sum := 0
			for _, c := range res.Contributions {
				sum += c.Points
			}
			if sum != res.Total || res.Fit+res.Engagement+res.Lifecycle != res.Total {
				t.Fatalf("sums do not add up: %+v", res)
			}
		}
	})
}

func TestConfigJSON(t *testing.T) {
	set, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(set.Scorecards()[0].Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"pricing","dimension":"engagement","points":5,"event":{"type":["page_view"],"page":"/pricing","channel":"paid_*","campaign":"spring-*"},"min_count":1,"repeatable":true,"per_day_cap":1,"decay":{"half_life":"2w"}}`,
		`"audience":"account_type == \"b2b\""`, `"within":"30d"`, `"caps":{"fit":40,"engagement":60,"lifecycle":20,"total":100}`,
		`"thresholds":[{"stage":"cold","points":0},{"stage":"warm","points":20},{"stage":"hot","points":50}]`,
		`"stages":[{"name":"subscriber","points":0},`, `{"name":"customer","points":20,"event":{"type":["purchase"]}}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
}

// TestDurationTextRoundTrip checks that the JSON form of durations reads back as the same
// duration, and uses the YAML's units where they fit.
func TestDurationTextRoundTrip(t *testing.T) {
	for d, want := range map[time.Duration]string{
		14 * 24 * time.Hour: "2w", 30 * 24 * time.Hour: "30d", 36 * time.Hour: "36h0m0s",
		90 * time.Minute: "1h30m0s", 700 * 24 * time.Hour: "100w", 1: "1ns",
	} {
		got := durationText(d)
		if got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
	if durationText(0) != "" {
		t.Errorf("zero duration: %q, want empty", durationText(0))
	}
}

// TestParseDuration covers the spellings the YAML and the command-line flags share, and the
// values both must refuse: non-positive, NaN, Inf and anything over a century.
func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, tt := range []struct {
		in   string
		want time.Duration // 0: an error is expected
	}{
		{"90d", 90 * day}, {"2w", 14 * day}, {"36h", 36 * time.Hour}, {"1.5d", 36 * time.Hour},
		{" 30d ", 30 * day}, {"1h30m", 90 * time.Minute}, {"36500d", 36500 * day},
		{"0d", 0}, {"-3d", 0}, {"d", 0}, {"", 0}, {"ten days", 0}, {"3x", 0},
		{"NaNd", 0}, {"Infd", 0}, {"+Infw", 0}, {"36501d", 0}, {"5215w", 0}, {"15000w", 0},
		{"876001h", 0}, {"1e300d", 0},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.want == 0 {
				if err == nil {
					t.Errorf("ParseDuration(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
