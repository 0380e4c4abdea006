package tabular

import (
	"context"
	"testing"

	"github.com/propensity-dev/propensity/internal/progress"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/gbt"
)

// TestTrainProgress checks that training reports its slow phases: the model selection's
// folds, the cross-validation's folds and the final fit's boosting rounds, each counted to
// its end and closed.
func TestTrainProgress(t *testing.T) {
	phases := func(opts Options) map[string]*progress.Recorded {
		t.Helper()
		var rec progress.Recorder
		ctx := progress.WithReporter(context.Background(), &rec)
		if _, err := Train(ctx, synthetic(1500, 3), nil, opts); err != nil {
			t.Fatal(err)
		}
		m := map[string]*progress.Recorded{}
		for _, p := range rec.Phases() {
			m[p.Phase] = p
		}
		return m
	}
	check := func(m map[string]*progress.Recorded, phase, unit string, total int64, exact bool) {
		t.Helper()
		p, ok := m[phase]
		if !ok {
			t.Errorf("no phase %q among %v", phase, m)
			return
		}
		n, done := p.Done()
		if p.Unit != unit || p.Total != total || !done || n <= 0 || n > total || (exact && n != total) {
			t.Errorf("phase %q: unit %q total %d, %d done (closed %v); want unit %q total %d", phase, p.Unit, p.Total, n, done, unit, total)
		}
	}
	m := phases(Options{Model: classifier.ModelGBT, Folds: 3, ValidationShare: 0.2, GBT: gbt.Options{Trees: 40}})
	check(m, "cross-validating gbt", "folds", 3, true)
	// Early stopping may end the first fit before its 40 rounds.
	check(m, "fitting gbt (early stopping on a held-out share)", "rounds", 40, false)
	if p, ok := m["fitting gbt"]; !ok {
		t.Errorf("no final fit phase among %v", m)
	} else {
		check(m, "fitting gbt", "rounds", p.Total, true)
	}
	m = phases(Options{Model: ModelAuto, GBT: gbt.Options{Trees: 20}})
	check(m, "choosing the model (logistic, gbt)", "folds", 2*DefaultAutoFolds, true)
}
