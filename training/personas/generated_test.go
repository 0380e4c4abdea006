package personas

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/training/tabular"
)

// TestGeneratedPersonas is the accuracy line of the personas issue on a small generated
// history: with the persona feature set and k chosen automatically (silhouette, k in
// [2, 10]), the job finds the generator's number of personas and its assignments agree with
// the true persona with an adjusted Rand index of at least 0.8. (At 8,000 contacts, seed 1,
// it finds k = 5 with ARI 0.85; at 20,000 contacts, seeds 1–4 and 7, ARI 0.83–0.84.)
func TestGeneratedPersonas(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sum, err := synth.Generate(ctx, dir, synth.Options{Contacts: 8000, Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	tab, _, err := history.Build(ctx, dir, features.Options{AsOf: sum.AsOf})
	if err != nil {
		t.Fatal(err)
	}
	f, err := FromFeatures(tab)
	tab.Release()
	if err != nil {
		t.Fatal(err)
	}
	set := PersonaFeatures(f)
	for _, want := range []string{"age", "income", "account_type", "purchase_count", "decayed_webinar/decayed_events",
		"page_careers_90d/n_page_view_90d", "spend_software/purchase_amount_sum", "purchase_amount_sum/purchase_count"} {
		if !slices.Contains(set.Names(), want) {
			t.Errorf("persona feature set lacks %s: %v", want, set.Names())
		}
	}
	s := persona.Settings{KMin: 2, KMax: 10}
	s.Transform.Impute = true
	s.Stability.Resamples = -1
	opts := Options{ID: "contact_id", Persona: s, Seed: 1}
	set.Use(&opts)
	out, err := Run(ctx, f, opts)
	if err != nil {
		t.Fatal(err)
	}

	truth, err := tabular.ReadTable(filepath.Join(dir, synth.TruthFile), tabular.ReadOptions{Keep: []string{"contact_id"}})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, id := range truth.Column("contact_id").Cat {
		byID[id] = int(truth.Column("persona").Num[i])
	}
	want := make([]int, len(out.IDs))
	for i, id := range out.IDs {
		p, ok := byID[id]
		if !ok {
			t.Fatalf("contact %s has no true persona", id)
		}
		want[i] = p
	}
	ari := kmeans.AdjustedRand(want, out.Labels)
	var sil []float64
	for _, c := range out.Choice.Candidates {
		sil = append(sil, c.Silhouette)
	}
	t.Logf("k = %d, ARI %.3f; silhouettes for k = 2..10: %.3f", out.Model.K, ari, sil)
	if out.Model.K != synth.DefaultPersonas {
		t.Errorf("--k auto chose k = %d, the generator used %d personas", out.Model.K, synth.DefaultPersonas)
	}
	if ari < 0.8 {
		t.Errorf("adjusted Rand index vs the true personas %.3f, want at least 0.8", ari)
	}
}
