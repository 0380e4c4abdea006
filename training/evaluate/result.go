package evaluate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/models/metrics"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// Result is the comparison and the suggestion: the content of evaluation.json.
type Result struct {
	FormatVersion int `json:"format_version"`
	// Build is the propensity build that wrote the file (propensity version).
	Build            buildinfo.Info `json:"build"`
	AsOf             time.Time      `json:"as_of"`       // T: holdout features before T, conversions in [T, T+H)
	TrainAsOf        time.Time      `json:"train_as_of"` // T−H: suggestions fitted here, conversions in [T−H, T)
	HorizonDays      float64        `json:"horizon_days"`
	Scorecard        string         `json:"scorecard"`
	ScorecardVersion string         `json:"scorecard_version"`
	People           int            `json:"people"`
	Prospects        int            `json:"prospects"` // holdout prospects: no purchase before T
	Converters       int            `json:"converters"`
	BaseRate         float64        `json:"base_rate"`

	Settings Settings `json:"settings"`

	Rules     RuleEval  `json:"rules"`     // the current scorecard on the holdout
	Model     ModelEval `json:"model"`     // the conversion model on the holdout
	Suggested RuleEval  `json:"suggested"` // the suggested scorecard on the holdout

	Suggestion    Suggestion     `json:"suggestion"`
	Candidates    int            `json:"candidates"` // characteristics considered
	Mined         []MinedRule    `json:"mined_rules"`
	MiningError   string         `json:"mining_error,omitempty"`
	Disagreements []Disagreement `json:"disagreements"`
	// Warnings are findings a reader should act on, such as a model that ranks worse than the
	// suggested scorecard; also logged and shown at the top of the report.
	Warnings []string `json:"warnings"`
	Seconds  float64  `json:"seconds"`

	holdout, suggestedRows []row
	prob                   []float64
	suggestedYAML          []byte
}

// Settings are the options the suggestion used, after defaults.
type Settings struct {
	MaxRules   int     `json:"max_rules"`
	MinIV      float64 `json:"min_information_value"`
	Lambda     float64 `json:"lambda"`
	MinSupport int     `json:"min_support"`
	TreeDepth  int     `json:"tree_depth"`
	MQLRate    float64 `json:"mql_rate,omitempty"`
	Models     string  `json:"models,omitempty"`
}

// SuggestedYAML returns the suggested scorecard file.
func (r *Result) SuggestedYAML() []byte { return r.suggestedYAML }

// Cut is the precision and recall of flagging everyone at or above a threshold.
type Cut struct {
	Stage      string  `json:"stage,omitempty"`
	Points     int     `json:"points"`
	Flagged    int     `json:"flagged"`
	Converters int     `json:"converters"` // flagged converters
	Precision  float64 `json:"precision"`
	Recall     float64 `json:"recall"`
	Missed     int     `json:"missed_converters"`
}

// Band is the conversion rate of the people whose score falls in [Lo, Hi).
type Band struct {
	Label      string  `json:"label"`
	People     int     `json:"people"`
	Converters int     `json:"converters"`
	Rate       float64 `json:"rate"`
}

// RuleEval is a scorecard's total used as a ranking.
type RuleEval struct {
	AUC           float64           `json:"auc"`
	PRAUC         float64           `json:"pr_auc"`
	TopDecileLift float64           `json:"top_decile_lift"`
	Lift          []metrics.LiftRow `json:"lift"`
	MQL           Cut               `json:"mql"`
	Stages        []Cut             `json:"stages"`
	Bands         []Band            `json:"bands"` // conversion rate per 10-point band (its calibration)
	Disqualified  int               `json:"disqualified"`
	fpr, tpr      []float64
}

// ModelEval is the conversion model's probability.
type ModelEval struct {
	Source        string            `json:"source"`
	AUC           float64           `json:"auc"`
	PRAUC         float64           `json:"pr_auc"`
	TopDecileLift float64           `json:"top_decile_lift"`
	Brier         float64           `json:"brier"`
	ECE           float64           `json:"ece"`
	Lift          []metrics.LiftRow `json:"lift"`
	Calibration   []metrics.Bin     `json:"calibration"`
	// Thresholds are precision, recall and lift of the model's top 5, 10, 20, 30 and 50%.
	Thresholds []metrics.Cutoff `json:"thresholds"`
	// PRCurve is the model's precision-recall curve on the holdout (at most 200 points).
	PRCurve []metrics.PRPoint `json:"pr_curve"`
	// AtMQLVolume flags the model's top k, k = the current scorecard's MQL count.
	AtMQLVolume Cut `json:"at_mql_volume"`
	fpr, tpr    []float64
}

// Suggestion describes the suggested scorecard.
type Suggestion struct {
	Scaling         Scaling         `json:"scaling"`
	Rules           []SuggestedRule `json:"rules"`
	Diff            []DiffLine      `json:"diff"`
	AUCGain         float64         `json:"auc_gain"`         // suggested − current AUC on the holdout
	PrecisionChange float64         `json:"precision_change"` // of the MQL cut, on the holdout
	RecallChange    float64         `json:"recall_change"`
}

// DiffLine is one rule added, removed or re-weighted.
type DiffLine struct {
	Rule   string `json:"rule"`
	Change string `json:"change"` // added, removed, reweighted, unchanged
	Before *int   `json:"before"`
	After  *int   `json:"after"`
	Text   string `json:"text"`
}

// Disagreement is a person the rules and the model rank far apart.
type Disagreement struct {
	ContactID   string  `json:"contact_id"`
	Direction   string  `json:"direction"` // "rules_high_model_low" or "model_high_rules_low"
	Total       int     `json:"total"`
	Stage       string  `json:"stage"`
	Probability float64 `json:"probability"`
	RulePct     float64 `json:"rule_percentile"`
	ModelPct    float64 `json:"model_percentile"`
	Converted   bool    `json:"converted"`
}

func cutAt(score, y []float64, thr float64, flagged func(i int) bool) Cut {
	c := Cut{}
	pos := 0
	for i := range y {
		if y[i] == 1 {
			pos++
		}
		if flagged(i) {
			c.Flagged++
			if y[i] == 1 {
				c.Converters++
			}
		}
	}
	if c.Flagged > 0 {
		c.Precision = float64(c.Converters) / float64(c.Flagged)
	}
	if pos > 0 {
		c.Recall = float64(c.Converters) / float64(pos)
	}
	c.Missed = pos - c.Converters
	return c
}

// evalRules measures a scorecard set's totals on rows.
func evalRules(cfg scorecard.Config, rows []row, y []float64) RuleEval {
	var e RuleEval
	score := ruleRank(rows)
	e.AUC, _ = metrics.AUC(y, score, nil)
	e.PRAUC, _ = metrics.AveragePrecision(y, score, nil)
	e.fpr, e.tpr, _ = metrics.ROC(y, score, nil)
	e.Lift, _ = metrics.Lift(y, score, nil, 10)
	if len(e.Lift) > 0 {
		e.TopDecileLift = e.Lift[0].Lift
	}
	for _, r := range rows {
		if r.disq {
			e.Disqualified++
		}
	}
	for _, t := range cfg.Thresholds {
		c := cutAt(score, y, float64(t.Points), func(i int) bool {
			return !rows[i].disq && rows[i].card >= 0 && rows[i].total >= t.Points
		})
		c.Stage, c.Points = t.Stage, t.Points
		e.Stages = append(e.Stages, c)
	}
	mql := cutAt(score, y, 0, func(i int) bool { return rows[i].mql })
	mql.Stage = cfg.MQLStage
	for _, t := range cfg.Thresholds {
		if t.Stage == cfg.MQLStage {
			mql.Points = t.Points
		}
	}
	e.MQL = mql
	// Bands of ten points; disqualified people apart.
	bands := map[int]*Band{}
	var dq Band
	for i, r := range rows {
		b := &dq
		if !r.disq && r.card >= 0 {
			k := int(math.Floor(float64(r.total) / 10))
			if bands[k] == nil {
				bands[k] = &Band{Label: fmt.Sprintf("[%d, %d)", 10*k, 10*k+10)}
			}
			b = bands[k]
		}
		b.People++
		if y[i] == 1 {
			b.Converters++
		}
	}
	ks := make([]int, 0, len(bands))
	for k := range bands {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for _, k := range ks {
		e.Bands = append(e.Bands, *bands[k])
	}
	if dq.People > 0 {
		dq.Label = "disqualified or not scored"
		e.Bands = append(e.Bands, dq)
	}
	for i := range e.Bands {
		e.Bands[i].Rate = float64(e.Bands[i].Converters) / float64(e.Bands[i].People)
	}
	return e
}

func evalModel(p, y []float64, src string, mqlVolume int) ModelEval {
	e := ModelEval{Source: src}
	e.AUC, _ = metrics.AUC(y, p, nil)
	e.PRAUC, _ = metrics.AveragePrecision(y, p, nil)
	e.fpr, e.tpr, _ = metrics.ROC(y, p, nil)
	e.Lift, _ = metrics.Lift(y, p, nil, 10)
	if len(e.Lift) > 0 {
		e.TopDecileLift = e.Lift[0].Lift
	}
	e.Brier = metrics.Brier(y, p, nil)
	e.ECE = metrics.ECE(y, p, nil)
	e.Calibration = metrics.Reliability(y, p, nil, 10)
	e.Thresholds, _ = metrics.Cutoffs(y, p, nil, nil)
	pr, _ := metrics.PRCurve(y, p, nil)
	e.PRCurve = metrics.Thin(pr, 200)
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	top := make([]bool, len(p))
	for _, i := range idx[:min(mqlVolume, len(idx))] {
		top[i] = true
	}
	e.AtMQLVolume = cutAt(p, y, 0, func(i int) bool { return top[i] })
	e.AtMQLVolume.Stage = "top " + strconv.Itoa(mqlVolume)
	return e
}

// percentiles returns the mid-rank percentile of every score (ties share their average).
func percentiles(s []float64) []float64 {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s[a], s[b]) })
	out := make([]float64, len(s))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && s[idx[j]] == s[idx[i]] {
			j++
		}
		mid := (float64(i+j-1)/2 + 0.5) / float64(len(s))
		for k := i; k < j; k++ {
			out[idx[k]] = mid
		}
		i = j
	}
	return out
}

// disagreements returns the n people of each direction whose rule and model percentiles
// differ most.
func disagreements(rows []row, rule, prob []float64, n int) []Disagreement {
	rp, mp := percentiles(rule), percentiles(prob)
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	gap := func(i int) float64 { return rp[i] - mp[i] }
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(gap(b), gap(a)) })
	mk := func(i int, dir string) Disagreement {
		return Disagreement{ContactID: rows[i].id, Direction: dir, Total: rows[i].total, Stage: rows[i].stage,
			Probability: prob[i], RulePct: rp[i], ModelPct: mp[i], Converted: rows[i].y == 1}
	}
	var out []Disagreement
	for _, i := range idx[:min(n, len(idx))] {
		if gap(i) > 0 {
			out = append(out, mk(i, "rules_high_model_low"))
		}
	}
	for k := len(idx) - 1; k >= max(0, len(idx)-n); k-- {
		if i := idx[k]; gap(i) < 0 {
			out = append(out, mk(i, "model_high_rules_low"))
		}
	}
	return out
}

// describeMined names the conditions of the mined rules and measures them on the holdout.
func describeMined(mined []MinedRule, cands []candidate, hx [][]bool, hy []float64) []MinedRule {
	var out []MinedRule
	for _, m := range mined {
		var parts []string
		events := 0
		m.Expressible = true
		for k := range m.Conditions {
			c := &m.Conditions[k]
			cd := cands[c.Candidate]
			c.Text = cd.Text
			if !c.Holds {
				c.Text = "not (" + cd.Text + ")"
				m.Expressible = false
			}
			if cd.Kind == kindEvent || cd.Kind == kindRule {
				events++
			}
			parts = append(parts, c.Text)
		}
		if events > 1 {
			m.Expressible = false
		}
		if len(parts) == 0 {
			parts = []string{"everyone"}
		}
		var n, p float64
		for i := range hy {
			ok := true
			for _, c := range m.Conditions {
				if hx[c.Candidate][i] != c.Holds {
					ok = false
					break
				}
			}
			if ok {
				n++
				p += hy[i]
			}
		}
		m.TestPeople = int(n)
		if n > 0 {
			m.TestRate = p / n
		}
		m.Text = fmt.Sprintf("%s: %.0f%% convert, %s people", strings.Join(parts, " and "), 100*m.Rate, thousands(m.People))
		out = append(out, m)
	}
	return out
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// diff compares the rules of the current and suggested scorecards by name.
func diff(cur, sug scorecard.Config) []DiffLine {
	after := map[string]*scorecard.RuleConfig{}
	for i := range sug.Rules {
		after[sug.Rules[i].Name] = &sug.Rules[i]
	}
	var out []DiffLine
	seen := map[string]bool{}
	for i := range cur.Rules {
		r := &cur.Rules[i]
		seen[r.Name] = true
		b := r.Points
		d := DiffLine{Rule: r.Name, Before: &b, Text: ruleText(r)}
		if r.Gate {
			d.Before = nil
		}
		switch a := after[r.Name]; {
		case a == nil:
			d.Change = "removed"
		case r.Gate:
			d.Change = "unchanged"
		case a.Points == r.Points:
			d.Change = "unchanged"
			d.After = &a.Points
		default:
			d.Change = "reweighted"
			d.After = &a.Points
		}
		out = append(out, d)
	}
	for i := range sug.Rules {
		r := &sug.Rules[i]
		if seen[r.Name] {
			continue
		}
		a := r.Points
		out = append(out, DiffLine{Rule: r.Name, Change: "added", After: &a, Text: ruleText(r)})
	}
	return out
}

func ruleText(r *scorecard.RuleConfig) string {
	var parts []string
	if r.Gate {
		parts = append(parts, "gate")
	}
	if !r.When.IsZero() {
		parts = append(parts, "when "+r.When.String())
	}
	if r.Event != nil {
		e := "any event"
		if len(r.Event.Types) > 0 {
			e = strings.Join(r.Event.Types, "|")
		}
		if r.Event.Page != "" {
			e += " " + r.Event.Page
		}
		if r.MinCount > 1 {
			e = fmt.Sprintf("%s ≥ %d", e, r.MinCount)
		}
		switch {
		case r.Within > 0 && r.Within%day == 0:
			e += " in " + windowText(r.Within)
		case r.Within > 0:
			e += " in " + r.Within.String()
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

// warnings returns what the comparison says a reader should act on.
func (r *Result) warnings() []string {
	w := []string{}
	if r.Model.AUC < r.Suggested.AUC {
		w = append(w, fmt.Sprintf("the model ranks the holdout worse than the suggested scorecard (AUC %.3f against %.3f): "+
			"train it with `propensity train conversion` (--model auto, the default, or --model gbt) and pass --models, or use the suggested scorecard",
			r.Model.AUC, r.Suggested.AUC))
	}
	if r.Model.AUC < r.Rules.AUC {
		w = append(w, fmt.Sprintf("the model ranks the holdout worse than the current scorecard (AUC %.3f against %.3f)", r.Model.AUC, r.Rules.AUC))
	}
	return w
}
