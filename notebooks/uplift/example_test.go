package uplift_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/models/effect"
	um "github.com/propensity-dev/propensity/models/uplift"
	"github.com/propensity-dev/propensity/training/tabular"
	"github.com/propensity-dev/propensity/training/uplift"
)

// notebook is the state the cells share: one generated history and one training run.
type notebook struct {
	dir   string
	sum   *synth.Summary
	res   *uplift.Result
	tau   []float64 // true effect of each training row
	group []string  // true uplift group of each training row
}

var (
	once sync.Once
	nb   notebook
)

func sample() *notebook {
	once.Do(func() {
		dir, err := os.MkdirTemp("", "uplift-notebook-")
		if err != nil {
			panic(err)
		}
		nb.dir = dir
		ctx := context.Background()
		if nb.sum, err = synth.Generate(ctx, dir, synth.Options{Contacts: 10000, Seed: 4, CampaignShare: 0.5}); err != nil {
			panic(err)
		}
		nb.res, _, err = uplift.HistoryJob{Dir: dir, TreatmentEvent: synth.CampaignEventType, AsOf: synth.DefaultAsOf(),
			Horizon: synth.DefaultHorizon, Train: uplift.Options{Seed: 4}}.Run(ctx)
		if err != nil {
			panic(err)
		}
		truth, err := tabular.ReadTable(filepath.Join(dir, synth.TruthFile), tabular.ReadOptions{Keep: []string{"contact_id", "uplift_group"}})
		if err != nil {
			panic(err)
		}
		ids, tc, gc := truth.Column("contact_id"), truth.Column("tau"), truth.Column("uplift_group")
		row := map[string]int{}
		for i, id := range ids.Cat {
			row[id] = i
		}
		for _, id := range nb.res.Data.IDs {
			nb.tau = append(nb.tau, tc.Num[row[id]])
			nb.group = append(nb.group, gc.Cat[row[id]])
		}
	})
	return &nb
}

// # 1. A randomised campaign
//
// `propensity generate --campaign 0.5` sends a discount offer (a campaign_offer event) at T
// to half the contacts, drawn at random. The generator knows each prospect's true effect τ:
// its conversion probability in the 90 days after T with the offer minus without it. The
// four classic groups are all there: persuadables, sure things, lost causes and sleeping
// dogs, whom the offer puts off.
func Example_campaign() {
	c := sample().sum.Campaign
	fmt.Printf("treated / control        %d / %d\n", c.Treated, c.Control)
	fmt.Printf("conversion treated       %.2f%%\n", 100*c.ConvertedTreated)
	fmt.Printf("conversion control       %.2f%%\n", 100*c.ConvertedControl)
	fmt.Printf("mean true effect         %+.4f\n", c.MeanTau)
	for _, g := range []string{synth.GroupPersuadable, synth.GroupSureThing, synth.GroupLostCause, synth.GroupSleepingDog} {
		fmt.Printf("%-24s %d prospects\n", g, c.Prospects[g])
	}
	// Output:
	// treated / control        4957 / 5043
	// conversion treated       3.73%
	// conversion control       4.41%
	// mean true effect         +0.0007
	// persuadable              248 prospects
	// sure_thing               2 prospects
	// lost_cause               3381 prospects
	// sleeping_dog             422 prospects
}

// # 2. Learners, chosen by cross-validated Qini
//
// `propensity train uplift --data DIR --treatment-event campaign_offer` fits three learners
// on boosted trees and keeps the one with the best held-out Qini coefficient. The same
// folds rank the rows by a conversion model fitted to treated and control rows alike: what
// targeting by probability would do.
func Example_learners() {
	r := sample().res
	fmt.Printf("rows %d (treated %d, control %d)\n", r.Rows, r.Treated, r.Control)
	for _, c := range r.Candidates {
		fmt.Printf("%-22s Qini %.4f ± %.4f\n", c.Learner, c.Qini, c.QiniSD)
	}
	fmt.Printf("chosen: %s\n", r.Learner)
	for _, k := range []uplift.Ranking{r.Uplift, r.Propensity} {
		fmt.Printf("%-34s Qini %.4f, uplift at 30%% %+.4f\n", k.Name, k.Qini, k.UpliftAt[2].Uplift)
	}
	// Output:
	// rows 4053 (treated 2012, control 2041)
	// t_learner              Qini 0.0035 ± 0.0030
	// class_transformation   Qini 0.0009 ± 0.0010
	// x_learner              Qini 0.0035 ± 0.0015
	// chosen: x_learner
	// uplift model (x_learner)           Qini 0.0035, uplift at 30% +0.0230
	// conversion probability             Qini -0.0007, uplift at 30% -0.0159
}

// # 3. Against the truth
//
// The oracle ranks by the true τ. Counting the true effects of the contacts each ranking
// would target shows what targeting by conversion probability costs: its top 30% holds the
// sure things and sleeping dogs whom the offer cannot help.
func Example_truth() {
	n := sample()
	d := n.res.Data
	oracle := um.Qini(d.Y, d.Treated, n.tau)
	fmt.Printf("Qini: model %.4f, oracle %.4f\n", n.res.Uplift.Qini, oracle)
	fmt.Printf("true incremental conversions in the top 30%%\n")
	fmt.Printf("  by estimated uplift      %.1f\n", top(n.res.OOF, n.tau, 0.3))
	fmt.Printf("  by conversion probability %.1f\n", top(n.res.OOFPropensity, n.tau, 0.3))
	fmt.Printf("  by true effect (oracle)  %.1f\n", top(n.tau, n.tau, 0.3))
	// Output:
	// Qini: model 0.0035, oracle 0.0049
	// true incremental conversions in the top 30%
	//   by estimated uplift      15.6
	//   by conversion probability 4.5
	//   by true effect (oracle)  44.3
}

// # 4. Deciles and group labels
//
// The served block carries the estimate's decile and, when the decile's held-out effect is
// confidently positive or negative (an interval of ±2.807 standard errors, 95% with
// Bonferroni's correction for ten deciles, that excludes zero), a group label.
// Sleeping dogs gather in the bottom decile.
func Example_deciles() {
	n := sample()
	bottom := bottomShare(n.res.OOF, n.group, synth.GroupSleepingDog)
	for _, d := range n.res.Deciles {
		fmt.Printf("decile %2d  observed uplift %+.3f ± %.3f", d.Decile, d.Uplift, effect.ConfidenceZ*d.SE)
		if d.Group != "" {
			fmt.Printf("  %s", d.Group)
		}
		fmt.Println()
	}
	fmt.Printf("sleeping dogs in the bottom decile: %.0f%% (chance: 10%%)\n", 100*bottom)
	// Output:
	// decile  1  observed uplift +0.043 ± 0.081
	// decile  2  observed uplift -0.007 ± 0.037
	// decile  3  observed uplift +0.028 ± 0.043
	// decile  4  observed uplift +0.005 ± 0.045
	// decile  5  observed uplift -0.021 ± 0.048
	// decile  6  observed uplift -0.019 ± 0.047
	// decile  7  observed uplift +0.001 ± 0.039
	// decile  8  observed uplift -0.000 ± 0.051
	// decile  9  observed uplift -0.009 ± 0.062
	// decile 10  observed uplift -0.094 ± 0.070  sleeping_dog
	// sleeping dogs in the bottom decile: 64% (chance: 10%)
}

func top(score, tau []float64, share float64) float64 {
	idx := um.Order(score)
	var s float64
	for _, i := range idx[:int(math.Ceil(share*float64(len(idx))))] {
		s += tau[i]
	}
	return s
}

func bottomShare(score []float64, groups []string, g string) float64 {
	idx := um.Order(score)
	cut := len(idx) - len(idx)/10
	n, in := 0, 0
	for rank, i := range idx {
		if groups[i] == g {
			n++
			if rank >= cut {
				in++
			}
		}
	}
	return float64(in) / float64(max(n, 1))
}
