package uplift

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/effect"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/training/tabular"
)

// writeCampaign writes a CSV of a randomised e-mail campaign with three arms (mens, womens,
// none); label returns each row's outcome.
func writeCampaign(t *testing.T, n int, label func(arm string, x int, rng *rand.Rand) string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	path := filepath.Join(t.TempDir(), "campaign.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"id", "recency", "spend", "channel", "segment", "visit"})
	arms := []string{"Mens E-Mail", "Womens E-Mail", "No E-Mail"}
	for i := range n {
		x := rng.IntN(2)
		arm := arms[rng.IntN(3)]
		w.Write([]string{strconv.Itoa(i), strconv.Itoa(1 + (1-x)*6 + rng.IntN(3)), fmt.Sprintf("%.1f", 50+100*rng.Float64()),
			[]string{"web", "phone"}[rng.IntN(2)], arm, label(arm, x, rng)})
	}
	w.Flush()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// liftRecent: the womens e-mail lifts conversion of recent visitors (x = 1) from 5% to 35%
// and does nothing for the others, who convert more (30%) either way: sure things that a
// ranking by conversion probability puts first.
func liftRecent(arm string, x int, rng *rand.Rand) string {
	p := 0.3
	if x == 1 {
		p = 0.05
		if arm == "Womens E-Mail" {
			p = 0.35
		}
	}
	if rng.Float64() < p {
		return "1"
	}
	return "0"
}

func TestTableArmsAndArtifact(t *testing.T) {
	path := writeCampaign(t, 3000, liftRecent)
	out := t.TempDir()
	res, s, err := TableJob{Path: path, Treatment: "segment", TreatmentValue: "Womens E-Mail", ControlValue: "No E-Mail",
		Label: tabular.LabelOptions{Label: "visit", ID: "id"}, Train: Options{Seed: 1, GBT: fastTrees()}, Out: out}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.LeftOut == 0 || s.LeftOut+s.Rows != 3000 || s.Treated == 0 || s.Control == 0 {
		t.Errorf("rows %d, left out %d (mens arm), treated %d, control %d", s.Rows, s.LeftOut, s.Treated, s.Control)
	}
	if len(s.Candidates) != 3 || len(s.Candidates[0].FoldQini) != DefaultFolds {
		t.Errorf("candidates %+v", s.Candidates)
	}
	// The effect sits on recent visitors only: the held-out ranking must find it and beat
	// ranking by conversion probability (which puts the 30% non-recent rows first).
	if !(s.Uplift.Qini > 0) || !(s.Uplift.Qini > s.Propensity.Qini) {
		t.Errorf("Qini %.4f, by conversion probability %.4f", s.Uplift.Qini, s.Propensity.Qini)
	}
	if s.Deciles[0].Group != effect.GroupPersuadable {
		t.Errorf("top decile %+v, want labelled persuadable", s.Deciles[0])
	}
	if !s.Balance.Random {
		t.Errorf("random assignment flagged: %+v", s.Balance)
	}
	a, err := effect.Load(filepath.Join(out, artifact.KindUplift))
	if err != nil {
		t.Fatal(err)
	}
	recent := []float64{1, 100}
	idx := map[string]int{}
	for i, in := range a.Payload.Inputs {
		idx[in.Name] = i
	}
	score := func(recency float64) effect.Score {
		num := make([]float64, len(a.Payload.Inputs))
		str := make([]string, len(num))
		num[idx["recency"]], num[idx["spend"]] = recency, recent[1]
		str[idx["channel"]] = "web"
		sc, err := a.ScoreValues(num, str)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	hi, lo := score(1), score(8)
	if !(hi.Effect > 0.15 && hi.Decile <= 5 && lo.Effect < hi.Effect) {
		t.Errorf("recent visitor %+v, lapsed %+v", hi, lo)
	}
	if _, ok := idx["segment"]; ok || res.Model == nil {
		t.Error("the treatment column is among the model's inputs")
	}
	for _, f := range []string{ReportHTML, ReportJSON} {
		if b, err := os.ReadFile(filepath.Join(out, artifact.KindUplift, f)); err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func fastTrees() (o gbt.Options) {
	o.Trees = 60
	o.LearningRate = 0.1
	return o
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	const n = 1500
	one := filepath.Join(t.TempDir(), "one.csv")
	var b strings.Builder
	b.WriteString("x,arm,y\n")
	for i := range 400 {
		fmt.Fprintf(&b, "%d,A,%d\n", i, i%2)
	}
	os.WriteFile(one, []byte(b.String()), 0o644)
	few := filepath.Join(t.TempDir(), "few.csv")
	b.Reset()
	b.WriteString("x,arm,y\n")
	for i := range 400 {
		arm := "control"
		if i < 150 {
			arm = "treatment"
		}
		fmt.Fprintf(&b, "%d,%s,%d\n", i, arm, i%2)
	}
	os.WriteFile(few, []byte(b.String()), 0o644)
	constant := writeCampaign(t, n, func(arm string, x int, rng *rand.Rand) string {
		if arm == "No E-Mail" {
			return "0"
		}
		return liftRecent(arm, x, rng)
	})
	many := writeCampaign(t, n, liftRecent)
	for _, tc := range []struct {
		name string
		job  TableJob
		want error
		msg  string
	}{
		{"treatment column with one value", TableJob{Path: one, Treatment: "arm", Label: tabular.LabelOptions{Label: "y"}}, ErrTreatment, `"arm" has 1 value`},
		{"fewer than 200 treated rows", TableJob{Path: few, Treatment: "arm", Label: tabular.LabelOptions{Label: "y"}}, ErrInsufficient, "150 treated"},
		{"label constant in the control arm", TableJob{Path: constant, Treatment: "segment", TreatmentValue: "Womens E-Mail", ControlValue: "No E-Mail",
			Label: tabular.LabelOptions{Label: "visit"}}, ErrLabel, "control rows"},
		{"three arms without values", TableJob{Path: many, Treatment: "segment", Label: tabular.LabelOptions{Label: "visit"}}, ErrTreatment, "3 arms"},
		{"unknown arm value", TableJob{Path: many, Treatment: "segment", TreatmentValue: "Kids", ControlValue: "No E-Mail",
			Label: tabular.LabelOptions{Label: "visit"}}, ErrTreatment, `"Kids" is not a value`},
		{"missing treatment column", TableJob{Path: many, Treatment: "arm", Label: tabular.LabelOptions{Label: "visit"}}, tabular.ErrColumn, `"arm"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.job.Train = Options{GBT: fastTrees()}
			_, _, err := tc.job.Run(ctx)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestNonRandomAssignmentWarns(t *testing.T) {
	// Treat mostly the recent visitors: recency differs between arms far beyond chance.
	rng := rand.New(rand.NewPCG(5, 6))
	path := filepath.Join(t.TempDir(), "biased.csv")
	var b strings.Builder
	b.WriteString("recency,treated,y\n")
	for range 2000 {
		r := 1 + rng.IntN(10)
		tr := rng.Float64() < 0.8-0.06*float64(r)
		y := rng.Float64() < 0.2
		fmt.Fprintf(&b, "%d,%t,%t\n", r, tr, y)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	_, s, err := TableJob{Path: path, Treatment: "treated", Label: tabular.LabelOptions{Label: "y"}, Train: Options{GBT: fastTrees()}}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Balance.Random || len(s.Warnings) == 0 || !strings.Contains(s.Warnings[0], "recency") || s.Balance.Largest[0].Column != "recency" {
		t.Errorf("balance %+v, warnings %q", s.Balance, s.Warnings)
	}
}

// TestSparseCovariateBalance checks that a covariate present on few rows is judged against
// the chance level of those rows, not of all rows: a randomised campaign whose treated
// contacts' rare recency differs by half a standard deviation, on 15 rows per arm, is within
// chance (4·√(2/15) ≈ 1.46), though far beyond the all-rows level (≈ 0.18).
func TestSparseCovariateBalance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	path := filepath.Join(t.TempDir(), "sparse.csv")
	var b strings.Builder
	b.WriteString("x,rare,treated,y\n")
	present := [2]int{}
	for i := range 2000 {
		tr := i%2 == 0
		rare := ""
		if k := i % 2; present[k] < 15 && rng.Float64() < 0.05 {
			present[k]++
			v := float64(present[k] % 5) // the same values in both arms, shifted by 0.7 for treated
			if tr {
				v += 0.7
			}
			rare = fmt.Sprint(v)
		}
		fmt.Fprintf(&b, "%g,%s,%t,%t\n", rng.NormFloat64(), rare, tr, rng.Float64() < 0.2)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, s, err := TableJob{Path: path, Treatment: "treated", Label: tabular.LabelOptions{Label: "y"}, Train: Options{GBT: fastTrees()}}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var rare *SMDRow
	for i, r := range s.Balance.Largest {
		if r.Column == "rare" {
			rare = &s.Balance.Largest[i]
		}
	}
	if rare == nil || math.Abs(rare.SMD) < 0.3 || rare.Chance < 1 {
		t.Fatalf("rare covariate not measured on its own rows: %+v", s.Balance.Largest)
	}
	if !s.Balance.Random || len(s.Warnings) > 0 {
		t.Errorf("a sparse covariate within its chance level warned: balance %+v, warnings %q", s.Balance, s.Warnings)
	}
}
