package scorecard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func loadFile(t testing.TB, path string) *Set {
	t.Helper()
	set, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// loadFiles loads each file and joins their scorecards, in order, into one set.
func loadFiles(t testing.TB, paths ...string) *Set {
	t.Helper()
	var cfgs []Config
	for _, p := range paths {
		for _, sc := range loadFile(t, p).Scorecards() {
			cfgs = append(cfgs, sc.Config())
		}
	}
	set, err := NewSet(cfgs...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// contractProfile is the example profile of docs/contract.md §2.
func contractProfile() Input {
	return Input{
		ContactID:  "c-1",
		AsOf:       day("2026-03-10T00:00:00Z"),
		Attributes: map[string]any{"age": 62.0, "occupation": "retired", "net_worth": 2500000.0},
		Events: []Event{
			{TS: day("2026-03-01T10:00:00Z"), Type: "form_submit", Page: "/models/suv-x", Value: math.NaN()},
			{TS: day("2026-03-02T08:00:00Z"), Type: "email_open", Value: math.NaN()},
			{TS: day("2026-03-02T08:01:00Z"), Type: "email_click", Value: math.NaN()},
			{TS: day("2026-03-05T19:00:00Z"), Type: "page_view", Page: "/directions", Value: math.NaN()},
		},
	}
}

const dealershipFile = "../../data/scorecards/dealership.yaml"

func checkSums(t *testing.T, r Result) {
	t.Helper()
	sum := 0
	var dims [3]int
	for _, c := range r.Contributions {
		sum += c.Points
		dims[dimIndex(c.Dimension)] += c.Points
	}
	if sum != r.Total {
		t.Errorf("contributions add up to %d, total is %d", sum, r.Total)
	}
	if r.Fit+r.Engagement+r.Lifecycle != r.Total {
		t.Errorf("fit %d + engagement %d + lifecycle %d != total %d", r.Fit, r.Engagement, r.Lifecycle, r.Total)
	}
	if dims != [3]int{r.Fit, r.Engagement, r.Lifecycle} {
		t.Errorf("per-dimension contributions %v, result %d/%d/%d", dims, r.Fit, r.Engagement, r.Lifecycle)
	}
}

// TestDealershipContract checks docs/contract.md §3's rules block for docs/contract.md §2's profile.
func TestDealershipContract(t *testing.T) {
	set := loadFile(t, dealershipFile)
	res, err := set.Score(contractProfile())
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, res)
	got, _ := json.Marshal(res)
	want := `{"scorecard":"dealership","version":"3","total":40,"fit":0,"engagement":40,"lifecycle":0,` +
		`"grade":"B2","stage":"mql","mql":true,"disqualified":false,"disqualified_by":"",` +
		`"contributions":[{"rule":"vehicle-interest-form","dimension":"engagement","points":10,"count":1},` +
		`{"rule":"follow-up-email-open","dimension":"engagement","points":3,"count":1},` +
		`{"rule":"follow-up-email-click","dimension":"engagement","points":7,"count":1},` +
		`{"rule":"directions-page","dimension":"engagement","points":20,"count":1}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDealershipVariants(t *testing.T) {
	set := loadFile(t, dealershipFile)
	tests := []struct {
		name      string
		edit      func(in *Input)
		total     int
		mql       bool
		disq      string
		stage     string
		wantGrade string
	}{
		{"contract example", func(*Input) {}, 40, true, "", "mql", "B2"},
		{"careers visit", func(in *Input) {
			in.Events = append(in.Events, Event{TS: day("2026-03-06T10:00:00Z"), Type: "page_view", Page: "/careers/sales", Value: math.NaN()})
		}, 25, false, "", "lead", "B3"},
		{"student", func(in *Input) { in.Attributes["occupation"] = "student" }, 0, false, "student", "disqualified", "B4"},
		{"event at as_of", func(in *Input) {
			in.Events = append(in.Events, Event{TS: in.AsOf, Type: "email_unsubscribe", Value: math.NaN()})
		}, 40, true, "", "mql", "B2"},
		{"event after as_of", func(in *Input) {
			in.Events = append(in.Events, Event{TS: in.AsOf.Add(time.Hour), Type: "page_view", Page: "/careers", Value: math.NaN()})
		}, 40, true, "", "mql", "B2"},
		{"unsubscribed", func(in *Input) {
			in.Events = append(in.Events, Event{TS: day("2026-03-07T10:00:00Z"), Type: "email_unsubscribe", Value: math.NaN()})
		}, 25, false, "", "lead", "B3"},
		{"repeat opens count once", func(in *Input) {
			for i := range 5 {
				in.Events = append(in.Events, Event{TS: day("2026-03-03T08:00:00Z").Add(time.Duration(i) * time.Hour), Type: "email_open", Value: math.NaN()})
			}
		}, 40, true, "", "mql", "B2"},
		{"form outside /models", func(in *Input) { in.Events[0].Page = "/contact" }, 30, true, "", "mql", "B2"},
		{"older than the 90-day window", func(in *Input) { in.AsOf = in.AsOf.AddDate(0, 0, 85) }, 20, false, "", "lead", "B3"},
		{"no events", func(in *Input) { in.Events = nil }, 0, false, "", "lead", "B4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := contractProfile()
			tt.edit(&in)
			res, err := set.Score(in)
			if err != nil {
				t.Fatal(err)
			}
			checkSums(t, res)
			if res.Total != tt.total || res.MQL != tt.mql || res.DisqualifiedBy != tt.disq ||
				res.Disqualified != (tt.disq != "") || res.Stage != tt.stage || res.Grade != tt.wantGrade {
				t.Errorf("got total %d mql %v disqualified_by %q stage %q grade %q; want %d %v %q %q %q",
					res.Total, res.MQL, res.DisqualifiedBy, res.Stage, res.Grade, tt.total, tt.mql, tt.disq, tt.stage, tt.wantGrade)
			}
		})
	}
}

func TestFinancialAdviserFit(t *testing.T) {
	set := loadFile(t, "../../data/scorecards/financial_adviser.yaml")
	asOf := day("2026-03-10T00:00:00Z")
	older, err := set.Score(Input{AsOf: asOf, Attributes: map[string]any{
		"account_type": "b2c", "age": 60, "net_worth": 2_500_000, "occupation": "retired", "marital_status": "married"}})
	if err != nil {
		t.Fatal(err)
	}
	younger, err := set.Score(Input{AsOf: asOf, Attributes: map[string]any{
		"account_type": "b2c", "age": 25, "net_worth": 20_000, "occupation": "nurse", "marital_status": "newly married"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, older)
	checkSums(t, younger)
	if older.Fit < 4*younger.Fit || older.Fit-younger.Fit < 40 {
		t.Errorf("fit of the 60-year-old %d is not far above the 25-year-old's %d", older.Fit, younger.Fit)
	}
	if older.Grade[0] != 'A' || younger.Grade[0] != 'D' {
		t.Errorf("grades %s and %s, want A. and D.", older.Grade, younger.Grade)
	}
}

func TestB2BScorecard(t *testing.T) {
	set := loadFile(t, "../../data/scorecards/b2b.yaml")
	asOf := day("2026-03-10T00:00:00Z")
	in := Input{AsOf: asOf, Attributes: map[string]any{
		"account_type": "b2b", "company_industry": "software", "company_employees": int64(5000),
		"annual_revenue": 5e8, "job_role": "VP Engineering", "email": "a@acme.com", "stage": "lead"}}
	for i := range 10 {
		in.Events = append(in.Events, Event{TS: asOf.Add(-time.Duration(i+1) * 24 * time.Hour), Type: "page_view", Page: "/pricing", Value: math.NaN()})
	}
	in.Events = append(in.Events, Event{TS: asOf.Add(-48 * time.Hour), Type: "trial_start", Value: math.NaN()})
	res, err := set.Score(in)
	if err != nil {
		t.Fatal(err)
	}
	checkSums(t, res)
	// Fit: 15 + 20 + 10 + 15 = 60, exactly the cap. Engagement: ten daily pricing views
	// with a 30-day half-life earn round(10·Σ 2^(-i/30), i = 1..10), capped at 60; the
	// trial stage adds 10, and the total cap of 120 takes the excess off engagement.
	decayed := 0.0
	for i := 1; i <= 10; i++ {
		decayed += 10 * math.Exp2(-float64(i)/30)
	}
	pricing := int(math.Round(decayed))
	if res.Fit != 60 || res.Engagement != 50 || res.Lifecycle != 10 || res.Total != 120 {
		t.Errorf("got fit %d engagement %d lifecycle %d total %d: %+v", res.Fit, res.Engagement, res.Lifecycle, res.Total, res.Contributions)
	}
	for _, want := range []string{fmt.Sprintf("pricing-page:+%d", pricing), fmt.Sprintf("cap:engagement:%d", 60-pricing), "cap:total:-10"} {
		if !strings.Contains(res.TopContributions(0), want) {
			t.Errorf("missing %s in %s", want, res.TopContributions(0))
		}
	}
	if _, err := set.Score(Input{Attributes: map[string]any{"account_type": "b2c"}}); err != ErrNoScorecard {
		t.Errorf("b2c contact: err = %v, want ErrNoScorecard", err)
	}
}

func TestEmbeddedScorecardsLoad(t *testing.T) {
	for _, name := range []string{"b2b", "dealership", "financial_adviser"} {
		if set := loadFile(t, "../../data/scorecards/"+name+".yaml"); set.Lookup(name) == nil {
			t.Errorf("no scorecard %q", name)
		}
	}
	// The folder is three alternatives, not one set: dealership has no audience, so
	// financial_adviser after it could never score anyone, and loading says so.
	_, err := Load("../../data/scorecards")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `financial_adviser.yaml:4: name: scorecard "financial_adviser" is never used: "dealership"`) {
		t.Errorf("loading the folder: err = %v, want financial_adviser refused as never used", err)
	}
	set := loadFiles(t, "../../data/scorecards/b2b.yaml", "../../data/scorecards/dealership.yaml")
	// Scorecards are picked by audience, in order.
	for attrs, want := range map[string]string{"b2b": "b2b", "b2c": "dealership"} {
		sc, err := set.Select(map[string]any{"account_type": attrs})
		if err != nil || sc.Name() != want {
			t.Errorf("Select(%s) = %v, %v; want %s", attrs, sc, err, want)
		}
	}
	if _, err := os.Stat(dealershipFile); err != nil {
		t.Fatal(err)
	}
}

func TestScorecardFields(t *testing.T) {
	set := loadFile(t, "../../data/scorecards/b2b.yaml")
	got := strings.Join(set.Scorecards()[0].Fields(), ",")
	want := "account_type,annual_revenue,company_employees,company_industry,email,job_role,occupation,stage"
	if got != want {
		t.Errorf("Fields() = %s, want %s", got, want)
	}
}

// TestConcurrentScore scores from several goroutines at once (run with -race).
func TestConcurrentScore(t *testing.T) {
	set := loadFiles(t, "../../data/scorecards/b2b.yaml", "../../data/scorecards/dealership.yaml")
	want, err := set.Score(contractProfile())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				got, err := set.Score(contractProfile())
				if err == nil && got.Total != want.Total {
					err = fmt.Errorf("total %d, want %d", got.Total, want.Total)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
