package scorecard

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNoScorecard is returned when no scorecard of a set applies to a contact.
var ErrNoScorecard = errors.New("scorecard: no scorecard's audience matches the contact")

// Input is what a scorecard sees of one contact at one time.
type Input struct {
	ContactID  string
	AsOf       time.Time      // events at or after AsOf are ignored; zero counts every event
	Attributes map[string]any // contact columns (numbers, strings, booleans; nil for null)
	Events     []Event        // in any order
}

// Event is one touch of a contact (a row of events.parquet without its identifiers).
type Event struct {
	TS       time.Time
	Type     string
	Page     string
	Channel  string
	Campaign string
	Value    float64 // NaN when the event has no value
}

// Contribution explains part of a score. The points of a result's contributions add up to
// its total, and those of one dimension to that dimension's sum. Besides rules and
// lifecycle stages ("lifecycle:<stage>"), caps ("cap:<dimension>", "cap:total") and gates
// (the gate's rule name, cancelling each dimension) appear as contributions with count 0
// and 1.
type Contribution struct {
	Rule      string `json:"rule"`
	Dimension string `json:"dimension"`
	Points    int    `json:"points"`
	Count     int    `json:"count"` // how many times the rule applied (matching events counted)
}

// Result is a contact's score; it marshals to the `rules` block of docs/contract.md §3.
type Result struct {
	Scorecard      string         `json:"scorecard"`
	Version        string         `json:"version"`
	Total          int            `json:"total"`
	Fit            int            `json:"fit"`
	Engagement     int            `json:"engagement"`
	Lifecycle      int            `json:"lifecycle"`
	Grade          string         `json:"grade"` // fit letter A-D and engagement level 1-4, e.g. "B2"
	Stage          string         `json:"stage"` // threshold stage of Total, or "disqualified"
	MQL            bool           `json:"mql"`
	Disqualified   bool           `json:"disqualified"`
	DisqualifiedBy string         `json:"disqualified_by"`
	Contributions  []Contribution `json:"contributions"`
}

// TopContributions formats the n contributions with the largest absolute points, e.g.
// "directions-page:+20 vehicle-interest-form:+10"; n <= 0 formats all.
func (r Result) TopContributions(n int) string {
	cs := slices.Clone(r.Contributions)
	slices.SortStableFunc(cs, func(a, b Contribution) int { return cmp.Compare(abs(b.Points), abs(a.Points)) })
	if n > 0 && len(cs) > n {
		cs = cs[:n]
	}
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Rule)
		b.WriteByte(':')
		if c.Points >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(c.Points))
	}
	return b.String()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Scorecard is a validated, compiled scorecard. It is safe for concurrent use.
type Scorecard struct {
	cfg    Config
	rules  []rule
	stages []stage
}

type rule struct {
	RuleConfig
	ev *eventMatcher
}

type stage struct {
	LifecycleStage
	ev *eventMatcher
}

// New validates cfg and compiles it.
func New(cfg Config) (*Scorecard, error) {
	cfg.Thresholds = slices.Clone(cfg.Thresholds)
	cfg.Rules = slices.Clone(cfg.Rules)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Scorecard{cfg: cfg}
	for _, rc := range cfg.Rules {
		r := rule{RuleConfig: rc}
		if rc.Event != nil {
			r.ev = compileEvent(rc.Event)
		}
		s.rules = append(s.rules, r)
	}
	for _, sc := range cfg.Lifecycle.Stages {
		st := stage{LifecycleStage: sc}
		if sc.Event != nil {
			st.ev = compileEvent(sc.Event)
		}
		s.stages = append(s.stages, st)
	}
	return s, nil
}

// Name returns the scorecard's name.
func (s *Scorecard) Name() string { return s.cfg.Name }

// Version returns the scorecard's version string.
func (s *Scorecard) Version() string { return s.cfg.Version }

// Config returns the scorecard's configuration, with defaults applied.
func (s *Scorecard) Config() Config { return s.cfg }

// Fields returns the attributes the scorecard reads (audience, rule and lifecycle
// conditions, the lifecycle attribute when stages are defined), sorted, so that callers can
// warn about attributes their data does not have.
func (s *Scorecard) Fields() []string {
	conds := []Condition{s.cfg.Audience}
	for _, r := range s.rules {
		conds = append(conds, r.When)
	}
	var out []string
	for _, st := range s.stages {
		conds = append(conds, st.When)
	}
	if len(s.stages) > 0 {
		out = append(out, s.cfg.Lifecycle.Attribute)
	}
	for _, c := range conds {
		out = append(out, c.Fields()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Applies reports whether the scorecard's audience condition matches attrs.
func (s *Scorecard) Applies(attrs map[string]any) (bool, error) {
	return s.cfg.Audience.Match(attrs)
}

// Score scores one contact at in.AsOf. Only events strictly before AsOf count.
//
// Each rule's points are rounded to a whole number after decay, so that contributions add
// up exactly; caps and gates add contributions of their own rather than changing others.
func (s *Scorecard) Score(in Input) (Result, error) {
	res := Result{
		Scorecard:     s.cfg.Name,
		Version:       s.cfg.Version,
		Contributions: make([]Contribution, 0, len(s.rules)+4),
	}
	asOf := int64(math.MaxInt64) // a zero AsOf counts every event
	if !in.AsOf.IsZero() {
		asOf = in.AsOf.UnixNano()
	}
	var scratch []int64
	gate := ""
	for i := range s.rules {
		r := &s.rules[i]
		fired, points, count, err := r.eval(&in, asOf, &scratch)
		if err != nil {
			return Result{}, fmt.Errorf("scorecard %s: rule %s: %w", s.cfg.Name, r.Name, err)
		}
		if !fired {
			continue
		}
		if r.Gate {
			if gate == "" {
				gate = r.Name
			}
			continue
		}
		res.Contributions = append(res.Contributions, Contribution{r.Name, r.Dimension, points, count})
	}
	if st, ok, err := s.lifecycleStage(&in, asOf); err != nil {
		return Result{}, fmt.Errorf("scorecard %s: lifecycle: %w", s.cfg.Name, err)
	} else if ok {
		res.Contributions = append(res.Contributions, Contribution{"lifecycle:" + st.Name, Lifecycle, st.Points, 1})
	}

	var sums [3]int // fit, engagement, lifecycle
	for _, c := range res.Contributions {
		sums[dimIndex(c.Dimension)] += c.Points
	}
	dims := [3]string{Fit, Engagement, Lifecycle}
	for k, cp := range [3]*int{s.cfg.Caps.Fit, s.cfg.Caps.Engagement, s.cfg.Caps.Lifecycle} {
		if cp != nil && sums[k] > *cp {
			res.Contributions = append(res.Contributions, Contribution{"cap:" + dims[k], dims[k], *cp - sums[k], 0})
			sums[k] = *cp
		}
	}
	if cp := s.cfg.Caps.Total; cp != nil {
		// The excess comes off engagement first (the most volatile), then fit, then
		// lifecycle, so that the dimensions still add up to the total.
		excess := sums[0] + sums[1] + sums[2] - *cp
		for _, k := range [3]int{1, 0, 2} {
			if excess <= 0 {
				break
			}
			take := min(excess, max(sums[k], 0))
			if take > 0 {
				res.Contributions = append(res.Contributions, Contribution{"cap:total", dims[k], -take, 0})
				sums[k] -= take
				excess -= take
			}
		}
	}
	if gate != "" {
		for k := range sums {
			if sums[k] != 0 {
				res.Contributions = append(res.Contributions, Contribution{gate, dims[k], -sums[k], 1})
				sums[k] = 0
			}
		}
		res.Disqualified, res.DisqualifiedBy = true, gate
	}
	res.Fit, res.Engagement, res.Lifecycle = sums[0], sums[1], sums[2]
	res.Total = sums[0] + sums[1] + sums[2]
	res.Grade = s.grade(res.Fit, res.Engagement)
	if res.Disqualified {
		res.Stage = StageDisqualified
		return res, nil
	}
	res.Stage = s.cfg.Thresholds[0].Stage
	for _, t := range s.cfg.Thresholds {
		if res.Total >= t.Points {
			res.Stage = t.Stage
		}
		if t.Stage == s.cfg.MQLStage && res.Total >= t.Points {
			res.MQL = true
		}
	}
	return res, nil
}

func dimIndex(d string) int {
	switch d {
	case Fit:
		return 0
	case Engagement:
		return 1
	}
	return 2
}

func (s *Scorecard) grade(fit, eng int) string {
	letter, level := byte('D'), byte('4')
	g := s.cfg.Grades
	for i := 2; i >= 0; i-- {
		if fit >= g.Fit[i] {
			letter = "ABC"[i]
		}
		if eng >= g.Engagement[i] {
			level = "123"[i]
		}
	}
	return string([]byte{letter, level})
}

// lifecycleStage finds the furthest stage reached: stages only move forward, so an earlier
// stage's signal never undoes a later one.
func (s *Scorecard) lifecycleStage(in *Input, asOf int64) (stage, bool, error) {
	if len(s.stages) == 0 {
		return stage{}, false, nil
	}
	cur, _ := in.Attributes[s.cfg.Lifecycle.Attribute].(string)
	for i := len(s.stages) - 1; i >= 0; i-- {
		st := &s.stages[i]
		if cur != "" && strings.EqualFold(cur, st.Name) {
			return *st, true, nil
		}
		if !st.When.IsZero() {
			ok, err := st.When.Match(in.Attributes)
			if err != nil {
				return stage{}, false, fmt.Errorf("stage %s: %w", st.Name, err)
			}
			if ok {
				return *st, true, nil
			}
		}
		if st.ev != nil {
			for j := range in.Events {
				e := &in.Events[j]
				if e.TS.UnixNano() < asOf && st.ev.match(e) {
					return *st, true, nil
				}
			}
		}
	}
	return stage{}, false, nil
}

// eval applies one rule: whether it fired, its rounded points and how many times it counted.
func (r *rule) eval(in *Input, asOf int64, scratch *[]int64) (bool, int, int, error) {
	if !r.When.IsZero() {
		ok, err := r.When.Match(in.Attributes)
		if err != nil || !ok {
			return false, 0, 0, err
		}
	}
	if r.ev == nil {
		return true, r.Points, 1, nil
	}
	lo := int64(math.MinInt64)
	if r.Within > 0 {
		lo = asOf - int64(r.Within)
	}
	if r.Decay.Window > 0 {
		lo = max(lo, asOf-int64(r.Decay.Window))
	}
	n := 0
	latest := int64(math.MinInt64)
	times := (*scratch)[:0]
	keep := r.Repeatable && (r.PerDayCap > 0 || r.Decay.HalfLife > 0)
	for j := range in.Events {
		e := &in.Events[j]
		if !r.ev.match(e) { // the cheap type test first: most events are of other types
			continue
		}
		ts := e.TS.UnixNano()
		if ts >= asOf || ts < lo {
			continue
		}
		n++
		latest = max(latest, ts)
		if keep {
			times = append(times, ts)
		}
	}
	*scratch = times
	if n < r.MinCount || n == 0 {
		return false, 0, 0, nil
	}
	if r.Gate {
		return true, 0, n, nil
	}
	if !r.Repeatable {
		return true, r.decayed(asOf, latest), 1, nil
	}
	if !keep {
		return true, r.Points * n, n, nil
	}
	if r.PerDayCap > 0 {
		slices.Sort(times)
		kept := times[:0]
		day, inDay := int64(math.MinInt64), 0
		for _, ts := range times {
			d := floorDiv(ts, int64(24*time.Hour))
			if d != day {
				day, inDay = d, 0
			}
			if inDay < r.PerDayCap {
				kept = append(kept, ts)
				inDay++
			}
		}
		times = kept
	}
	if r.Decay.HalfLife == 0 {
		return true, r.Points * len(times), len(times), nil
	}
	sum := 0.0
	for _, ts := range times {
		sum += r.factor(asOf - ts)
	}
	return true, int(math.Round(float64(r.Points) * sum)), len(times), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// factor is the half-life decay of points earned age ago: 2^(−age/half-life).
func (r *rule) factor(age int64) float64 {
	if r.Decay.HalfLife <= 0 {
		return 1
	}
	return math.Exp2(-float64(age) / float64(r.Decay.HalfLife))
}

func (r *rule) decayed(asOf, ts int64) int {
	if r.Decay.HalfLife <= 0 {
		return r.Points
	}
	return int(math.Round(float64(r.Points) * r.factor(asOf-ts)))
}

// eventMatcher is a compiled EventMatch.
type eventMatcher struct {
	types              []string
	page, chan_, camp  glob
	pageRe             *regexp.Regexp
	hasMin, hasMax     bool
	minValue, maxValue float64
}

func compileEvent(e *EventMatch) *eventMatcher {
	m := &eventMatcher{types: e.Types, page: newGlob(e.Page), chan_: newGlob(e.Channel), camp: newGlob(e.Campaign)}
	if e.PageRegex != "" {
		m.pageRe = regexp.MustCompile(e.PageRegex) // validated by Config.Validate
	}
	if e.MinValue != nil {
		m.hasMin, m.minValue = true, *e.MinValue
	}
	if e.MaxValue != nil {
		m.hasMax, m.maxValue = true, *e.MaxValue
	}
	return m
}

func (m *eventMatcher) match(e *Event) bool {
	if len(m.types) > 0 && !slices.Contains(m.types, e.Type) {
		return false
	}
	if !m.page.match(e.Page) || !m.chan_.match(e.Channel) || !m.camp.match(e.Campaign) {
		return false
	}
	if m.pageRe != nil && !m.pageRe.MatchString(e.Page) {
		return false
	}
	if m.hasMin || m.hasMax {
		if math.IsNaN(e.Value) || (m.hasMin && e.Value < m.minValue) || (m.hasMax && e.Value > m.maxValue) {
			return false
		}
	}
	return true
}

// glob is a pattern where '*' matches any run of characters and '?' one character.
type glob struct {
	pat     string
	any     bool // empty pattern: matches everything
	literal bool // no wildcards: exact comparison
}

func newGlob(p string) glob {
	return glob{pat: p, any: p == "", literal: !strings.ContainsAny(p, "*?")}
}

func (g glob) match(s string) bool {
	switch {
	case g.any:
		return true
	case g.literal:
		return s == g.pat
	}
	return globMatch(g.pat, s)
}

// globMatch matches with one backtracking point per star, in linear-ish time.
func globMatch(p, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starPx, starSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += n
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if starPx >= 0 && starSx <= len(s) {
			px, sx = starPx+1, starSx
			starSx++
			continue
		}
		return false
	}
	return true
}

// Set is the scorecards of one file or folder, in order; the first whose audience matches
// a contact scores it.
type Set struct {
	cards []*Scorecard
}

// NewSet compiles cfgs into a set; names must be unique, and a scorecard after one without
// an audience (which scores every contact) is refused, as it could never be used.
func NewSet(cfgs ...Config) (*Set, error) {
	set := &Set{}
	var errs []error
	names := map[string]bool{}
	var everyone *Config // the first scorecard without an audience
	for i, c := range cfgs {
		if everyone != nil {
			where := ""
			if everyone.file != "" {
				where = " (" + everyone.file + ")"
			}
			errs = append(errs, &ConfigError{File: c.file, Line: c.line("name"), Field: c.prefix + "name",
				Detail: fmt.Sprintf("scorecard %q is never used: %q%s comes first and, with no audience, scores every contact (give it an audience, or load the files one at a time)", c.Name, everyone.Name, where),
				Err:    ErrInvalid})
		} else if c.Audience.IsZero() {
			everyone = &cfgs[i]
		}
		sc, err := New(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if names[sc.Name()] {
			errs = append(errs, &ConfigError{File: c.file, Line: c.line("name"), Field: c.prefix + "name",
				Detail: fmt.Sprintf("scorecard %q is defined twice", sc.Name()), Err: ErrDuplicate})
		}
		names[sc.Name()] = true
		set.cards = append(set.cards, sc)
	}
	if len(cfgs) == 0 {
		errs = append(errs, &ConfigError{Detail: "no scorecards", Err: ErrMissing})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return set, nil
}

// Needs reports whether an event of type typ on page page can change a score of the set:
// whether some rule or lifecycle stage of some scorecard matches events of that type and page
// (whatever their channel, campaign and value). Every score is the same with or without the
// events it rejects, so a batch job may leave them out of the inputs; it depends on its
// arguments only.
func (s *Set) Needs(typ, page string) bool {
	for _, sc := range s.cards {
		for i := range sc.rules {
			if m := sc.rules[i].ev; m != nil && m.couldMatch(typ, page) {
				return true
			}
		}
		for i := range sc.stages {
			if m := sc.stages[i].ev; m != nil && m.couldMatch(typ, page) {
				return true
			}
		}
	}
	return false
}

// couldMatch is match's test of the type and page only.
func (m *eventMatcher) couldMatch(typ, page string) bool {
	if len(m.types) > 0 && !slices.Contains(m.types, typ) {
		return false
	}
	return m.page.match(page) && (m.pageRe == nil || m.pageRe.MatchString(page))
}

// Parse reads the scorecards of one YAML document (see ParseConfigs); name is used in
// errors.
func Parse(data []byte, name string) (*Set, error) {
	cfgs, err := ParseConfigs(data, name)
	if err != nil {
		return nil, err
	}
	return NewSet(cfgs...)
}

// Load reads a scorecard file, or every *.yaml and *.yml file of a folder in name order.
func Load(path string) (*Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("scorecard: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat)) // the only error is a bad pattern
			files = append(files, m...)
		}
		slices.Sort(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("scorecard: no *.yaml files in %s", path)
		}
	}
	var all []Config
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("scorecard: %w", err))
			continue
		}
		cfgs, err := ParseConfigs(data, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, cfgs...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return NewSet(all...)
}

// Scorecards returns the set's scorecards in order.
func (s *Set) Scorecards() []*Scorecard { return slices.Clone(s.cards) }

// Lookup returns the scorecard named name, or nil.
func (s *Set) Lookup(name string) *Scorecard {
	for _, c := range s.cards {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// Select returns the first scorecard whose audience matches attrs, or ErrNoScorecard.
func (s *Set) Select(attrs map[string]any) (*Scorecard, error) {
	for _, c := range s.cards {
		ok, err := c.Applies(attrs)
		if err != nil {
			return nil, fmt.Errorf("scorecard %s: audience: %w", c.Name(), err)
		}
		if ok {
			return c, nil
		}
	}
	return nil, ErrNoScorecard
}

// Score scores in with the first scorecard whose audience matches its attributes.
func (s *Set) Score(in Input) (Result, error) {
	c, err := s.Select(in.Attributes)
	if err != nil {
		return Result{}, err
	}
	return c.Score(in)
}
