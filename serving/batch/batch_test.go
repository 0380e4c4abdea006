package batch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
)

func TestReasonsString(t *testing.T) {
	got := ReasonsString([]serving.Reason{{Feature: "age", Value: 41.0, Effect: 0.42}, {Feature: "days_since_last_event", Value: nil, Effect: -1.15}, {Feature: "plan", Value: "pro", Effect: 0.1}})
	if want := "age=41:+0.420 days_since_last_event=missing:-1.150 plan=pro:+0.100"; got != want {
		t.Errorf("ReasonsString = %q, want %q", got, want)
	}
}

func TestScoreBadOptions(t *testing.T) {
	_, err := Score(context.Background(), &serving.ModelSet{}, Options{})
	if !errors.Is(err, ErrOptions) {
		t.Fatalf("error %v, want ErrOptions", err)
	}
	for _, want := range []string{"history directory", "as-of", "output file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name the %s", err, want)
		}
	}
}

// TestScoreHistory scores a generated history with the embedded scorecard: one row per
// person, each the scorer's answer for the person's profile, and nothing written when the
// history is empty.
func TestScoreHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	asOf := synth.DefaultAsOf()
	if _, err := synth.Generate(ctx, dir, synth.Options{Contacts: 300, Seed: 3, AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	b, err := data.Scorecard(data.DefaultScorecard)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := scorecard.Parse(b, data.DefaultScorecard)
	if err != nil {
		t.Fatal(err)
	}
	set := &serving.ModelSet{Rules: serving.NewRules(cards, "embedded")}
	out := filepath.Join(t.TempDir(), "scores.parquet")
	sum, err := Score(ctx, set, Options{Dir: dir, AsOf: asOf, Out: out, Scorecards: cards})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != sum.People || sum.People < 250 || int64(sum.People) != sum.Report.People {
		t.Fatalf("%d rows, summary %+v", len(rows), sum)
	}
	byID := map[string]Row{}
	for _, r := range rows {
		byID[r.ContactID] = r
	}
	scorer := serving.NewScorer(serving.Static{Set: set}, nil)
	checked := 0
	_, err = history.ForEachPerson(ctx, dir, features.Options{AsOf: asOf}, func(p *history.Person) error {
		if checked >= 20 {
			return nil
		}
		checked++
		prof := p.Profile(asOf)
		resp, err := scorer.ScoreWith(ctx, set, &prof, serving.Options{})
		if err != nil {
			return err
		}
		if got, want := byID[p.ContactID], NewRow(resp); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: file %+v, scorer %+v", p.ContactID, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	empty := filepath.Join(t.TempDir(), "none.parquet")
	if _, err := Score(ctx, set, Options{Dir: t.TempDir(), AsOf: asOf, Out: empty, Scorecards: cards}); !errors.Is(err, history.ErrEmptyDir) {
		t.Errorf("empty history: %v, want history.ErrEmptyDir", err)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Error("output written despite the error")
	}
}
