package evaluate

import (
	"strings"
	"testing"
)

// TestWarnings: a model that ranks worse than the suggested (or the current) scorecard is
// warned about, naming both AUCs; a better model is not.
func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		rules, model, suggested float64
		want                    []string
	}{
		{"model best", 0.70, 0.80, 0.75, nil},
		{"loses to the suggestion", 0.735, 0.737, 0.794, []string{"suggested scorecard (AUC 0.737 against 0.794)"}},
		{"loses to both", 0.75, 0.70, 0.78, []string{"suggested scorecard (AUC 0.700 against 0.780)", "current scorecard (AUC 0.700 against 0.750)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{Rules: RuleEval{AUC: tc.rules}, Model: ModelEval{AUC: tc.model}, Suggested: RuleEval{AUC: tc.suggested}}
			got := r.warnings()
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q lacks %q", got[i], w)
				}
			}
		})
	}
}
