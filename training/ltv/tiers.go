package ltv

import (
	"math"
	"slices"
)

// Value tiers.
const (
	TierVIP     = "vip"
	TierLoyal   = "loyal"
	TierRegular = "regular"
	TierAtRisk  = "at_risk"
	TierLapsed  = "lapsed"
)

// TierSettings sets the tier rules. The zero value means the defaults in the comments.
//
// Rules, applied in order to each customer:
//  1. at_risk: historical spend (total calibration amount) in the top AtRiskValueShare of
//     customers and P(alive) < AtRiskPAlive — valuable customers slipping away (win back);
//  2. vip: CLV in the top VIPShare (CLV >= the VIP cut point, and CLV > 0);
//  3. loyal: CLV in the next LoyalShare (CLV >= the loyal cut point, and CLV > 0);
//  4. lapsed: P(alive) < LapsedPAlive (let go);
//  5. regular: everyone else.
type TierSettings struct {
	VIPShare         float64 // default 0.05 (top 5% by CLV)
	LoyalShare       float64 // default 0.20 (the next 20% by CLV)
	AtRiskValueShare float64 // default 0.20 (top 20% by historical spend)
	AtRiskPAlive     float64 // default 0.5
	LapsedPAlive     float64 // default 0.3
}

func (s TierSettings) withDefaults() TierSettings {
	def := func(v *float64, d float64) {
		if !(*v > 0) || *v > 1 {
			*v = d
		}
	}
	def(&s.VIPShare, 0.05)
	def(&s.LoyalShare, 0.20)
	def(&s.AtRiskValueShare, 0.20)
	def(&s.AtRiskPAlive, 0.5)
	def(&s.LapsedPAlive, 0.3)
	return s
}

// Tiers reports the rules and cut points used and how many customers fell in each tier.
type Tiers struct {
	VIPShare         float64        `json:"vip_share"`
	LoyalShare       float64        `json:"loyal_share"`
	CLVVIPCut        float64        `json:"clv_vip_cut"`   // CLV >= this (and > 0) is VIP
	CLVLoyalCut      float64        `json:"clv_loyal_cut"` // CLV >= this (and > 0) is loyal
	AtRiskValueShare float64        `json:"at_risk_value_share"`
	AtRiskSpendCut   float64        `json:"at_risk_spend_cut"` // historical spend >= this ...
	AtRiskPAlive     float64        `json:"at_risk_p_alive"`   // ... and P(alive) < this is at risk
	LapsedPAlive     float64        `json:"lapsed_p_alive"`    // P(alive) < this is lapsed
	Counts           map[string]int `json:"counts"`
	Rules            string         `json:"rules"`
}

const tierRules = "at_risk: spend >= at_risk_spend_cut and p_alive < at_risk_p_alive; " +
	"else vip: clv >= clv_vip_cut; else loyal: clv >= clv_loyal_cut; " +
	"else lapsed: p_alive < lapsed_p_alive; else regular"

// upperQuantile returns the value v such that a share of the values is >= v (the
// ceil(share·n)-th largest).
func upperQuantile(sorted []float64, share float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.Inf(1)
	}
	k := int(math.Ceil(share * float64(n)))
	k = min(max(k, 1), n)
	return sorted[n-k]
}

// AssignTiers returns the tier of each customer and the cut points.
func AssignTiers(clv, pAlive, spend []float64, s TierSettings) ([]string, Tiers) {
	s = s.withDefaults()
	sc := slices.Clone(clv)
	slices.Sort(sc)
	ss := slices.Clone(spend)
	slices.Sort(ss)
	t := Tiers{
		VIPShare: s.VIPShare, LoyalShare: s.LoyalShare,
		CLVVIPCut:        upperQuantile(sc, s.VIPShare),
		CLVLoyalCut:      upperQuantile(sc, s.VIPShare+s.LoyalShare),
		AtRiskValueShare: s.AtRiskValueShare,
		AtRiskSpendCut:   upperQuantile(ss, s.AtRiskValueShare),
		AtRiskPAlive:     s.AtRiskPAlive, LapsedPAlive: s.LapsedPAlive,
		Counts: map[string]int{TierVIP: 0, TierLoyal: 0, TierRegular: 0, TierAtRisk: 0, TierLapsed: 0},
		Rules:  tierRules,
	}
	out := make([]string, len(clv))
	for i := range clv {
		var tier string
		switch {
		case spend[i] >= t.AtRiskSpendCut && pAlive[i] < t.AtRiskPAlive:
			tier = TierAtRisk
		case clv[i] > 0 && clv[i] >= t.CLVVIPCut:
			tier = TierVIP
		case clv[i] > 0 && clv[i] >= t.CLVLoyalCut:
			tier = TierLoyal
		case pAlive[i] < t.LapsedPAlive:
			tier = TierLapsed
		default:
			tier = TierRegular
		}
		out[i] = tier
		t.Counts[tier]++
	}
	for _, p := range []*float64{&t.CLVVIPCut, &t.CLVLoyalCut, &t.AtRiskSpendCut} {
		if math.IsInf(*p, 0) {
			*p = 0
		}
	}
	return out, t
}
