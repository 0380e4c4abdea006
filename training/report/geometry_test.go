package report

import (
	"fmt"
	"html/template"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/propensity-dev/propensity/internal/svgcheck"
	"github.com/propensity-dev/propensity/models/metrics"
)

// scores draws n labelled scores of a model with some skill.
func scores(n int, seed uint64) (y, p []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for range n {
		q := r.Float64() * r.Float64()
		y = append(y, map[bool]float64{true: 1, false: 0}[r.Float64() < q])
		p = append(p, q)
	}
	return y, p
}

// TestChartGeometry renders every chart kind of this package on realistic data and checks
// from the SVG markup that legends and frame text stay off the data and off each other.
func TestChartGeometry(t *testing.T) {
	y, p := scores(2000, 3)
	fpr, tpr, err := metrics.ROC(y, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	lift, err := metrics.Lift(y, p, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := metrics.PRCurve(y, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	bands := []string{"[-40, -30)", "[-30, -20)", "[-20, -10)", "[-10, 0)", "[0, 10)", "[10, 20)", "[20, 30)", "[30, 40)", "[40, 50)", "[50, 60)", "[60, 70)", "≥ 70"}
	rates := make([]float64, len(bands))
	for i := range rates {
		rates[i] = 0.01 * float64(i*i)
	}
	charts := map[string]func() (template.HTML, error){
		"roc":   func() (template.HTML, error) { return ROC(fpr, tpr, 0.7) },
		"pr":    func() (template.HTML, error) { return PR(pr, 0.3, 0.25) },
		"gains": func() (template.HTML, error) { return Gains(lift) },
		"lift":  func() (template.HTML, error) { return Lift(lift) },
		"calibration": func() (template.HTML, error) {
			return Calibration("", metrics.Reliability(y, p, nil, 10))
		},
		"lines": func() (template.HTML, error) {
			return Line("ROC on the holdout", "false positive rate", "true positive rate",
				Series{Name: "current scorecard", X: fpr, Y: tpr}, Series{Name: "model", X: fpr, Y: tpr},
				Series{Name: "suggested scorecard", X: fpr, Y: tpr})
		},
		"bands": func() (template.HTML, error) {
			return Bar("Conversion rate by score band", "total", "conversion rate", bands, rates)
		},
		"importance": func() (template.HTML, error) {
			return HBar("Importance", "mean |SHAP|", []string{"days_since_last_event", "decayed_email_open", "x"}, []float64{3, 2, -1}, nil)
		},
	}
	for name, mk := range charts {
		t.Run(name, func(t *testing.T) {
			h, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			cs, err := svgcheck.Parse([]byte(h))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs[0].Frame) < 3 {
				t.Errorf("only %d frame texts", len(cs[0].Frame))
			}
			for _, pb := range svgcheck.Check(cs) {
				t.Error(pb)
			}
			if strings.Contains(name, "roc") && len(cs[0].LegendTexts) != 2 {
				t.Errorf("legend %v", cs[0].LegendTexts)
			}
			_ = fmt.Sprint
		})
	}
}
