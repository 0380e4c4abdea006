package ltv

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxShape is the largest value of a unit-free shape parameter (BG/NBD r, a and b;
// Gamma-Gamma q) that the job accepts without a warning.
//
// r, a, b and q shape the mixing distributions across customers: the gamma of purchase
// rates (coefficient of variation 1/√r), the beta of dropout probabilities (for a, b ≫ 1 its
// coefficient of variation is about √(b/(a(a+b)))) and the gamma of mean spends. Above a
// thousand the mixture is narrower than 1/√1000 ≈ 3% of its mean: every customer is modelled
// as alike, which on real data means that the likelihood is flat along that direction, not
// that customers are alike, and the forecast rests on the mean alone. Published fits are far
// below: CDNOW's r 0.243, a 0.793, b 2.426 and q 3.7 (Fader, Hardie & Lee 2005), and the
// tour's generated history r 1.5, a 0.14, b 0.72. The case that prompted the check, a small
// file, fitted a = 185,124 and b = 2,996,585.
const MaxShape = 1e3

// fitWarnings returns what a user should know before trusting the fit: shape parameters
// at the edge of identifiability, and a forecast that loses to the naive baseline on the
// holdout.
func fitWarnings(r *Result) []string {
	var out []string
	var extreme []string
	add := func(model, name string, v float64) {
		if v > MaxShape {
			extreme = append(extreme, fmt.Sprintf("%s %s = %s", model, name, strconv.FormatFloat(v, 'f', 0, 64)))
		}
	}
	if bg := r.BGNBD; bg != nil {
		add("BG/NBD", "r", bg.R)
		add("BG/NBD", "a", bg.A)
		add("BG/NBD", "b", bg.B)
	}
	if gg := r.GammaGamma; gg != nil && gg.GammaGamma != nil {
		add("Gamma-Gamma", "q", gg.Q)
	}
	if len(extreme) > 0 {
		out = append(out, fmt.Sprintf("extreme parameters (%s, above %.0f): the data cannot tell customers apart on these, and forecasts rest on averages; more customers or a longer calibration period usually help",
			strings.Join(extreme, ", "), MaxShape))
	}
	if h := r.Holdout; h != nil && h.MAE > h.BaselineMAE {
		out = append(out, fmt.Sprintf("on the holdout the BG/NBD forecast is worse than the naive baseline x/T: mean absolute error %.3f against %.3f per customer; prefer the baseline or check the calibration period",
			h.MAE, h.BaselineMAE))
	}
	return out
}
