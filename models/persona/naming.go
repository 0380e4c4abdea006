package persona

import (
	"fmt"
	"math"
	"strings"

	"github.com/propensity-dev/propensity/models/frame"
)

// ValueColumn reports whether a column holds a value score summarised per persona: clv,
// ltv, expected spend or a purchase amount.
func ValueColumn(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"clv", "ltv", "expected_spend", "purchase_amount_sum", "monetary", "lifetime_value"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// RiskColumn reports whether a column holds a risk score summarised per persona: churn
// probability or probability of being alive.
func RiskColumn(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "churn") || strings.Contains(n, "p_alive")
}

// phrase turns a distinguishing dimension into a word or two for a name. The rules read the
// naming conventions of the feature table (docs/contract.md §6: n_<type>_<N>d, days_since_*, ...):
// counts become frequent/rare, amounts high-/low-spend, recency recent/lapsed; a one-hot level
// that is over-represented is named by its value; a derived "num/den" by its numerator;
// anything else is high-/low-<column>.
func phrase(dim string, z float64) string {
	up := z > 0
	pick := func(hi, lo string) string { return either(up, hi, lo) }
	if col, level, ok := strings.Cut(dim, "="); ok {
		words := humanise(level)
		if !up {
			return "non-" + words
		}
		if strings.Contains(strings.ToLower(col), "page") {
			return words + "-page"
		}
		return words
	}
	// A derived share or ratio "num/den" reads as its numerator: a high share of blog
	// pages is a blog-page visitor, a high share of spend on software is software-buying.
	if num, _, ok := strings.Cut(dim, "/"); ok {
		if c, ok := strings.CutPrefix(strings.ToLower(num), "spend_"); ok {
			return pick(humanise(c)+"-buying", "non-"+humanise(c))
		}
		return phrase(num, z)
	}
	n := strings.ToLower(dim)
	// Windowed and decayed variants of one count read the same: n_x_30d, decayed_x.
	if t, ok := strings.CutPrefix(n, "decayed_"); ok {
		n = "n_" + t
	}
	switch {
	case strings.HasPrefix(n, "recency_"):
		t := strings.TrimSuffix(strings.TrimPrefix(n, "recency_"), "_days")
		return pick("lapsed ", "recent ") + humanise(t)
	case strings.HasPrefix(n, "active_days"):
		return pick("often active", "seldom active")
	case strings.HasPrefix(n, "page_"):
		t := strings.TrimPrefix(n, "page_")
		if i := strings.LastIndexByte(t, '_'); i > 0 && strings.HasSuffix(t, "d") {
			t = t[:i]
		}
		return pick("", "few ") + humanise(t) + "-page visitors"
	case strings.Contains(n, "days_since") || strings.Contains(n, "recency"):
		return pick("lapsed", "recent")
	case n == "age" || strings.HasSuffix(n, "_age"):
		return pick("older", "younger")
	case strings.Contains(n, "income"):
		return pick("higher-income", "lower-income")
	case strings.Contains(n, "satisfaction"):
		return pick("satisfied", "dissatisfied")
	case strings.Contains(n, "tenure"):
		return pick("long-standing", "new")
	case strings.Contains(n, "p_alive"):
		return pick("active", "fading")
	case strings.Contains(n, "churn"):
		return pick("at-risk", "loyal")
	case strings.Contains(n, "amount") || strings.Contains(n, "spend") || strings.Contains(n, "clv") ||
		strings.Contains(n, "ltv") || strings.Contains(n, "revenue") || strings.Contains(n, "monetary"):
		return pick("high-spend", "low-spend")
	case n == "purchase_count" || strings.Contains(n, "frequency") || strings.HasPrefix(n, "n_purchase"):
		return pick("frequent", "infrequent")
	case strings.HasPrefix(n, "n_"):
		// n_<type>_<N>d: the event type.
		t := strings.TrimPrefix(n, "n_")
		if i := strings.LastIndexByte(t, '_'); i > 0 && strings.HasSuffix(t, "d") {
			t = t[:i]
		}
		if t == "events" {
			return pick("highly engaged", "quiet")
		}
		return pick("frequent ", "rare ") + humanise(t)
	}
	return pick("high-", "low-") + humanise(dim)
}

// either returns hi when up, else lo.
func either(up bool, hi, lo string) string {
	if up {
		return hi
	}
	return lo
}

func humanise(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Trim(s, "/")
	return strings.NewReplacer("_", "-", " ", "-", "/", "-").Replace(s)
}

// noun names the people in a table: customers when it has purchases, else contacts.
func noun(f *frame.Frame) string {
	for _, c := range f.Columns {
		n := strings.ToLower(c.Name)
		if strings.Contains(n, "purchase") || strings.Contains(n, "clv") || strings.Contains(n, "ltv") {
			return "customers"
		}
	}
	return "contacts"
}

// name gives each persona a name from its strongest traits (|z| ≥ 0.25, at most three),
// adding traits until the names are unique.
func name(ps []Profile, noun string) {
	words := func(p *Profile, n int) string {
		var parts []string
		seen := map[string]bool{}
		for _, t := range p.Traits {
			// Prefer "pro" to "non-free": a column with an over-represented level is named
			// by it.
			if col, _, ok := strings.Cut(t.Feature, "="); ok && t.Z < 0 {
				for _, o := range p.Traits {
					if oc, _, ok := strings.Cut(o.Feature, "="); ok && oc == col && o.Z >= 0.25 {
						seen["col:"+col+"-neg"] = true
					}
				}
			}
		}
		for _, t := range p.Traits {
			if col, _, ok := strings.Cut(t.Feature, "="); ok && t.Z < 0 && seen["col:"+col+"-neg"] {
				continue
			}
			if len(parts) == n {
				break
			}
			// One phrase per source column: "free" and "non-pro" say the same thing.
			col, _, _ := strings.Cut(t.Feature, "=")
			if math.Abs(t.Z) < 0.25 || seen[t.Phrase] || seen["col:"+col] {
				continue
			}
			seen[t.Phrase] = true
			seen["col:"+col] = true
			parts = append(parts, t.Phrase)
		}
		if len(parts) == 0 {
			return "typical " + noun
		}
		// A phrase that is itself a noun ("pricing-page visitors") goes last, in place of
		// the noun: "frequent, low-spend, pricing-page visitors".
		for i, p := range parts {
			if strings.HasSuffix(p, " visitors") {
				parts = append(append(parts[:i:i], parts[i+1:]...), p)
				return strings.Join(parts, ", ")
			}
		}
		return strings.Join(parts, ", ") + " " + noun
	}
	for n := 3; ; n++ {
		used := map[string]int{}
		for j := range ps {
			ps[j].Name = words(&ps[j], n)
			used[ps[j].Name]++
		}
		dup := false
		for _, c := range used {
			dup = dup || c > 1
		}
		if !dup {
			return
		}
		if n > 6 {
			for j := range ps {
				if used[ps[j].Name] > 1 {
					ps[j].Name = fmt.Sprintf("%s (%d)", ps[j].Name, ps[j].ID+1)
				}
			}
			return
		}
	}
}

// describe writes a few sentences about a persona in plain words: its size, its strongest
// traits (Trait.Label) with the persona's and everyone's means, and its value and risk.
// share tells which dimensions are proportions (levels and derived shares), written as
// percentages.
func describe(p *Profile, share func(dim string) bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d people (%.1f%%).", p.Size, 100*p.Share)
	var parts []string
	for _, t := range KeyTraits(*p) {
		if len(parts) == 3 {
			break
		}
		if share(t.Feature) {
			parts = append(parts, fmt.Sprintf("%s (%.0f%% vs %.0f%% overall)", t.Label, 100*t.Value, 100*t.Population))
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s vs %s overall)", t.Label, fmtNum(t.Value), fmtNum(t.Population)))
		}
	}
	if len(parts) > 0 {
		s := strings.Join(parts, "; ")
		b.WriteString(" Compared with everyone: " + s + ".")
	}
	for _, s := range p.Value {
		fmt.Fprintf(&b, " Average %s %s (overall %s).", Describe(s.Column), fmtNum(s.Mean), fmtNum(s.Population))
	}
	for _, s := range p.Risk {
		fmt.Fprintf(&b, " Average %s %s (overall %s).", Describe(s.Column), fmtNum(s.Mean), fmtNum(s.Population))
	}
	return b.String()
}
