package evaluate

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/scorecard"
)

var asOf = synth.DefaultAsOf()

// sampleHistory generates one small history for the whole package (generation takes seconds).
var sampleHistory = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "evaluate-test-")
	if err != nil {
		return "", err
	}
	_, err = synth.Generate(context.Background(), dir, synth.Options{Contacts: 4000, Seed: 5, Workers: 2})
	return dir, err
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := sampleHistory(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func dealership(t testing.TB) *scorecard.Set {
	t.Helper()
	b, err := data.Scorecard("dealership")
	if err != nil {
		t.Fatal(err)
	}
	set, err := scorecard.Parse(b, "dealership.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// runOnce runs the whole job once for the tests that read its result.
var runOnce = sync.OnceValues(func() (*Result, error) {
	dir, err := sampleHistory()
	if err != nil {
		return nil, err
	}
	b, err := data.Scorecard("dealership")
	if err != nil {
		return nil, err
	}
	set, err := scorecard.Parse(b, "dealership.yaml")
	if err != nil {
		return nil, err
	}
	return Run(context.Background(), Options{Dir: dir, AsOf: asOf, Horizon: 90 * day, Scorecard: set})
})

func result(t *testing.T) *Result {
	t.Helper()
	if testing.Short() {
		t.Skip("generates and evaluates a history")
	}
	res, err := runOnce()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunSuggestionBeatsDealership(t *testing.T) {
	res := result(t)
	t.Logf("holdout %d prospects, %d converters; AUC rules %.4f, model %.4f, suggested %.4f; MQL precision/recall rules %.3f/%.3f suggested %.3f/%.3f",
		res.Prospects, res.Converters, res.Rules.AUC, res.Model.AUC, res.Suggested.AUC,
		res.Rules.MQL.Precision, res.Rules.MQL.Recall, res.Suggested.MQL.Precision, res.Suggested.MQL.Recall)
	if res.Suggested.AUC <= res.Rules.AUC {
		t.Errorf("suggested scorecard AUC %.4f does not beat the dealership scorecard's %.4f on the holdout", res.Suggested.AUC, res.Rules.AUC)
	}
	if got := res.Suggestion.AUCGain; math.Abs(got-(res.Suggested.AUC-res.Rules.AUC)) > 1e-12 {
		t.Errorf("AUCGain = %v, want the difference of the AUCs", got)
	}
	if res.Model.AUC <= 0.5 {
		t.Errorf("model AUC %.4f: no better than chance", res.Model.AUC)
	}
	if len(res.Suggestion.Rules) == 0 || len(res.Suggestion.Diff) == 0 {
		t.Errorf("no suggested rules (%d) or diff (%d)", len(res.Suggestion.Rules), len(res.Suggestion.Diff))
	}
	if len(res.Mined) == 0 || res.MiningError != "" {
		t.Errorf("no mined rules (error %q)", res.MiningError)
	}
}

// TestRunCutsAreConsistent recomputes the MQL and stage cuts from the holdout rows.
func TestRunCutsAreConsistent(t *testing.T) {
	res := result(t)
	for _, tc := range []struct {
		name string
		rows []row
		e    RuleEval
	}{{"current", res.holdout, res.Rules}, {"suggested", res.suggestedRows, res.Suggested}} {
		t.Run(tc.name, func(t *testing.T) {
			var flagged, hit, pos int
			for _, r := range tc.rows {
				if r.y == 1 {
					pos++
				}
				if r.mql {
					flagged++
					if r.y == 1 {
						hit++
					}
				}
			}
			m := tc.e.MQL
			if m.Flagged != flagged || m.Converters != hit || m.Missed != pos-hit {
				t.Errorf("MQL cut %+v, want flagged %d converters %d missed %d", m, flagged, hit, pos-hit)
			}
			if flagged > 0 && math.Abs(m.Precision-float64(hit)/float64(flagged)) > 1e-12 {
				t.Errorf("precision %v", m.Precision)
			}
			if math.Abs(m.Recall-float64(hit)/float64(pos)) > 1e-12 {
				t.Errorf("recall %v", m.Recall)
			}
			if len(tc.e.Stages) != 3 {
				t.Fatalf("%d stage cuts, want 3 (lead, mql, sql)", len(tc.e.Stages))
			}
			for k := 1; k < len(tc.e.Stages); k++ {
				if tc.e.Stages[k].Flagged > tc.e.Stages[k-1].Flagged {
					t.Errorf("stage %s flags more than the lower stage %s", tc.e.Stages[k].Stage, tc.e.Stages[k-1].Stage)
				}
			}
			n := 0
			for _, b := range tc.e.Bands {
				n += b.People
			}
			if n != len(tc.rows) {
				t.Errorf("bands hold %d people, want %d", n, len(tc.rows))
			}
		})
	}
}

func TestRunWrite(t *testing.T) {
	res := result(t)
	out := filepath.Join(t.TempDir(), "eval")
	if err := res.Write(out); err != nil {
		t.Fatal(err)
	}
	t.Run("suggested scorecard loads", func(t *testing.T) {
		set, err := scorecard.Load(filepath.Join(out, FileSuggested))
		if err != nil {
			t.Fatal(err)
		}
		sc := set.Scorecards()[0]
		if sc.Name() != res.Scorecard || !strings.HasSuffix(sc.Version(), "-suggested") {
			t.Errorf("suggested scorecard %s v%s", sc.Name(), sc.Version())
		}
		points := map[string]int{}
		for _, r := range sc.Config().Rules {
			points[r.Name] = r.Points
		}
		for _, r := range res.Suggestion.Rules {
			if p, ok := points[r.Name]; !ok || p != r.Points {
				t.Errorf("rule %s: file has %d points (present %v), suggestion says %d", r.Name, p, ok, r.Points)
			}
		}
	})
	t.Run("evaluation.json", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out, FileJSON))
		if err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.FormatVersion != FormatVersion || back.Rules.AUC != res.Rules.AUC || back.Suggested.MQL != res.Suggested.MQL {
			t.Errorf("evaluation.json does not hold the numbers: %+v", back.Rules.MQL)
		}
	})
	t.Run("disagreements.csv", func(t *testing.T) {
		f, err := os.Open(filepath.Join(out, FileDisagreements))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(res.Disagreements)+1 || len(recs) < 3 {
			t.Fatalf("%d records for %d disagreements", len(recs), len(res.Disagreements))
		}
		dirs := map[string]bool{}
		for _, r := range recs[1:] {
			dirs[r[1]] = true
		}
		if !dirs["rules_high_model_low"] || !dirs["model_high_rules_low"] {
			t.Errorf("directions %v, want both", dirs)
		}
	})
	t.Run("report.html", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out, FileReport))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<svg", "ROC on the holdout", "Cumulative gains", "calibration", "Candidate rules"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("report lacks %q", want)
			}
		}
	})
}

// TestRunOneClass: a window in which no one buys is an error, not a panic.
func TestRunOneClass(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a generated history")
	}
	dir, err := sampleHistory()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Dir: dir, AsOf: asOf.AddDate(3, 0, 0), Horizon: 90 * day, Scorecard: dealership(t)})
	if !errors.Is(err, ErrInsufficient) {
		t.Fatalf("err = %v, want ErrInsufficient", err)
	}
}

func TestRunErrors(t *testing.T) {
	set := dealership(t)
	for _, tc := range []struct {
		name string
		o    Options
		want error
	}{
		{"no dir", Options{AsOf: asOf, Horizon: day, Scorecard: set}, ErrOptions},
		{"no as-of", Options{Dir: "x", Horizon: day, Scorecard: set}, ErrOptions},
		{"no horizon", Options{Dir: "x", AsOf: asOf, Scorecard: set}, ErrOptions},
		{"no scorecard", Options{Dir: "x", AsOf: asOf, Horizon: day}, ErrOptions},
		{"negative", Options{Dir: "x", AsOf: asOf, Horizon: day, Scorecard: set, MaxRules: -1}, ErrOptions},
		{"MQL rate", Options{Dir: "x", AsOf: asOf, Horizon: day, Scorecard: set, MQLRate: 1.5}, ErrOptions},
		{"empty dir", Options{Dir: t.TempDir(), AsOf: asOf, Horizon: day, Scorecard: set}, ErrHistory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.o)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCARTErrors: input the tree cannot mine gives ErrMining and no rules.
func TestCARTErrors(t *testing.T) {
	x := [][]bool{{true, false, true, false}}
	for _, tc := range []struct {
		name string
		x    [][]bool
		y    []float64
	}{
		{"empty", nil, nil},
		{"single class", x, []float64{1, 1, 1, 1}},
		{"bad label", x, []float64{1, 2, 0, 0}},
		{"ragged", [][]bool{{true}}, []float64{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := cart{}.Mine(tc.x, tc.y)
			if !errors.Is(err, ErrMining) || rules != nil {
				t.Errorf("rules %v, err %v; want ErrMining", rules, err)
			}
		})
	}
}

// TestCARTFindsInteraction plants a rule (a and b: 60% convert, else 5%) and expects the
// tree's best leaf to be exactly it.
func TestCARTFindsInteraction(t *testing.T) {
	const n = 4000
	x := make([][]bool, 4)
	for j := range x {
		x[j] = make([]bool, n)
	}
	y := make([]float64, n)
	state := uint64(7)
	next := func() float64 { // xorshift, enough for a fixture
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return float64(state%1_000_000) / 1e6
	}
	for i := range n {
		for j := range x {
			x[j][i] = next() < 0.3
		}
		p := 0.05
		if x[0][i] && x[2][i] {
			p = 0.6
		}
		if next() < p {
			y[i] = 1
		}
	}
	rules, err := cart{MaxDepth: 2}.Mine(x, y)
	if err != nil {
		t.Fatal(err)
	}
	best := rules[0]
	got := map[int]bool{}
	for _, c := range best.Conditions {
		if c.Holds {
			got[c.Candidate] = true
		}
	}
	if len(best.Conditions) != 2 || !got[0] || !got[2] {
		t.Errorf("best leaf %+v, want x0 and x2", best)
	}
	if best.Rate < 0.45 || best.Rate > 0.75 {
		t.Errorf("best leaf rate %.3f, want about 0.6", best.Rate)
	}
	total := 0
	for _, r := range rules {
		total += r.People
	}
	if total != n {
		t.Errorf("leaves hold %d rows, want %d", total, n)
	}
}

func TestScale(t *testing.T) {
	cfg := scorecard.DefaultConfig
	rows := make([]row, 100)
	lo := make([]float64, 100)
	for i := range rows {
		lo[i] = -4 + 0.04*float64(i)
		rows[i].mql = i >= 90 // the current scorecard flags 10%
	}
	for _, tc := range []struct {
		name    string
		b0      float64
		wantPDO bool
	}{{"mapped", -5, true}, {"unmappable", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := scale(cfg, tc.b0, lo, rows, 0)
			if math.Abs(s.PDO-s.Factor*math.Ln2) > 1e-12 {
				t.Errorf("PDO %v is not factor·ln 2 (%v)", s.PDO, s.Factor)
			}
			if !tc.wantPDO {
				if s.PDO != 20 || s.Note == "" {
					t.Errorf("PDO %v note %q, want the fallback 20", s.PDO, s.Note)
				}
				return
			}
			// A person at the target log-odds scores the MQL threshold; one at the
			// intercept scores 0 (score = Offset + Factor·ln odds).
			if got := s.Offset + s.Factor*s.TargetLogOdds; math.Abs(got-30) > 1e-9 {
				t.Errorf("score at target = %v, want 30", got)
			}
			if got := s.Offset + s.Factor*tc.b0; math.Abs(got) > 1e-9 {
				t.Errorf("score at intercept = %v, want 0", got)
			}
			if s.TargetMQLRate != 0.1 {
				t.Errorf("target MQL rate %v, want 0.1", s.TargetMQLRate)
			}
		})
	}
}

func TestScaleGivenRate(t *testing.T) {
	lo := make([]float64, 100)
	rows := make([]row, 100)
	for i := range lo {
		lo[i] = -4 + 0.04*float64(i)
	}
	s := scale(scorecard.DefaultConfig, -5, lo, rows, 0.25)
	if s.TargetMQLRate != 0.25 || s.Note != "" {
		t.Errorf("target rate %v note %q, want 0.25 and no note", s.TargetMQLRate, s.Note)
	}
	above := 0
	for _, v := range lo {
		if v >= s.TargetLogOdds {
			above++
		}
	}
	if above < 24 || above > 26 {
		t.Errorf("%d of 100 at or above the target log-odds, want about 25", above)
	}
}

func TestPagePattern(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/pricing", "/pricing"},
		{"/products/suv/x-1", "/products/*"},
		{"/blog/post", "/blog/*"},
		{"/", "/"},
		{"", ""},
		{"//x", ""},
		{"/a*b", ""},
		{"Home page", "Home page"},
	} {
		if got := pagePattern(tc.in); got != tc.want {
			t.Errorf("pagePattern(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestInformationValue checks the formula on counts worked by hand: converters 30 with /
// 10 without, others 70 with / 890 without (0.5 added to each cell, 1 to each total).
func TestInformationValue(t *testing.T) {
	var x []bool
	var y []float64
	add := func(has bool, label float64, n int) {
		for range n {
			x = append(x, has)
			y = append(y, label)
		}
	}
	add(true, 1, 30)
	add(false, 1, 10)
	add(true, 0, 70)
	add(false, 0, 890)
	g1, d1 := 30.5/41, 70.5/961
	g0, d0 := 10.5/41, 890.5/961
	want := (g1-d1)*math.Log(g1/d1) + (g0-d0)*math.Log(g0/d0)
	if got := informationValue(x, y); math.Abs(got-want) > 1e-12 {
		t.Errorf("IV = %v, want %v", got, want)
	}
	if d := direction(x, y); d != 1 {
		t.Errorf("direction = %v, want 1", d)
	}
}

func BenchmarkCART(b *testing.B) {
	const n, m = 20000, 200
	x := make([][]bool, m)
	state := uint64(3)
	next := func() uint64 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return state
	}
	for j := range x {
		x[j] = make([]bool, n)
		for i := range x[j] {
			x[j][i] = next()%4 == 0
		}
	}
	y := make([]float64, n)
	for i := range y {
		if x[0][i] && next()%2 == 0 || next()%20 == 0 {
			y[i] = 1
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (cart{}).Mine(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestCandidatesMatchEngine checks that every characteristic holds exactly when the
// scorecard rule written for it fires in the engine: the fit sees what the file will score.
func TestCandidatesMatchEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a generated history")
	}
	dir, err := sampleHistory()
	if err != nil {
		t.Fatal(err)
	}
	set := dealership(t)
	primary := set.Scorecards()[0]
	col := newCollector(set, primary, asOf.Add(-90*day), asOf, 90*day)
	var inputs []scorecard.Input
	stop := errors.New("enough")
	_, err = history.ForEachPerson(context.Background(), dir, features.Options{AsOf: asOf}, func(p *history.Person) error {
		before := len(col.snaps[1].rows)
		if err := col.person(p); err != nil {
			return err
		}
		if len(col.snaps[1].rows) > before {
			inputs = append(inputs, inputOf(p, asOf))
		}
		if len(inputs) == 600 {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		t.Fatal(err)
	}
	rows := col.snaps[1].rows
	cands := candidates(rows, primary.Config().Rules, col.keys.keys, 5)
	if len(cands) < 20 {
		t.Fatalf("only %d candidates", len(cands))
	}
	for _, c := range cands {
		cfg := scorecard.Config{Name: "one", Version: "1",
			Rules: []scorecard.RuleConfig{c.ruleConfig(primary.Config().Rules, col.keys.keys, 1)}}
		sc, err := scorecard.New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		mismatch := 0
		for i := range rows {
			res, err := sc.Score(inputs[i])
			if err != nil {
				t.Fatal(err)
			}
			if (len(res.Contributions) > 0) != c.value(&rows[i]) {
				mismatch++
			}
		}
		if mismatch > 0 {
			t.Errorf("%s (%s): engine and characteristic disagree on %d of %d people", c.Name, c.Text, mismatch, len(rows))
		}
	}
}
