package evaluate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// Kinds of candidate.
const (
	kindRule  = "current_rule" // a rule of the current scorecard, re-weighted
	kindEvent = "event"        // at least K events of a key within a window
	kindMin   = "attribute_min"
	kindEq    = "attribute_equals"
)

// candidate is a 0/1 characteristic of a prospect that a scorecard rule can test.
type candidate struct {
	Name string `json:"name"` // rule name in a suggested scorecard
	Kind string `json:"kind"`
	Text string `json:"text"` // readable condition

	rule   int // kindRule: index in the primary scorecard's rules
	key    int32
	window int
	min    int
	attr   string
	cut    float64
	level  string
}

// value returns the candidate's 0/1 value for r.
func (c *candidate) value(r *row) bool {
	switch c.Kind {
	case kindRule:
		return r.fired != nil && r.fired[c.rule]
	case kindEvent:
		for _, kc := range r.counts {
			if kc.key == c.key {
				return int(kc.n[c.window]) >= c.min
			}
		}
		return false
	case kindMin:
		x, ok := number(r.attrs[c.attr])
		return ok && x >= c.cut
	case kindEq:
		s, ok := text(r.attrs[c.attr])
		return ok && s == c.level
	}
	return false
}

// ruleConfig returns the scorecard rule that fires exactly when the candidate holds,
// with points.
func (c *candidate) ruleConfig(cur []scorecard.RuleConfig, keys []eventKey, points int) scorecard.RuleConfig {
	switch c.Kind {
	case kindRule:
		r := cur[c.rule]
		r.Points = points
		r.Repeatable, r.PerDayCap = false, 0 // the fit saw whether it fired, not how often
		r.Decay.HalfLife = 0
		return r
	case kindEvent:
		k := keys[c.key]
		ev := &scorecard.EventMatch{Page: k.Page}
		if k.Type != "" {
			ev.Types = []string{k.Type}
		}
		return scorecard.RuleConfig{Name: c.Name, Dimension: scorecard.Engagement, Points: points,
			Event: ev, Within: windows[c.window], MinCount: c.min}
	case kindMin:
		cond, _ := scorecard.ParseExpr(fmt.Sprintf("%s >= %s", c.attr, formatNum(c.cut)))
		return scorecard.RuleConfig{Name: c.Name, Dimension: scorecard.Fit, Points: points, When: cond, MinCount: 1}
	default:
		cond, _ := scorecard.ParseExpr(fmt.Sprintf("%s == %s", c.attr, strconv.Quote(c.level)))
		return scorecard.RuleConfig{Name: c.Name, Dimension: scorecard.Fit, Points: points, When: cond, MinCount: 1}
	}
}

// number reads an attribute for attribute_min candidates: a finite value of a Go numeric
// kind. Text attributes give attribute_equals candidates instead.
func number(v any) (float64, bool) {
	x, ok := frame.Number(v)
	return x, ok && !math.IsNaN(x) && !math.IsInf(x, 0)
}

func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func formatNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// skipAttributes are contact columns that never become suggested fit rules: identifiers,
// times, and the lifecycle stage, which contacts.parquet holds as of now rather than as of a
// past snapshot (a label leak).
var skipAttributes = map[string]bool{"contact_id": true, "email": true, "created_at": true,
	"stage": true, "stage_since": true}

// identifier turns text into a rule-name fragment: lower case, [a-z0-9-].
func identifier(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func windowText(d time.Duration) string { return strconv.Itoa(int(d/day)) + "d" }

// candidates lists every characteristic of the training rows with enough support: the
// primary scorecard's rules, event counts by key, window and minimum count (cut points at 1,
// 2, 3, 5, 10 — the counts are small integers, so fixed cut points lose little against a
// supervised binning), numeric attributes by quintile cut points and frequent categorical
// levels.
func candidates(rows []row, cur []scorecard.RuleConfig, keys []eventKey, minSupport int) []candidate {
	var out []candidate
	taken := map[string]bool{}
	name := func(s string) string {
		s = identifier(s)
		if s == "" {
			s = "rule"
		}
		n := s
		for i := 2; taken[n]; i++ {
			n = s + "-" + strconv.Itoa(i)
		}
		taken[n] = true
		return n
	}
	gated := map[string]bool{}
	for _, r := range cur {
		taken[r.Name] = true
		if r.Gate && r.Event == nil {
			gated[r.When.String()] = true
		}
	}
	support := func(c *candidate) int {
		n := 0
		for i := range rows {
			if c.value(&rows[i]) {
				n++
			}
		}
		return n
	}
	keep := func(c candidate) {
		if s := support(&c); s >= minSupport && s <= len(rows)-minSupport {
			out = append(out, c)
		}
	}
	for i, r := range cur {
		if r.Gate {
			continue
		}
		c := candidate{Kind: kindRule, rule: i, Name: r.Name, Text: "current rule " + r.Name}
		keep(c)
	}
	// Event keys: distribution of counts per key and window.
	type hist struct{ ge [len(windows)][]int } // ge[w][k] rows with count >= cut k
	cuts := []int{1, 2, 3, 5, 10}
	hs := make([]hist, len(keys))
	for k := range hs {
		for w := range windows {
			hs[k].ge[w] = make([]int, len(cuts))
		}
	}
	for i := range rows {
		for _, kc := range rows[i].counts {
			for w := range windows {
				for ci, cut := range cuts {
					if int(kc.n[w]) >= cut {
						hs[kc.key].ge[w][ci]++
					}
				}
			}
		}
	}
	for k, key := range keys {
		what := "any event"
		switch {
		case key.Type != "" && key.Page == "/":
			what = key.Type + " / (home)"
		case key.Type != "" && key.Page != "":
			what = key.Type + " " + key.Page
		case key.Type != "":
			what = key.Type
		}
		for w := range windows {
			prev := -1
			for ci, cut := range cuts {
				n := hs[k].ge[w][ci]
				if n < minSupport || n > len(rows)-minSupport || n == prev {
					continue
				}
				prev = n
				suffix := ""
				if cut > 1 {
					suffix = fmt.Sprintf(" %dplus", cut)
				}
				out = append(out, candidate{Kind: kindEvent, key: int32(k), window: w, min: cut,
					Name: name(what + " " + windowText(windows[w]) + suffix),
					Text: fmt.Sprintf("%s ≥ %d in %s", what, cut, windowText(windows[w]))})
			}
		}
	}
	// Attributes.
	nums := map[string][]float64{}
	levels := map[string]map[string]int{}
	for i := range rows {
		for a, v := range rows[i].attrs {
			if skipAttributes[a] {
				continue
			}
			if x, ok := number(v); ok {
				nums[a] = append(nums[a], x)
			} else if s, ok := text(v); ok && utf8.ValidString(s) {
				if levels[a] == nil {
					levels[a] = map[string]int{}
				}
				levels[a][s]++
			}
		}
	}
	for _, a := range sortedKeys(nums) {
		v := nums[a]
		slices.Sort(v)
		prev := math.NaN()
		for _, q := range []float64{0.2, 0.4, 0.6, 0.8} {
			cut := niceCut(v[int(q*float64(len(v)-1))])
			if cut == prev || cut <= v[0] {
				continue
			}
			prev = cut
			keep(candidate{Kind: kindMin, attr: a, cut: cut,
				Name: name(fmt.Sprintf("%s %s plus", a, formatNum(cut))),
				Text: fmt.Sprintf("%s ≥ %s", a, formatNum(cut))})
		}
	}
	for _, a := range sortedKeys(levels) {
		type lv struct {
			s string
			n int
		}
		var ls []lv
		for s, n := range levels[a] {
			ls = append(ls, lv{s, n})
		}
		slices.SortFunc(ls, func(x, y lv) int { return cmp.Or(cmp.Compare(y.n, x.n), strings.Compare(x.s, y.s)) })
		for _, l := range ls[:min(len(ls), 12)] {
			if gated[fmt.Sprintf("%s == %s", a, strconv.Quote(l.s))] {
				continue // a gate already takes these people out
			}
			keep(candidate{Kind: kindEq, attr: a, level: l.s,
				Name: name(a + " " + l.s),
				Text: fmt.Sprintf("%s = %s", a, l.s)})
		}
	}
	return out
}

// niceCut rounds a cut point to two significant digits, so suggested rules read
// "income >= 58000" rather than "income >= 58123.4".
func niceCut(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, math.Floor(math.Log10(math.Abs(x)))-1)
	return math.Round(x/p) * p
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// matrix evaluates the candidates on rows: one []bool per candidate.
func matrix(cands []candidate, rows []row) [][]bool {
	out := make([][]bool, len(cands))
	for j := range cands {
		col := make([]bool, len(rows))
		for i := range rows {
			col[i] = cands[j].value(&rows[i])
		}
		out[j] = col
	}
	return out
}

// informationValue is Σ (g_b − d_b)·ln(g_b / d_b) over the two bins of an indicator, with g
// and d the shares of converters and non-converters in each bin, 0.5 added to every count
// so an empty bin stays finite (Siddiqi 2006, "Credit Risk Scorecards", ch. 6).
func informationValue(x []bool, y []float64) float64 {
	var c [2][2]float64 // [bin][label]
	for i := range x {
		b := 0
		if x[i] {
			b = 1
		}
		c[b][int(y[i])]++
	}
	pos, neg := c[0][1]+c[1][1]+1, c[0][0]+c[1][0]+1
	iv := 0.0
	for b := range 2 {
		g := (c[b][1] + 0.5) / pos
		d := (c[b][0] + 0.5) / neg
		iv += (g - d) * math.Log(g/d)
	}
	return iv
}
