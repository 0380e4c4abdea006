package personas

import (
	"context"
	"testing"

	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
)

// TestRunProgress checks that `--k auto` shows its search over k (one unit per candidate)
// and the stability resamples, each counted to its end and closed.
func TestRunProgress(t *testing.T) {
	var rec progress.Recorder
	ctx := progress.WithReporter(context.Background(), &rec)
	_, err := Run(ctx, table(), Options{Exclude: []string{"label"},
		Persona: persona.Settings{KMin: 2, KMax: 4, Stability: kmeans.StabilitySettings{Resamples: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"choosing k (fitting each candidate)": 3, "measuring stability (bootstrap resamples)": 3}
	for _, p := range rec.Phases() {
		total, ok := want[p.Phase]
		if !ok {
			t.Errorf("unexpected phase %q", p.Phase)
			continue
		}
		delete(want, p.Phase)
		if n, done := p.Done(); p.Total != total || n != total || !done {
			t.Errorf("phase %q: total %d, %d done (closed %v); want %d of %d, closed", p.Phase, p.Total, n, done, total, total)
		}
	}
	for p := range want {
		t.Errorf("no phase %q", p)
	}
}
