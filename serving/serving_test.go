package serving_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/servingtest"
)

var asOf = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func profile() features.Profile {
	return features.Profile{
		ContactID: "c-1", AsOf: asOf,
		Attributes: map[string]any{"age": 62.0},
		Events: []features.Event{
			{Type: "form_submit", TS: asOf.Add(-9 * 24 * time.Hour), Page: "/models/suv-x"},
			{Type: "email_open", TS: asOf.Add(-8 * 24 * time.Hour)},
			{Type: "page_view", TS: asOf.Add(-5 * 24 * time.Hour), Page: "/directions"},
			{Type: "page_view", TS: asOf.Add(time.Hour)}, // after as-of: ignored
		},
		Transactions: []features.Transaction{
			{TS: asOf.Add(-200 * 24 * time.Hour), Amount: 50},
			{TS: asOf.Add(-100 * 24 * time.Hour), Amount: 80},
		},
	}
}

func loadSet(t *testing.T, dir string) *serving.ModelSet {
	t.Helper()
	set, err := servingtest.Loader(dir).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestScoreBlocks(t *testing.T) {
	full := t.TempDir()
	if err := servingtest.WriteAll(full); err != nil {
		t.Fatal(err)
	}
	partial := t.TempDir()
	if _, err := servingtest.Write(partial, artifact.KindChurn, servingtest.Payload{Bias: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		set         *serving.ModelSet
		unavailable []string
	}{
		{"all", loadSet(t, full), []string{}},
		{"churn and rules only", loadSet(t, partial), []string{"conversion", "ltv", "persona", "uplift"}},
		{"nothing", &serving.ModelSet{}, []string{"rules", "conversion", "churn", "ltv", "persona", "uplift"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serving.NewScorer(serving.Static{Set: tt.set}, nil)
			r, err := s.Score(context.Background(), profile())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Unavailable, tt.unavailable) {
				t.Errorf("unavailable = %v, want %v", r.Unavailable, tt.unavailable)
			}
			b, _ := json.Marshal(r)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			for _, blk := range serving.Blocks() {
				_, present := m[blk]
				if present == slices.Contains(tt.unavailable, blk) {
					t.Errorf("block %s present=%v but unavailable=%v", blk, present, tt.unavailable)
				}
			}
			if m["unavailable"] == nil {
				t.Error("unavailable must be [] not null")
			}
		})
	}
}

func TestScoreValues(t *testing.T) {
	dir := t.TempDir()
	if err := servingtest.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	s := serving.NewScorer(serving.Static{Set: loadSet(t, dir)}, nil)
	r, err := s.Score(context.Background(), profile())
	if err != nil {
		t.Fatal(err)
	}
	// Three events before as-of: the fake scorecard gives 10 points each, the fake
	// classifiers see n_events_30d = 3.
	if r.Rules.Total != 30 || r.Rules.Engagement != 30 {
		t.Errorf("rules = %+v", r.Rules)
	}
	if got := r.Conversion.Reasons[0].Value; got != 3.0 {
		t.Errorf("n_events_30d = %v, want 3", got)
	}
	if r.Persona.Name != "quiet" && r.Persona.Name != "engaged" {
		t.Errorf("persona = %+v", r.Persona)
	}
	if r.LTV == nil || !(r.LTV.PAlive > 0 && r.LTV.PAlive <= 1) || r.LTV.HorizonDays != 365 {
		t.Errorf("ltv = %+v", r.LTV)
	}
	// A contact without purchases has no lifetime value: the block is left out, not zeroed.
	p := profile()
	p.Transactions = nil
	r, err = s.Score(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if r.LTV != nil || !slices.Equal(r.Unavailable, []string{"ltv"}) {
		t.Errorf("no purchases: ltv = %+v, unavailable %v", r.LTV, r.Unavailable)
	}
}

func TestScoreErrors(t *testing.T) {
	s := serving.NewScorer(serving.Static{}, nil)
	if _, err := s.Score(context.Background(), profile()); !errors.Is(err, serving.ErrNotReady) {
		t.Errorf("no set: %v", err)
	}
	s = serving.NewScorer(serving.Static{Set: &serving.ModelSet{Rules: servingtest.Rules{Name: "a"}}}, nil)
	p := profile()
	if _, err := s.ScoreWith(context.Background(), nil, &p, serving.Options{Scorecard: "b"}); !errors.Is(err, serving.ErrUnknownScorecard) {
		t.Errorf("unknown scorecard: %v", err)
	}
}

func TestDefaultAsOf(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := serving.NewScorer(serving.Static{Set: &serving.ModelSet{}}, func() time.Time { return now })
	p := profile()
	p.AsOf = time.Time{}
	r, err := s.Score(context.Background(), p)
	if err != nil || !r.AsOf.Equal(now) {
		t.Errorf("as_of = %v, %v; want %v", r.AsOf, err, now)
	}
}

func TestLoaderRefusesBadArtifacts(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(dir string) error
		want  error
	}{
		{"checksum", func(dir string) error { return servingtest.Corrupt(dir, artifact.KindConversion) }, artifact.ErrChecksum},
		{"feature schema", func(dir string) error {
			_, err := artifact.Save(filepath.Join(dir, artifact.KindChurn),
				artifact.Manifest{Kind: artifact.KindChurn, Model: "fake", FeatureSchemaVersion: features.SchemaVersion + 1},
				servingtest.Payload{})
			return err
		}, serving.ErrFeatureSchema},
		{"kind", func(dir string) error {
			_, err := servingtest.Write(filepath.Join(dir, "x"), artifact.KindChurn, servingtest.Payload{})
			if err == nil {
				err = os.RemoveAll(filepath.Join(dir, artifact.KindPersonas))
			}
			if err == nil {
				err = os.Rename(filepath.Join(dir, "x", artifact.KindChurn), filepath.Join(dir, artifact.KindPersonas))
			}
			return err
		}, artifact.ErrKind},
		{"truncated manifest", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, artifact.KindLTV, artifact.ManifestFile), []byte(`{"format_version": 1,`), 0o644)
		}, artifact.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := servingtest.WriteAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := tt.spoil(dir); err != nil {
				t.Fatal(err)
			}
			_, err := servingtest.Loader(dir).Load(context.Background())
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRegistryKeepsOldSetOnFailure(t *testing.T) {
	dir := t.TempDir()
	if err := servingtest.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	promReg := prometheus.NewRegistry()
	r := serving.NewRegistry(servingtest.Loader(dir).Load, nil, promReg)
	if r.Ready() {
		t.Fatal("ready before loading")
	}
	first, err := r.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := servingtest.Corrupt(dir, artifact.KindChurn); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reload(context.Background()); !errors.Is(err, artifact.ErrChecksum) {
		t.Fatalf("reload of a corrupt artifact: %v", err)
	}
	if r.Current() != first {
		t.Error("a refused reload replaced the model set")
	}
	want := `
# HELP propensity_model_reloads_total Model set loads, by result (success, failure).
# TYPE propensity_model_reloads_total counter
propensity_model_reloads_total{result="failure"} 1
propensity_model_reloads_total{result="success"} 1
`
	if err := testutil.GatherAndCompare(promReg, strings.NewReader(want), "propensity_model_reloads_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(promReg, "propensity_model_info"); n != 6 { // 5 artifacts + 1 scorecard
		t.Errorf("%d model info series, want 6", n)
	}
}

func TestContactStoreMissingFile(t *testing.T) {
	if _, err := serving.OpenContactStore(context.Background(), filepath.Join(t.TempDir(), "none.parquet")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestFeatureOptionsFromManifest(t *testing.T) {
	dir := t.TempDir()
	if err := servingtest.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(map[string]any{"model": "fake", "features": features.Options{
		AsOf: asOf, ProductCategories: []string{"parts", "service"}, HalfLife: 14 * 24 * time.Hour,
		Attributes: []features.Attribute{{Name: "occupation", Categorical: true}},
	}})
	if _, err := artifact.Save(filepath.Join(dir, artifact.KindChurn),
		artifact.Manifest{Kind: artifact.KindChurn, Model: "fake", Options: opts}, servingtest.Payload{}); err != nil {
		t.Fatal(err)
	}
	set := loadSet(t, dir)
	got := set.FeatureOptions
	if !slices.Equal(got.ProductCategories, []string{"parts", "service"}) || got.HalfLife != 14*24*time.Hour ||
		len(got.Attributes) != 1 || !got.AsOf.IsZero() {
		t.Errorf("feature options %+v", got)
	}
	// The online row then has the training table's columns.
	s := serving.NewScorer(serving.Static{Set: set}, nil)
	p := profile()
	in := serving.NewInput(&p, set.FeatureOptions)
	row, err := in.Features()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := row.Float("spend_parts"); !ok {
		t.Errorf("no spend_parts column in %v", row.Schema.Names())
	}
	if _, err := s.Score(context.Background(), profile()); err != nil {
		t.Fatal(err)
	}
}

// TestScoreRefusesValues: profiles from any decoder (Arrow strings are not checked for
// UTF-8, Go callers build times freely) are checked before scoring; an event in 2300 made
// the feature accumulator panic (HTTP 500), an invalid contact_id was answered as U+FFFD,
// two amounts of 1e308 summed to +Inf (issue 17, defects 4, 5, 9). Each is an
// ErrBadProfile naming the field.
func TestScoreRefusesValues(t *testing.T) {
	dir := t.TempDir()
	if err := servingtest.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	s := serving.NewScorer(serving.Static{Set: loadSet(t, dir)}, nil)
	for _, c := range []struct {
		field string
		edit  func(p *features.Profile)
	}{
		{"events[1].ts", func(p *features.Profile) { p.Events[1].TS = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"events[0].ts", func(p *features.Profile) { p.Events[0].TS = time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"as_of", func(p *features.Profile) { p.AsOf = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"contact_id", func(p *features.Profile) { p.ContactID = "c\xff" }},
		{"events[2].page", func(p *features.Profile) { p.Events[2].Page = "/\xc3" }},
		{"transactions[0].amount", func(p *features.Profile) { p.Transactions[0].Amount, p.Transactions[1].Amount = 1e308, 1e308 }},
		{"attributes.age", func(p *features.Profile) { p.Attributes["age"] = math.Inf(1) }},
		{"attributes.created_at", func(p *features.Profile) {
			p.Attributes["created_at"] = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
		}},
	} {
		p := profile()
		c.edit(&p)
		_, err := s.Score(context.Background(), p)
		var fe *features.FieldError
		if !errors.Is(err, features.ErrBadProfile) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: err = %v, want a FieldError naming it", c.field, err)
		}
	}
}

// TestDefect11WarningsAndUnavailableReasons (issue 17, defect 11 and "Also"): a response
// names what the models did not get (unknown attributes, missing inputs, values of the wrong
// type), says why each block is unavailable (not loaded, or no answer for this contact), and
// a model none of whose inputs the profile holds gives no probability.
func TestDefect11WarningsAndUnavailableReasons(t *testing.T) {
	dir := t.TempDir()
	if _, err := servingtest.WriteLTV(dir); err != nil {
		t.Fatal(err)
	}
	ltv, _, err := serving.LoadLTV(filepath.Join(dir, artifact.KindLTV))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	set := &serving.ModelSet{
		Conversion: &serving.RecordClassifier{Inputs: []string{"age", "income", "n_events_30d"},
			PredictRecord: func(map[string]any) (float64, []serving.Reason, error) { calls++; return 0.3, nil, nil }},
		LTV: ltv,
		FeatureOptions: features.Options{Attributes: []features.Attribute{
			{Name: "age"}, {Name: "income"}, {Name: "occupation", Categorical: true}}},
	}
	s := serving.NewScorer(serving.Static{Set: set}, nil)
	p := features.Profile{ContactID: "c-1", AsOf: asOf,
		Attributes: map[string]any{"agee": 40.0, "income": "lots", "occupation": "x"},
		Events:     []features.Event{{Type: "page_view", TS: asOf.Add(-time.Hour)}}}
	r, err := s.Score(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	type w struct{ field, code string }
	var got []w
	for _, x := range r.Warnings {
		got = append(got, w{x.Field, x.Code})
	}
	want := []w{
		{"attributes.agee", serving.WarnUnknownAttribute},
		{"attributes.occupation", serving.WarnUnknownAttribute}, // no loaded model reads it
		{"attributes.age", serving.WarnMissingInput},
		{"attributes.income", serving.WarnWrongType},
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings %+v, want %+v", r.Warnings, want)
	}
	if r.Conversion == nil || calls != 1 {
		t.Fatalf("conversion %+v (calls %d)", r.Conversion, calls)
	}
	reasons := map[string]string{}
	for _, u := range r.UnavailableReasons {
		reasons[u.Block] = u.Reason
	}
	wantReasons := map[string]string{"rules": serving.ReasonNotLoaded, "churn": serving.ReasonNotLoaded,
		"ltv": serving.ReasonNoAnswer, "persona": serving.ReasonNotLoaded, "uplift": serving.ReasonNotLoaded}
	if !maps.Equal(reasons, wantReasons) || !slices.Equal(r.Unavailable, []string{"rules", "churn", "ltv", "persona", "uplift"}) {
		t.Errorf("unavailable %v, reasons %+v", r.Unavailable, r.UnavailableReasons)
	}

	// Nothing the conversion model reads: no probability, and the reason says so.
	r, err = s.Score(context.Background(), features.Profile{ContactID: "c-2", AsOf: asOf, Attributes: map[string]any{"occupation": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conversion != nil || calls != 1 || !slices.Contains(r.Unavailable, "conversion") {
		t.Fatalf("conversion %+v for a profile without any input", r.Conversion)
	}
	for _, u := range r.UnavailableReasons {
		if u.Block == "conversion" && (u.Reason != serving.ReasonNoAnswer || !strings.Contains(u.Message, "none of the model's inputs")) {
			t.Errorf("conversion: %+v", u)
		}
	}
	// A value the model cannot read gives it nothing either.
	r, err = s.Score(context.Background(), features.Profile{ContactID: "c-3", AsOf: asOf, Attributes: map[string]any{"income": "lots"}})
	if err != nil || r.Conversion != nil || calls != 1 {
		t.Fatalf("conversion %+v (%v) for a profile whose only input is of the wrong type", r.Conversion, err)
	}
	b, _ := json.Marshal(r)
	for _, k := range []string{`"warnings":[`, `"unavailable_reasons":[`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
}

// ageScorer scores with a conversion model that reads the attribute age alone.
func ageScorer() *serving.Scorer {
	set := &serving.ModelSet{
		Conversion: &serving.RecordClassifier{Inputs: []string{"age"},
			PredictRecord: func(map[string]any) (float64, []serving.Reason, error) { return 0.3, nil, nil }},
		FeatureOptions: features.Options{Attributes: []features.Attribute{{Name: "age"}}},
	}
	return serving.NewScorer(serving.Static{Set: set}, nil)
}

// Unknown attributes are warned of in name order, however many there are (more than fit
// the scorer's buffer of names), in two profiles scored one after the other.
func TestUnknownAttributeWarningsMany(t *testing.T) {
	s := ageScorer()
	for round, n := range []int{300, 40} {
		attrs := map[string]any{"age": 30.0}
		var want []string
		for i := range n {
			k := fmt.Sprintf("x%03d_%d", i, round)
			attrs[k] = "v"
			want = append(want, "attributes."+k)
		}
		slices.Sort(want)
		r, err := s.Score(context.Background(), features.Profile{ContactID: "c", AsOf: asOf, Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range r.Warnings {
			if w.Code != serving.WarnUnknownAttribute || !strings.Contains(w.Message, "no loaded model") {
				t.Fatalf("round %d: warning %+v", round, w)
			}
			got = append(got, w.Field)
		}
		if !slices.Equal(got, want) {
			t.Errorf("round %d: %d warnings, want %d, in name order", round, len(got), len(want))
		}
	}
}

// Options.NoWarnings leaves only the warnings out: every block is as without it.
func TestScoreNoWarnings(t *testing.T) {
	s := ageScorer()
	p := features.Profile{ContactID: "c", AsOf: asOf, Attributes: map[string]any{"agee": 3.0}}
	with, err := s.ScoreWith(context.Background(), nil, &p, serving.Options{})
	if err != nil {
		t.Fatal(err)
	}
	without, err := s.ScoreWith(context.Background(), nil, &p, serving.Options{NoWarnings: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(with.Warnings) != 2 || without.Warnings != nil {
		t.Fatalf("warnings %+v and, with NoWarnings, %+v", with.Warnings, without.Warnings)
	}
	with.Warnings = nil
	if !reflect.DeepEqual(with, without) {
		t.Errorf("responses differ beyond the warnings:\n%+v\n%+v", with, without)
	}
}
