package evaluate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/propensity-dev/propensity/models/logistic"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// ErrNoSignal is returned when no characteristic of the training snapshot earns points.
var ErrNoSignal = errors.New("evaluate: no characteristic separates converters from the others")

// Scaling is how log-odds became points, in the credit-scorecard way (Siddiqi 2006, "Credit
// Risk Scorecards", ch. 6): score = Offset + Factor·ln(odds), Factor = PDO / ln 2.
//
// A lead scorecard has no constant term (a person with no characteristic scores 0), so the
// offset and the factor are tied: the person with none of the characteristics, at log-odds
// Intercept, scores 0, and a person at TargetLogOdds scores exactly the MQL threshold. The
// target is the model's log-odds at the current scorecard's MQL rate on the training
// snapshot (or at Options.MQLRate), so the suggested scorecard hands sales about as many
// MQLs as the current one.
type Scaling struct {
	PDO           float64 `json:"pdo"`             // points to double the odds
	Factor        float64 `json:"factor"`          // PDO / ln 2
	Offset        float64 `json:"offset"`          // score at odds 1 (log-odds 0)
	Intercept     float64 `json:"intercept"`       // log-odds of a person with no characteristic
	TargetLogOdds float64 `json:"target_log_odds"` // log-odds mapped to the MQL threshold
	MQLThreshold  int     `json:"mql_threshold"`
	TargetMQLRate float64 `json:"target_mql_rate"` // share of training prospects above the target
	Note          string  `json:"note,omitempty"`
}

// SuggestedRule is one rule of the suggested scorecard with where its points come from.
type SuggestedRule struct {
	Name         string  `json:"name"`
	Kind         string  `json:"kind"`
	Text         string  `json:"text"`
	Points       int     `json:"points"`
	Coefficient  float64 `json:"coefficient"` // log-odds per occurrence, from the logistic fit
	IV           float64 `json:"information_value"`
	People       int     `json:"people"`         // training prospects with the characteristic
	Rate         float64 `json:"rate"`           // their conversion rate
	CurrentPoint *int    `json:"current_points"` // the current rule's points, for re-weighted rules
}

type suggestion struct {
	cfg     scorecard.Config
	rules   []SuggestedRule
	scaling Scaling
	model   *logistic.Model
	cands   []candidate
}

// suggest fits the logistic model on the selected characteristics and scales it to points.
func suggest(cur scorecard.Config, keys []eventKey, cands []candidate, x [][]bool, rows []row, y []float64, o Options) (*suggestion, error) {
	n := len(y)
	type scored struct {
		j  int
		iv float64
	}
	var sel []scored
	for j := range cands {
		if iv := informationValue(x[j], y); iv >= o.MinIV {
			sel = append(sel, scored{j, iv})
		}
	}
	slices.SortStableFunc(sel, func(a, b scored) int { return cmp.Compare(b.iv, a.iv) })
	sel = sel[:min(len(sel), o.MaxRules)]
	if len(sel) == 0 {
		return nil, ErrNoSignal
	}
	slices.SortFunc(sel, func(a, b scored) int { return cmp.Compare(a.j, b.j) }) // file order: current rules first
	// Fit, then drop every characteristic whose coefficient has the opposite sign of its
	// own association with conversion and refit, until none is left: overlapping
	// characteristics (the same event in 30 and 90 days) otherwise trade points of opposite
	// signs, a scorecard no one can read or defend (the "logical trend" check of Siddiqi
	// 2006, ch. 6).
	var m *logistic.Model
	var X *mat.Dense
	for range 20 {
		X = mat.NewDense(n, len(sel), nil)
		names := make([]string, len(sel))
		for k, s := range sel {
			names[k] = cands[s.j].Name
			for i := range n {
				if x[s.j][i] {
					X.Set(i, k, 1)
				}
			}
		}
		var err error
		m, err = logistic.Fit(X, y, nil, logistic.Options{Lambda: o.Lambda, Names: names, Threads: 1})
		if err != nil {
			return nil, fmt.Errorf("evaluate: fitting the suggested scorecard: %w", err)
		}
		kept := sel[:0:0]
		for k, s := range sel {
			if m.Coef[k]*direction(x[s.j], y) >= 0 {
				kept = append(kept, s)
			}
		}
		if len(kept) == len(sel) || len(kept) == 0 {
			break
		}
		sel = kept
	}
	lo, err := m.PredictLogOdds(X)
	if err != nil {
		return nil, err
	}
	sc := scale(cur, m.Intercept, lo, rows, o.MQLRate)
	sg := &suggestion{scaling: sc, model: m, cands: cands}
	cfg := cur
	cfg.Version = cur.Version + "-suggested"
	cfg.Description = fmt.Sprintf("Suggested by propensity evaluate from %s: points from a logistic fit, %.1f points double the odds; %d points is log-odds %.2f.",
		cur.Name, sc.PDO, sc.MQLThreshold, sc.TargetLogOdds)
	cfg.Caps = scorecard.Caps{} // caps were set for the old points
	cfg.Rules = nil
	for _, r := range cur.Rules {
		if r.Gate {
			cfg.Rules = append(cfg.Rules, r)
		}
	}
	for k, s := range sel {
		c := &cands[s.j]
		pts := int(math.Round(sc.Factor * m.Coef[k]))
		if pts == 0 {
			continue
		}
		people, conv := 0, 0.0
		for i := range n {
			if x[s.j][i] {
				people++
				conv += y[i]
			}
		}
		sr := SuggestedRule{Name: c.Name, Kind: c.Kind, Text: c.Text, Points: pts, Coefficient: m.Coef[k],
			IV: s.iv, People: people}
		if people > 0 {
			sr.Rate = conv / float64(people)
		}
		if c.Kind == kindRule {
			p := cur.Rules[c.rule].Points
			sr.CurrentPoint = &p
		}
		sg.rules = append(sg.rules, sr)
		cfg.Rules = append(cfg.Rules, c.ruleConfig(cur.Rules, keys, pts))
	}
	if len(sg.rules) == 0 {
		return nil, ErrNoSignal
	}
	sg.cfg = cfg
	return sg, nil
}

// scale chooses the factor and offset (see Scaling).
func scale(cur scorecard.Config, b0 float64, lo []float64, rows []row, mqlRate float64) Scaling {
	thr := 0
	for _, t := range cur.Thresholds {
		if t.Stage == cur.MQLStage {
			thr = t.Points
		}
	}
	s := Scaling{Intercept: b0, MQLThreshold: thr}
	mql := 0
	for i := range rows {
		if rows[i].mql {
			mql++
		}
	}
	sorted := slices.Clone(lo)
	slices.Sort(sorted)
	quantileAbove := func(share float64) float64 {
		k := int(math.Round((1 - share) * float64(len(sorted)-1)))
		return sorted[min(max(k, 0), len(sorted)-1)]
	}
	share := float64(mql) / float64(len(rows))
	if mqlRate > 0 {
		share = mqlRate
	} else if share <= 0 || share >= 1 {
		share = 0.1
		s.Note = "the current scorecard makes no MQL (or everyone) on the training snapshot: the threshold is mapped to the top decile"
	}
	s.TargetMQLRate = share
	s.TargetLogOdds = quantileAbove(share)
	if thr <= 0 || s.TargetLogOdds-b0 < 0.05 {
		s.Factor = 20 / math.Ln2
		s.Note = "the MQL threshold cannot be mapped to a log-odds above the intercept: 20 points double the odds"
	} else {
		s.Factor = float64(thr) / (s.TargetLogOdds - b0)
	}
	s.PDO = s.Factor * math.Ln2
	s.Offset = -s.Factor * b0
	return s
}

// direction is the sign of a characteristic's association with conversion: +1 when the
// people who have it convert more often than those who do not, −1 when less.
func direction(x []bool, y []float64) float64 {
	var n, p [2]float64
	for i := range x {
		b := 0
		if x[i] {
			b = 1
		}
		n[b]++
		p[b] += y[i]
	}
	if n[0] == 0 || n[1] == 0 {
		return 0
	}
	switch r1, r0 := p[1]/n[1], p[0]/n[0]; {
	case r1 > r0:
		return 1
	case r1 < r0:
		return -1
	}
	return 0
}
