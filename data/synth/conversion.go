package synth

import "math"

// ConversionFeatures are the observable facts about a prospect, measured from all of the
// person's events (anonymous ones included) strictly before a window start s, that drive
// the true conversion probability.
type ConversionFeatures struct {
	PricingViews30d    int     // page_view of /pricing in [s−30d, s)
	ProductViews30d    int     // page_view of /products/... in [s−30d, s)
	EmailClicks30d     int     // email_click in [s−30d, s)
	FormSubmits90d     int     // form_submit in [s−90d, s)
	Trials90d          int     // trial_start in [s−90d, s)
	CareersViews90d    int     // page_view of /careers in [s−90d, s)
	DaysSinceLastEvent float64 // s − latest event before s, in days; +Inf when none
	Student            bool    // occupation == "student"
	Business           bool    // account_type == "business"
	DecisionMaker      bool    // job_role is owner, c-level, vp or director
	HouseholdIncome    float64 // income; NaN when missing
}

// ConversionModel is the true logistic model of a prospect's first purchase in a window:
//
//	P(convert) = 1 / (1 + exp(−z)),  z = Intercept
//	  + PricingPerView · min(PricingViews30d, PricingCap)
//	  + PricingAndClick · [PricingViews30d ≥ 2 and EmailClicks30d ≥ 1]    (interaction)
//	  + LogClicks · log(1 + EmailClicks30d)
//	  + FormSubmit · [FormSubmits90d ≥ 1]
//	  + Trial · [Trials90d ≥ 1] + TrialDecisionMaker · [Trials90d ≥ 1 and Business and DecisionMaker]
//	  + ProductBrowsing · [ProductViews30d ≥ 3]                        (threshold)
//	  + Stale30 · [DaysSinceLastEvent > 30] + Stale120 · [DaysSinceLastEvent > 120]
//	  + Careers · [CareersViews90d ≥ 1]
//	  + Student · [Student]
//	  + AffluentConsumer · [not Business and HouseholdIncome > 90000]
type ConversionModel struct {
	Intercept          float64 `json:"intercept"`
	PricingPerView     float64 `json:"pricing_per_view"`
	PricingCap         float64 `json:"pricing_cap"`
	PricingAndClick    float64 `json:"pricing_and_click"`
	LogClicks          float64 `json:"log1p_clicks"`
	FormSubmit         float64 `json:"form_submit"`
	Trial              float64 `json:"trial"`
	TrialDecisionMaker float64 `json:"trial_decision_maker"`
	ProductBrowsing    float64 `json:"product_browsing"`
	Stale30            float64 `json:"stale_30d"`
	Stale120           float64 `json:"stale_120d"`
	Careers            float64 `json:"careers"`
	Student            float64 `json:"student"`
	AffluentConsumer   float64 `json:"affluent_consumer"`
}

// DefaultConversion returns the conversion model Generate uses.
func DefaultConversion() ConversionModel {
	return ConversionModel{
		Intercept:          -3.0,
		PricingPerView:     1.0,
		PricingCap:         3,
		PricingAndClick:    1.0,
		LogClicks:          0.9,
		FormSubmit:         0.7,
		Trial:              1.0,
		TrialDecisionMaker: 1.5,
		ProductBrowsing:    0.6,
		Stale30:            -1.0,
		Stale120:           -1.2,
		Careers:            -0.9,
		Student:            -7,
		AffluentConsumer:   0.5,
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Probability returns the true conversion probability of a prospect with features f.
func (m ConversionModel) Probability(f ConversionFeatures) float64 {
	z := m.Intercept +
		m.PricingPerView*math.Min(float64(f.PricingViews30d), m.PricingCap) +
		m.PricingAndClick*b2f(f.PricingViews30d >= 2 && f.EmailClicks30d >= 1) +
		m.LogClicks*math.Log1p(float64(f.EmailClicks30d)) +
		m.FormSubmit*b2f(f.FormSubmits90d >= 1) +
		m.Trial*b2f(f.Trials90d >= 1) +
		m.TrialDecisionMaker*b2f(f.Trials90d >= 1 && f.Business && f.DecisionMaker) +
		m.ProductBrowsing*b2f(f.ProductViews30d >= 3) +
		m.Stale30*b2f(f.DaysSinceLastEvent > 30) +
		m.Stale120*b2f(f.DaysSinceLastEvent > 120) +
		m.Careers*b2f(f.CareersViews90d >= 1) +
		m.Student*b2f(f.Student) +
		m.AffluentConsumer*b2f(!f.Business && f.HouseholdIncome > 90000)
	return 1 / (1 + math.Exp(-z))
}
