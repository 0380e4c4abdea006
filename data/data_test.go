package data_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/models/scorecard"
)

func TestEmbeddedScorecards(t *testing.T) {
	names := data.ScorecardNames()
	for _, want := range []string{"b2b", "dealership", "financial_adviser"} {
		if !slices.Contains(names, want) {
			t.Errorf("ScorecardNames() = %v, lacks %s", names, want)
		}
	}
	for _, name := range names {
		b, err := data.Scorecard(name)
		if err != nil {
			t.Fatal(err)
		}
		set, err := scorecard.Parse(b, name+".yaml")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if set.Lookup(name) == nil {
			t.Errorf("%s.yaml does not define scorecard %q", name, name)
		}
	}
	if _, err := data.Scorecard("nope"); err == nil || !strings.Contains(err.Error(), "dealership") {
		t.Errorf("unknown scorecard: err = %v, want one listing the embedded names", err)
	}
	if !slices.Contains(names, data.DefaultScorecard) {
		t.Errorf("DefaultScorecard %q is not embedded", data.DefaultScorecard)
	}
}

func ExampleScorecard() {
	b, _ := data.Scorecard(data.DefaultScorecard)
	set, _ := scorecard.Parse(b, "dealership.yaml")
	sc := set.Lookup("dealership")
	fmt.Println(sc.Name(), sc.Version())
	// Output: dealership 3
}
