package persona

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// activity is how a marketer says that a person does much (or little) of one kind of
// event, for the canonical event types of a history.
var activity = map[string][2]string{
	"page_view":         {"browses the website a lot", "seldom on the website"},
	"email_open":        {"opens many emails", "seldom opens emails"},
	"email_click":       {"clicks through emails", "seldom clicks emails"},
	"email_unsubscribe": {"unsubscribes from emails", "stays subscribed"},
	"form_submit":       {"fills in forms", "seldom fills in forms"},
	"download":          {"downloads content", "seldom downloads content"},
	"webinar":           {"attends webinars", "seldom attends webinars"},
	"chat":              {"uses chat", "seldom uses chat"},
	"social":            {"active on social media", "quiet on social media"},
	"trial_start":       {"starts trials", "seldom starts trials"},
	"survey":            {"answers surveys", "seldom answers surveys"},
	"purchase":          {"buys a lot", "seldom buys"},
	"events":            {"very active", "little activity"},
}

// Label says in plain words how a persona differs from everyone on one trait: the trait's
// dimension (a column, "column=level" or a derived "num/den"), its direction z (standard
// deviations from the population mean) and the persona's and the population's means in
// original units. Known feature-table columns read as a marketer would say them ("opens
// many emails", "mostly business accounts", "spends above average per order", "quiet for
// 90+ days"); any other column reads as "<words> above average" or "below average", with the
// column name turned into words.
func Label(dim string, z, value, population float64) string {
	up := z > 0
	pick := func(hi, lo string) string { return either(up, hi, lo) }
	if col, level, ok := strings.Cut(dim, "="); ok {
		return levelLabel(col, level, up, value)
	}
	if num, den, ok := strings.Cut(dim, "/"); ok {
		return ratioLabel(num, den, up, value)
	}
	n := strings.ToLower(dim)
	switch {
	case n == "days_since_last_event" || n == "recency_days":
		return pick(quietFor(value, "quiet"), activeWithin(value, "active"))
	case n == "days_since_last_purchase":
		return pick(quietFor(value, "no purchase"), activeWithin(value, "bought"))
	case strings.HasPrefix(n, "recency_") && strings.HasSuffix(n, "_days"):
		t := strings.TrimSuffix(strings.TrimPrefix(n, "recency_"), "_days")
		return pick(quietFor(value, "no "+words(t)), activeWithin(value, words(t)))
	case strings.Contains(n, "tenure"):
		return pick("long-standing, ", "recently joined, ") + duration(value) + " on average"
	case n == "purchase_count" || strings.HasPrefix(n, "n_purchase"):
		if !up && value < 0.5 {
			return "mostly not customers yet"
		}
		return pick("buys more often than most", "buys less often than most")
	case n == "purchase_amount_sum" || n == "monetary" || strings.Contains(n, "revenue"):
		return pick("spends more than most in total", "spends less than most in total")
	case strings.Contains(n, "clv") || strings.Contains(n, "ltv") || strings.Contains(n, "lifetime_value"):
		return pick("high lifetime value", "low lifetime value")
	case strings.Contains(n, "p_alive"):
		return pick("likely still active", "likely lapsed")
	case strings.Contains(n, "churn"):
		return pick("at risk of leaving", "unlikely to leave")
	case strings.Contains(n, "convert") || strings.Contains(n, "conversion"):
		return pick("likely to convert", "unlikely to convert")
	case strings.Contains(n, "satisfaction"):
		return pick("more satisfied than most", "less satisfied than most")
	case n == "age" || strings.HasSuffix(n, "_age"):
		return pick("older", "younger")
	case strings.Contains(n, "income"):
		return pick("higher income", "lower income")
	case strings.HasPrefix(n, "active_days"):
		return pick("active on many days", "active on few days")
	case strings.HasPrefix(n, "page_"):
		c, w := window(strings.TrimPrefix(n, "page_"))
		return pick("visits "+words(c)+" pages"+w, "few "+words(c)+" page visits"+w)
	case strings.HasPrefix(n, "decayed_"):
		t := strings.TrimPrefix(n, "decayed_")
		if a, ok := activity[t]; ok {
			return pick(a[0], a[1]) + " lately"
		}
	case strings.HasPrefix(n, "n_"):
		t, w := window(strings.TrimPrefix(n, "n_"))
		if a, ok := activity[t]; ok {
			return pick(a[0], a[1]) + w
		}
		return pick("many ", "few ") + words(t) + w
	}
	return words(dim) + pick(" above average", " below average")
}

// levelLabel reads an over- or under-represented level of a categorical column: "mostly
// b2b accounts", "more often retired (occupation)", "seldom pro (plan)".
func levelLabel(col, level string, up bool, share float64) string {
	c := strings.ToLower(col)
	lv := strings.TrimSpace(level)
	if lv == "" {
		lv = "(none)"
	}
	how := "seldom"
	if up {
		how = "more often"
		if share >= 0.5 {
			how = "mostly"
		}
	}
	// account_type=b2b reads "mostly b2b accounts".
	if noun, ok := strings.CutSuffix(c, "_type"); ok && noun != "" {
		return how + " " + lv + " " + words(noun) + "s"
	}
	if strings.Contains(c, "page") {
		return how + " on " + lv
	}
	return how + " " + lv + " (" + words(col) + ")"
}

// ratioLabel reads a derived share or ratio num/den.
func ratioLabel(num, den string, up bool, value float64) string {
	pick := func(hi, lo string) string { return either(up, hi, lo) }
	n, d := strings.ToLower(num), strings.ToLower(den)
	switch {
	case n == "purchase_amount_sum" && d == "purchase_count":
		return pick("spends above average per order", "spends below average per order")
	case n == "n_email_click_90d" && d == "n_email_open_90d", strings.Contains(n, "email_click") && strings.Contains(d, "email_open"):
		if up && value >= 0.5 {
			return "clicks most emails they open"
		}
		return pick("clicks more of the emails they open", "opens emails but seldom clicks")
	case strings.HasPrefix(n, "spend_"):
		c := words(strings.TrimPrefix(n, "spend_"))
		if up && value >= 0.5 {
			return "spends mostly on " + c
		}
		return pick("spends more on "+c+" than most", "spends little on "+c)
	case strings.HasPrefix(n, "page_"):
		c, _ := window(strings.TrimPrefix(n, "page_"))
		if up && value >= 0.5 {
			return "mostly reads " + words(c) + " pages"
		}
		return pick("reads "+words(c)+" pages", "few "+words(c)+" page visits")
	case strings.HasPrefix(n, "decayed_") && d == "decayed_events":
		if a, ok := activity[strings.TrimPrefix(n, "decayed_")]; ok {
			return pick(a[0], a[1])
		}
	}
	return words(num) + " per " + words(den) + pick(" above average", " below average")
}

// window splits a windowed name "email_click_30d" into "email_click" and " in the last 30
// days"; a name without a window is returned whole.
func window(s string) (string, string) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 || !strings.HasSuffix(s, "d") {
		return s, ""
	}
	days := s[i+1 : len(s)-1]
	if _, err := strconv.Atoi(days); err != nil {
		return s, ""
	}
	return s[:i], " in the last " + days + " days"
}

// words turns a column name into words: underscores, dashes and slashes become spaces, a
// leading n_ reads "number of", decayed_ reads "recent", a trailing _<N>d "(last N days)".
func words(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	prefix := ""
	if t, ok := strings.CutPrefix(s, "n_"); ok {
		prefix, s = "number of ", t
	} else if t, ok := strings.CutPrefix(s, "decayed_"); ok {
		prefix, s = "recent ", t
	}
	s, w := window(s)
	if w != "" {
		w = " (last" + strings.TrimPrefix(w, " in the last") + ")"
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '/' || r == ' ' }), " ")
	return prefix + s + w
}

// quietFor says how long people have been without something, rounded down to a step a
// marketer would use: "quiet for 90+ days".
func quietFor(days float64, what string) string {
	for _, step := range []float64{365, 180, 90, 60, 30, 14, 7} {
		if days >= step {
			return fmt.Sprintf("%s for %.0f+ days", what, step)
		}
	}
	return what + " for longer than most"
}

// activeWithin says how recently people did something, rounded up to a step: "active in
// the last 30 days".
func activeWithin(days float64, what string) string {
	for _, step := range []float64{7, 14, 30, 60, 90, 180, 365} {
		if days <= step {
			return fmt.Sprintf("%s in the last %.0f days", what, step)
		}
	}
	return what + " more recently than most"
}

// duration writes a number of days as people say it: "about 8 months", "about 2 years".
func duration(days float64) string {
	switch {
	case !(days >= 0):
		return "unknown"
	case days < 60:
		return fmt.Sprintf("about %.0f days", days)
	case days < 730:
		return fmt.Sprintf("about %.0f months", days/30.4375)
	default:
		return fmt.Sprintf("about %.0f years", days/365.25)
	}
}

// Words turns a column name into words, as used in headers: "n_email_click_30d" reads
// "number of email click (last 30 days)".
func Words(column string) string { return words(column) }

// Describe names a dimension (a column, "column=level" or a derived "num/den") in words, for
// a header or an axis: "share of recent activity: email open", "average order value",
// "share with account type business".
func Describe(dim string) string {
	if col, level, ok := strings.Cut(dim, "="); ok {
		return "share with " + words(col) + " " + strings.TrimSpace(level)
	}
	num, den, ok := strings.Cut(dim, "/")
	if !ok {
		switch n := strings.ToLower(dim); {
		case n == "purchase_count":
			return "purchases"
		case n == "purchase_amount_sum":
			return "total spend"
		case n == "days_since_last_event":
			return "days since last activity"
		}
		return words(dim)
	}
	n, d := strings.ToLower(num), strings.ToLower(den)
	switch {
	case n == "purchase_amount_sum" && d == "purchase_count":
		return "average order value"
	case strings.HasPrefix(n, "decayed_") && d == "decayed_events":
		return "share of recent activity: " + words(strings.TrimPrefix(n, "decayed_"))
	case strings.HasPrefix(n, "page_") && strings.HasPrefix(d, "n_page_view"):
		c, w := window(strings.TrimPrefix(n, "page_"))
		if w != "" {
			w = " (last" + strings.TrimPrefix(w, " in the last") + ")"
		}
		return "share of page views" + w + ": " + words(c) + " pages"
	case strings.Contains(n, "email_click") && strings.Contains(d, "email_open"):
		_, w := window(n)
		if w != "" {
			w = " (last" + strings.TrimPrefix(w, " in the last") + ")"
		}
		return "email clicks per open" + w
	case strings.HasPrefix(n, "spend_") && d == "purchase_amount_sum":
		return "share of spend: " + words(strings.TrimPrefix(n, "spend_"))
	}
	return words(num) + " per " + words(den)
}

// KeyTraits returns the traits worth saying about a persona, strongest first: those at
// least a quarter of a standard deviation from everyone, one per source column (the levels
// of a categorical column say one thing: "mostly business accounts" makes "seldom consumer
// accounts" redundant), preferring an over-represented level to an under-represented one.
func KeyTraits(p Profile) []Trait {
	column := func(t Trait) string {
		c, _, _ := strings.Cut(t.Feature, "=")
		return c
	}
	over := map[string]bool{}
	for _, t := range p.Traits {
		if strings.Contains(t.Feature, "=") && t.Z >= 0.25 {
			over[column(t)] = true
		}
	}
	var out []Trait
	seen := map[string]bool{}
	for _, t := range p.Traits {
		c := column(t)
		if math.Abs(t.Z) < 0.25 || seen[c] || (t.Z < 0 && over[c]) {
			continue
		}
		seen[c] = true
		out = append(out, t)
	}
	return out
}
