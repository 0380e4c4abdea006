package personas_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/notebooks/internal/figures"
	"github.com/propensity-dev/propensity/training/personas"
	"github.com/propensity-dev/propensity/training/report"
	"github.com/propensity-dev/propensity/training/tabular"
)

// The cells share one generated history and its feature table, built on first use by
// people() and removed by TestMain.

type notebook struct {
	once  sync.Once
	err   error
	dir   string
	table *frame.Frame   // personas.FromFeatures of the feature table at T
	truth map[string]int // contact_id → the generator's latent persona
	names []string       // the generator's persona names, by id
}

var nb notebook

func TestMain(m *testing.M) {
	code := m.Run()
	if nb.dir != "" {
		os.RemoveAll(nb.dir)
	}
	figures.Remove()
	os.Exit(code)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// people generates 2,000 people (seed 1), builds their features at T and reads the truth.
func people() *notebook {
	nb.once.Do(func() { nb.err = nb.build(context.Background()) })
	must(nb.err)
	return &nb
}

func (n *notebook) build(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "propensity-personas-")
	if err != nil {
		return err
	}
	n.dir = dir
	s, err := synth.Generate(ctx, dir, synth.Options{Contacts: 2000, Seed: 1})
	if err != nil {
		return err
	}
	t, _, err := history.Build(ctx, dir, features.Options{AsOf: s.AsOf})
	if err != nil {
		return err
	}
	defer t.Release()
	if n.table, err = personas.FromFeatures(t); err != nil {
		return err
	}
	truth, err := tabular.ReadTable(filepath.Join(dir, synth.TruthFile), tabular.ReadOptions{Keep: []string{"contact_id"}})
	if err != nil {
		return err
	}
	n.truth = map[string]int{}
	ids, ps, names := truth.Column("contact_id").Cat, truth.Column("persona").Num, truth.Column("persona_name").Cat
	n.names = make([]string, synth.DefaultPersonas)
	for i, id := range ids {
		n.truth[id] = int(ps[i])
		n.names[int(ps[i])] = names[i]
	}
	return nil
}

// options are the personas job's options for k personas (0: choose k in [2, 8]), clustered
// on the persona feature set (personas.PersonaFeatures): age, income and account type; the
// mix of pages, event types and spend categories as smoothed shares; clicks per open;
// purchase frequency and mean spend; tenure, recency and satisfaction.
func options(n *notebook, k int, segs []personas.Segment) personas.Options {
	s := persona.Settings{K: k, KMin: 2, KMax: 8}
	s.Transform.Impute = true // feature tables have documented nulls (no purchase yet)
	opts := personas.Options{ID: "contact_id", Persona: s, Segments: segs, Seed: 1}
	personas.PersonaFeatures(n.table).Use(&opts)
	return opts
}

// # 1. How many personas?
//
// k-means on the persona feature set, standardised (log1p for skewed counts and amounts,
// arcsine-root for shares, account_type one-hot and weighted as one column, medians for
// missing values). Raw volumes are left out on purpose: they grow with tenure and
// engagement: clustering all 117 feature columns of 20,000 generated people chooses k = 2,
// buyers and the rest, and even at k = 5 agrees with the latent personas far less
// (adjusted Rand index 0.64, against 0.84 here). kmeans.ChooseK scores each k
// by the mean silhouette: how much closer a contact is to its own cluster than to the next
// one (1 is perfect, 0 is on the border).
func Example_chooseK() {
	n := people()
	out, err := personas.Run(context.Background(), n.table, options(n, 0, nil))
	must(err)
	fmt.Println("k  silhouette")
	for _, c := range out.Choice.Candidates {
		fmt.Printf("%d  %10.3f\n", c.K, c.Silhouette)
	}
	fmt.Printf("chosen k = %d\n", out.Choice.K)
	// The silhouette peaks at k = 5, the number of personas the generator used
	// (`propensity personas --data DIR --as-of T --k auto`).

	// Output:
	// k  silhouette
	// 2       0.144
	// 3       0.170
	// 4       0.186
	// 5       0.199
	// 6       0.180
	// 7       0.172
	// 8       0.175
	// chosen k = 5
}

// # 2. Five personas, named from their traits
//
// Each persona is named from the features that set it apart most (its mean, in standard
// deviations from the population's). Each trait also reads in plain words (its label),
// printed here for the strongest one next to the feature it comes from. The table compares them with the generator's latent
// personas: the adjusted Rand index is 1 for the same partition and 0 for chance.
func Example_personas() {
	n := people()
	out, err := personas.Run(context.Background(), n.table, options(n, 5, nil))
	must(err)
	cat := out.Catalog()
	fmt.Printf("%d personas, silhouette %.3f, stability %.2f\n\n", cat.K, cat.Silhouette, cat.Stability)
	for _, p := range cat.Personas {
		top := p.Traits[0]
		fmt.Printf("%d  %4d  %-65s %s (%s, z=%+.1f)\n", p.ID, p.Size, p.Name, top.Label, top.Feature, top.Z)
	}

	var truth, found []int
	for i, id := range out.IDs {
		truth = append(truth, n.truth[id])
		found = append(found, out.Labels[i])
	}
	fmt.Printf("\nadjusted Rand index vs the latent personas: %.2f\n\n", kmeans.AdjustedRand(truth, found))
	fmt.Printf("%-28s %s\n", "latent persona \\ found", "   0     1     2     3     4")
	for t, name := range n.names {
		var row [5]int
		for i := range truth {
			if truth[i] == t {
				row[found[i]]++
			}
		}
		fmt.Printf("%-28s %4d  %4d  %4d  %4d  %4d\n", name, row[0], row[1], row[2], row[3], row[4])
	}

	sizes := make([]float64, len(cat.Personas))
	labels := make([]string, len(cat.Personas))
	for i, p := range cat.Personas {
		sizes[i], labels[i] = float64(p.Size), fmt.Sprint(p.ID)
	}
	svg, err := report.Bar("Persona sizes", "persona", "contacts", labels, sizes)
	must(err)
	_, err = figures.Write("personas", "sizes.svg", svg)
	must(err)
	// Output:
	// 5 personas, silhouette 0.199, stability 0.95
	//
	// 0   450  frequent email-click, frequent email-open, product-page visitors  clicks through emails (decayed_email_click/decayed_events, z=+1.2)
	// 1   435  quiet, lapsed, dissatisfied customers                             little activity in the last 90 days (n_events_90d, z=-1.4)
	// 2   425  frequent webinar, younger, lower-income customers                 attends webinars (decayed_webinar/decayed_events, z=+1.5)
	// 3   296  frequent social, careers-page visitors, blog-page visitors        active on social media (decayed_social/decayed_events, z=+1.9)
	// 4   394  frequent survey, older, higher-income customers                   answers surveys (decayed_survey/decayed_events, z=+1.3)
	//
	// adjusted Rand index vs the latent personas: 0.84
	//
	// latent persona \ found          0     1     2     3     4
	// engaged bargain hunters       436    29    17     1    14
	// loyal high spenders             9    11     5     5   373
	// researchers who never buy       2     4   389     1     1
	// lapsed customers                3   383     5     0     6
	// careers and blog readers        0     8     9   289     0
}

// # 3. Segments and the exported report
//
// Segments are named rules in the scorecard condition language over the table's columns
// (clustered or not) and the persona fields persona, persona_id and distance. The job
// writes personas.json (the catalog), assignments.parquet/.csv (one row per contact with
// its persona and a boolean per segment), report.html and the model artifact; here into
// notebooks/figures/personas/generated when PROPENSITY_FIGURES=1 keeps them.
func Example_segments() {
	n := people()
	segs, err := personas.ParseSegments("segments.yaml", []byte(`
win_back: purchase_count >= 3 and days_since_last_purchase > 180
hot_prospects: purchase_count == 0 and page_pricing_30d >= 2
job_seekers: page_careers_90d >= 1 and purchase_count == 0
core_of_persona_0: persona_id == 0 and distance < 4
`))
	must(err)
	out, err := personas.Run(context.Background(), n.table, options(n, 5, segs))
	must(err)
	for _, s := range out.Catalog().Segments {
		fmt.Printf("%-18s %4d  %s\n", s.Name, s.Size, s.Rule)
	}
	dir, err := figures.Dir("personas")
	must(err)
	must(out.Write(filepath.Join(dir, "generated")))
	var files []string
	for _, f := range []string{personas.CatalogFile, personas.ParquetFile, personas.CSVFile, personas.ReportFile, "manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, "generated", f)); err == nil {
			files = append(files, f)
		}
	}
	fmt.Println("written:", strings.Join(files, " "))
	// Output:
	// win_back            174  purchase_count >= 3 and days_since_last_purchase > 180
	// hot_prospects        22  purchase_count == 0 and page_pricing_30d >= 2
	// job_seekers         126  page_careers_90d >= 1 and purchase_count == 0
	// core_of_persona_0   122  persona_id == 0 and distance < 4
	// written: personas.json assignments.parquet assignments.csv report.html manifest.json
}
