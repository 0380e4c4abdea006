package uplift

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	um "github.com/propensity-dev/propensity/models/uplift"
)

func envF(k string) float64 { v, _ := strconv.ParseFloat(os.Getenv(k), 64); return v }

func TestZZSweep(t *testing.T) {
	dir := os.Getenv("SWEEP_DIR")
	if dir == "" {
		t.Skip()
	}
	if _, err := os.Stat(dir + "/truth.parquet"); err != nil {
		if _, err := synth.Generate(context.Background(), dir, synth.Options{Contacts: 50000, Seed: 2, CampaignShare: 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Seed: 2, Learner: os.Getenv("SWEEP_LEARNER"), Folds: int(envF("FOLDS"))}
	o.GBT.MaxDepth = int(envF("D"))
	o.GBT.Trees = int(envF("N"))
	o.GBT.LearningRate = envF("LR")
	o.GBT.MinChildWeight = envF("MCW")
	o.GBT.ColSample = envF("CS")
	o.GBT.L2 = envF("L2")
	res, _, err := HistoryJob{Dir: dir, TreatmentEvent: synth.CampaignEventType, AsOf: synth.DefaultAsOf(), Horizon: synth.DefaultHorizon, Train: o}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tau, _ := readTruth(t, dir)
	d := res.Data
	tt := make([]float64, len(d.IDs))
	for i, id := range d.IDs {
		tt[i] = tau[id]
	}
	oracle := um.Qini(d.Y, d.Treated, tt)
	for _, c := range res.Candidates {
		t.Logf("%s cv qini %.5f", c.Learner, c.Qini)
	}
	t.Logf("RESULT %s D=%s N=%s LR=%s MCW=%s CS=%s L2=%s: qini %.5f oracle %.5f ratio %.3f inc %.1f vs %.1f", res.Learner, os.Getenv("D"), os.Getenv("N"), os.Getenv("LR"), os.Getenv("MCW"), os.Getenv("CS"), os.Getenv("L2"),
		res.Uplift.Qini, oracle, res.Uplift.Qini/oracle, topTrueEffect(res.OOF, tt, 0.3), topTrueEffect(res.OOFPropensity, tt, 0.3))
}
