package uplift

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	um "github.com/propensity-dev/propensity/models/uplift"
	"github.com/propensity-dev/propensity/training/tabular"
)

// TestGeneratedCampaign checks the bar on generated histories with a randomised
// campaign: the chosen learner's held-out Qini coefficient is at least 0.7 of the oracle's
// (ranking by the true effect), the top 30% by estimated uplift holds at least twice the true
// incremental conversions of the top 30% by conversion probability, and sleeping dogs land in
// the bottom decile more often than chance. CI runs one history of 12,000 contacts with the
// sleeping-dog bar and weaker ratios (the uplift model must beat conversion probability on
// both); UPLIFT_CONTACTS=50000 UPLIFT_SEEDS=1,2,3 runs the full bar (scripts/uplift_generated.sh).
func TestGeneratedCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on a generated history")
	}
	contacts := 12000
	if v := os.Getenv("UPLIFT_CONTACTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		contacts = n
	}
	seeds := []uint64{1}
	if v := os.Getenv("UPLIFT_SEEDS"); v != "" {
		seeds = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, n)
		}
	}
	for _, seed := range seeds {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := synth.Generate(context.Background(), dir, synth.Options{Contacts: contacts, Seed: seed, CampaignShare: 0.5}); err != nil {
				t.Fatal(err)
			}
			res, _, err := HistoryJob{Dir: dir, TreatmentEvent: synth.CampaignEventType, AsOf: synth.DefaultAsOf(),
				Horizon: synth.DefaultHorizon, Train: Options{Seed: seed}}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			tau, group := readTruth(t, dir)
			d := res.Data
			trueTau := make([]float64, len(d.IDs))
			groups := make([]string, len(d.IDs))
			for i, id := range d.IDs {
				v, ok := tau[id]
				if !ok {
					t.Fatalf("contact %s of the training rows has no true effect", id)
				}
				trueTau[i], groups[i] = v, group[id]
			}
			oracle := um.Qini(d.Y, d.Treated, trueTau)
			ratio := res.Uplift.Qini / oracle
			incUp := topTrueEffect(res.OOF, trueTau, 0.3)
			incProp := topTrueEffect(res.OOFPropensity, trueTau, 0.3)
			dogs, dogsBottom := bottomDecileShare(res.OOF, groups, synth.GroupSleepingDog)
			t.Logf("seed %d, %d contacts, %d rows: learner %s, Qini %.5f vs oracle %.5f (ratio %.2f); top 30%% true incremental conversions %.1f by uplift vs %.1f by conversion probability (×%.2f); %d sleeping dogs, %.2f in the bottom decile",
				seed, contacts, len(d.Y), res.Learner, res.Uplift.Qini, oracle, ratio, incUp, incProp, incUp/incProp, dogs, dogsBottom)
			// The ratios hold from 50,000 contacts (about 20,000 prospects); on the CI
			// history the held-out estimates are too noisy for them, and the test asks only
			// that the uplift model beats targeting by conversion probability.
			wantQini, wantInc := 0.7, 2.0
			if contacts < 50000 {
				wantQini, wantInc = res.Propensity.Qini/oracle, 1.0
			}
			if !(ratio >= wantQini) {
				t.Errorf("Qini %.5f is %.2f of the oracle's %.5f, want ≥ %.2f", res.Uplift.Qini, ratio, oracle, wantQini)
			}
			if !(incUp > wantInc*incProp) {
				t.Errorf("top 30%% by uplift: %.1f incremental conversions, by conversion probability %.1f; want > %.1f×", incUp, incProp, wantInc)
			}
			if dogs == 0 || !(dogsBottom > 0.1) {
				t.Errorf("%d sleeping dogs, %.2f of them in the bottom decile; want more than 0.1 (chance)", dogs, dogsBottom)
			}
		})
	}
}

func readTruth(t *testing.T, dir string) (map[string]float64, map[string]string) {
	f, err := tabular.ReadTable(filepath.Join(dir, synth.TruthFile), tabular.ReadOptions{Keep: []string{"contact_id", "uplift_group"}})
	if err != nil {
		t.Fatal(err)
	}
	ids, tc, gc := f.Column("contact_id"), f.Column("tau"), f.Column("uplift_group")
	if ids == nil || tc == nil || gc == nil {
		t.Fatalf("truth has no contact_id, tau or uplift_group column: %v", f.Names())
	}
	tau, group := map[string]float64{}, map[string]string{}
	for i, id := range ids.Cat {
		if !math.IsNaN(tc.Num[i]) {
			tau[id], group[id] = tc.Num[i], gc.Cat[i]
		}
	}
	return tau, group
}

// topTrueEffect sums the true effects of the top share of rows by score.
func topTrueEffect(score, tau []float64, share float64) float64 {
	idx := um.Order(score)
	var s float64
	for _, i := range idx[:int(math.Ceil(share*float64(len(idx))))] {
		s += tau[i]
	}
	return s
}

// bottomDecileShare returns the number of rows of the group and the share of them ranked in
// the lowest tenth of score.
func bottomDecileShare(score []float64, groups []string, group string) (int, float64) {
	idx := um.Order(score)
	bottom := len(idx) - len(idx)/10
	n, in := 0, 0
	for rank, i := range idx {
		if groups[i] == group {
			n++
			if rank >= bottom {
				in++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return n, float64(in) / float64(n)
}
