package scorecard_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/models/scorecard"
)

func TestMarshalConfigsRoundTrip(t *testing.T) {
	files := map[string][]byte{}
	for _, name := range []string{"dealership", "b2b", "financial_adviser"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "data", "scorecards", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for _, name := range []string{"full.good.yml", "doc.good.yml", "minimal.good.yml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	in := scorecard.Input{ContactID: "c", AsOf: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
		Attributes: map[string]any{"occupation": "retired", "age": 62.0, "company_size": 120.0, "stage": "lead", "account_type": "b2c"},
		Events: []scorecard.Event{
			{TS: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Type: "form_submit", Page: "/models/suv-x", Value: math.NaN()},
			{TS: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), Type: "email_open", Value: math.NaN()},
			{TS: time.Date(2026, 3, 2, 8, 1, 0, 0, time.UTC), Type: "email_click", Value: math.NaN()},
			{TS: time.Date(2026, 3, 5, 19, 0, 0, 0, time.UTC), Type: "page_view", Page: "/pricing", Value: math.NaN()},
			{TS: time.Date(2026, 3, 6, 19, 0, 0, 0, time.UTC), Type: "page_view", Page: "/directions", Value: math.NaN()},
			{TS: time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC), Type: "survey", Value: 9},
		}}
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			cfgs, err := scorecard.ParseConfigs(b, name)
			if err != nil {
				t.Fatal(err)
			}
			out := scorecard.MarshalConfigs(cfgs, []string{"header"})
			back, err := scorecard.ParseConfigs(out, "out.yaml")
			if err != nil {
				t.Fatalf("written scorecard does not parse: %v\n%s", err, out)
			}
			if again := scorecard.MarshalConfigs(back, []string{"header"}); !bytes.Equal(again, out) {
				t.Errorf("not a fixed point:\n%s\n---\n%s", out, again)
			}
			s1, err := scorecard.NewSet(cfgs...)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := scorecard.NewSet(back...)
			if err != nil {
				t.Fatal(err)
			}
			r1, err1 := s1.Score(in)
			r2, err2 := s2.Score(in)
			if (err1 == nil) != (err2 == nil) || r1.Total != r2.Total || r1.Stage != r2.Stage || len(r1.Contributions) != len(r2.Contributions) {
				t.Errorf("scores differ: %+v (%v) vs %+v (%v)", r1, err1, r2, err2)
			}
		})
	}
}

// FuzzMarshalConfigsText: any text the engine accepts in a description, a page pattern or
// a condition's string literal reads back unchanged from the written YAML.
func FuzzMarshalConfigsText(f *testing.F) {
	for _, s := range []string{"plain", "/pricing*", `a "quoted" #not-a-comment: x`, "new\nline", "tab\there", "ünïcödé", "- {x: [y]}", "'single'", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip() // YAML is UTF-8; pagePattern and candidates leave such text out
		}
		cond, err := scorecard.ParseExpr("occupation == " + strconv.Quote(s))
		if err != nil {
			t.Skip()
		}
		cfg := scorecard.Config{Name: "n", Version: "1", Description: s,
			Rules: []scorecard.RuleConfig{{Name: "r", Points: 1, When: cond, Event: &scorecard.EventMatch{Types: []string{"page_view"}, Page: s}}}}
		if _, err := scorecard.New(cfg); err != nil {
			t.Skip()
		}
		out := scorecard.MarshalConfigs([]scorecard.Config{cfg}, []string{s})
		back, err := scorecard.ParseConfigs(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("%q: written scorecard does not parse: %v\n%s", s, err, out)
		}
		r := back[0].Rules[0]
		if back[0].Description != s || r.Event.Page != s || r.When.String() != cond.String() {
			t.Errorf("%q: read back description %q, page %q, when %q", s, back[0].Description, r.Event.Page, r.When.String())
		}
	})
}

func ExampleMarshalConfigs() {
	when, _ := scorecard.ParseExpr(`occupation == "retired"`)
	cfg := scorecard.Config{Name: "demo", Version: "1", Rules: []scorecard.RuleConfig{
		{Name: "retired", Dimension: scorecard.Fit, Points: 10, When: when},
		{Name: "visits", Dimension: scorecard.Engagement, Points: 5,
			Event: &scorecard.EventMatch{Types: []string{"page_view"}, Page: "/pricing*"}, Within: 14 * 24 * time.Hour},
	}}
	fmt.Printf("%s", scorecard.MarshalConfigs([]scorecard.Config{cfg}, []string{"written by an example"}))
	// Output:
	// # written by an example
	// name: "demo"
	// version: "1"
	// rules:
	//   - name: "retired"
	//     dimension: fit
	//     points: 10
	//     when: "occupation == \"retired\""
	//   - name: "visits"
	//     dimension: engagement
	//     points: 5
	//     event: {type: "page_view", page: "/pricing*"}
	//     within: 14d
}
