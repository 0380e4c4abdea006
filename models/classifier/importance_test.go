package classifier

import (
	"math"
	"testing"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/encode"
)

// TestImportance: the logistic importance is the coefficient times the feature's standard
// deviation, the trees' is mean |SHAP|; on data where x carries the signal and noise none,
// x ranks first and noise below every real effect for both models.
func TestImportance(t *testing.T) {
	d := synthetic(3000, 4)
	lm, err := train(d, encode.Options{}, artifact.KindConversion)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := lm.Model.Importance(d.X, 0)
	if err != nil {
		t.Fatal(err)
	}
	if imp[0].Feature != "x" {
		t.Errorf("logistic: top feature %q, want x: %+v", imp[0].Feature, imp)
	}
	for _, im := range imp {
		if im.Value != math.Abs(im.Standardized) {
			t.Errorf("%s: importance %v, standardised coefficient %v", im.Feature, im.Value, im.Standardized)
		}
		// The generator's signs: +1.5 per unit of x, −0.8 for the pro plan.
		if im.Feature == "x" && im.Standardized <= 0 || im.Feature == "plan=pro" && im.Standardized >= 0 {
			t.Errorf("%s: standardised coefficient %v has the wrong sign", im.Feature, im.Standardized)
		}
	}

	m := trainGBT(t, d, 5)
	gi, err := m.Importance(d.X, 500)
	if err != nil {
		t.Fatal(err)
	}
	rank := map[string]int{}
	share := 0.0
	for i, im := range gi {
		rank[im.Feature] = i
		share += im.GainShare
	}
	if gi[0].Feature != "x" || rank["noise"] != len(gi)-1 {
		t.Errorf("gbt ranking %+v: want x first and noise last", gi)
	}
	if math.Abs(share-1) > 1e-9 {
		t.Errorf("gain shares add up to %v", share)
	}
}
