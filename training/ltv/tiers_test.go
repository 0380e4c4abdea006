package ltv

import "testing"

func TestAssignTiers(t *testing.T) {
	// 20 customers: CLV 1..20, P(alive) high except customers 0 (low spend) and 19 (top spend).
	n := 20
	clv := make([]float64, n)
	pa := make([]float64, n)
	spend := make([]float64, n)
	for i := range n {
		clv[i] = float64(i + 1)
		pa[i] = 0.9
		spend[i] = float64(i + 1)
	}
	pa[0] = 0.1  // low value, low P(alive): lapsed
	pa[19] = 0.2 // top historical spend, low P(alive): at risk (before VIP)
	pa[10] = 0.4 // mid value, P(alive) between the thresholds: regular
	tiers, cut := AssignTiers(clv, pa, spend, TierSettings{})
	want := map[int]string{0: TierLapsed, 19: TierAtRisk, 18: TierLoyal, 10: TierRegular, 15: TierLoyal, 14: TierRegular}
	for i, w := range want {
		if tiers[i] != w {
			t.Errorf("customer %d (clv %g, p_alive %g): %s, want %s", i, clv[i], pa[i], tiers[i], w)
		}
	}
	// Top 5% of 20 is one customer (CLV 20), who is at risk: no VIP is left; the loyal cut
	// is the 5th largest CLV (top 25%).
	if cut.CLVVIPCut != 20 || cut.CLVLoyalCut != 16 || cut.AtRiskSpendCut != 17 {
		t.Errorf("cut points %+v", cut)
	}
	if cut.Counts[TierVIP] != 0 || cut.Counts[TierAtRisk] != 1 || cut.Counts[TierLapsed] != 1 {
		t.Errorf("counts %v", cut.Counts)
	}
	total := 0
	for _, c := range cut.Counts {
		total += c
	}
	if total != n {
		t.Errorf("counts add to %d, want %d", total, n)
	}
}
