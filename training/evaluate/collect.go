package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// windows are the look-back windows of the mined event counts (the "within" of a rule).
var windows = [...]time.Duration{7 * day, 30 * day, 90 * day}

const day = 24 * time.Hour

// eventKey is an event condition a suggested rule can test: a type ("" any) and a page
// pattern in the scorecard glob syntax ("" any page).
type eventKey struct {
	Type string
	Page string
}

// keyCount is how many events of one key a person had in each window.
type keyCount struct {
	key int32
	n   [len(windows)]uint16
}

// row is one prospect at one snapshot.
type row struct {
	id     string
	y      float64 // converted in [as-of, as-of + horizon)
	total  int
	stage  string
	mql    bool
	disq   bool
	card   int    // index of the scorecard that scored the row, -1 when none matched
	fired  []bool // rules of the primary scorecard that fired (by index in its config)
	counts []keyCount
	attrs  map[string]any
}

// snapshot is the prospects at one as-of time.
type snapshot struct {
	asOf time.Time
	rows []row
}

// keyRegistry numbers event keys in the order they are first seen (persons come in
// contact_id order, so the numbering is deterministic).
type keyRegistry struct {
	ids  map[eventKey]int32
	keys []eventKey
}

func (r *keyRegistry) id(k eventKey) int32 {
	if i, ok := r.ids[k]; ok {
		return i
	}
	i := int32(len(r.keys))
	r.ids[k] = i
	r.keys = append(r.keys, k)
	return i
}

// pagePattern maps a page to the pattern a suggested rule would use: "/section/*" for a
// page below a first path segment, the page itself otherwise. Pages holding glob
// characters are left out (they could not be matched literally), and so are pages that are
// not UTF-8 (a YAML file cannot hold them).
func pagePattern(page string) string {
	page = strings.TrimSpace(page)
	if page == "" || strings.ContainsAny(page, "*?[") || !utf8.ValidString(page) {
		return ""
	}
	if !strings.HasPrefix(page, "/") {
		return page
	}
	rest := page[1:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if i == 0 {
			return ""
		}
		return "/" + rest[:i] + "/*"
	}
	return page
}

// inputOf converts a person into the scorecard engine's input at asOf (models do not
// import features).
func inputOf(p *history.Person, asOf time.Time) scorecard.Input {
	in := scorecard.Input{ContactID: p.ContactID, AsOf: asOf, Attributes: p.Attributes,
		Events: make([]scorecard.Event, len(p.Events))}
	for i, e := range p.Events {
		in.Events[i] = scorecard.Event{TS: e.TS, Type: e.Type, Page: e.Page, Channel: e.Channel, Campaign: e.Campaign, Value: e.Value}
	}
	return in
}

// prospectLabel reports whether p is a prospect at s (no transaction before s) and, if so,
// whether it bought in [s, s+h): label_converted of docs/contract.md §6.
func prospectLabel(p *history.Person, s time.Time, h time.Duration) (prospect bool, y float64) {
	end := s.Add(h)
	for _, t := range p.Transactions {
		if t.TS.Before(s) {
			return false, 0
		}
		if t.TS.Before(end) {
			y = 1
		}
	}
	return true, y
}

// collector walks the history once and gathers the prospects of both snapshots.
type collector struct {
	set     *scorecard.Set
	primary *scorecard.Scorecard
	horizon time.Duration
	keys    keyRegistry
	snaps   [2]snapshot // 0: training (T−H), 1: holdout (T)
	people  int
	scratch map[int32]*[len(windows)]uint16
}

func newCollector(set *scorecard.Set, primary *scorecard.Scorecard, train, test time.Time, h time.Duration) *collector {
	return &collector{set: set, primary: primary, horizon: h,
		keys:    keyRegistry{ids: map[eventKey]int32{}},
		snaps:   [2]snapshot{{asOf: train}, {asOf: test}},
		scratch: map[int32]*[len(windows)]uint16{}}
}

func (c *collector) run(ctx context.Context, dir string, fopts features.Options) (history.Report, error) {
	fopts.AsOf = c.snaps[1].asOf
	fopts.Horizon = c.horizon
	return history.ForEachPerson(ctx, dir, fopts, c.person)
}

func (c *collector) person(p *history.Person) error {
	c.people++
	for s := range c.snaps {
		asOf := c.snaps[s].asOf
		ok, y := prospectLabel(p, asOf, c.horizon)
		if !ok {
			continue
		}
		r := row{id: p.ContactID, y: y, attrs: p.Attributes, card: -1}
		in := inputOf(p, asOf)
		sc, err := c.set.Select(p.Attributes)
		switch {
		case errors.Is(err, scorecard.ErrNoScorecard):
		case err != nil:
			return fmt.Errorf("contact %s: %w", p.ContactID, err)
		default:
			res, err := sc.Score(in)
			if err != nil {
				return fmt.Errorf("contact %s: %w", p.ContactID, err)
			}
			r.total, r.stage, r.mql, r.disq = res.Total, res.Stage, res.MQL, res.Disqualified
			for i, x := range c.set.Scorecards() {
				if x == sc {
					r.card = i
				}
			}
			if sc == c.primary {
				r.fired = firedRules(sc.Config().Rules, res.Contributions)
			}
		}
		r.counts = c.count(p.Events, asOf)
		c.snaps[s].rows = append(c.snaps[s].rows, r)
	}
	return nil
}

// firedRules marks the rules with a contribution of their own (gates excluded: their
// contributions only zero the dimensions).
func firedRules(rules []scorecard.RuleConfig, contribs []scorecard.Contribution) []bool {
	out := make([]bool, len(rules))
	for i, r := range rules {
		if r.Gate {
			continue
		}
		for _, c := range contribs {
			if c.Rule == r.Name {
				out[i] = true
				break
			}
		}
	}
	return out
}

// count tallies each event key in each window before asOf.
func (c *collector) count(events []features.Event, asOf time.Time) []keyCount {
	clear(c.scratch)
	var lo [len(windows)]time.Time
	for w, d := range windows {
		lo[w] = asOf.Add(-d)
	}
	add := func(k eventKey, ts time.Time) {
		id := c.keys.id(k)
		n := c.scratch[id]
		if n == nil {
			n = new([len(windows)]uint16)
			c.scratch[id] = n
		}
		for w := range windows {
			if !ts.Before(lo[w]) && n[w] < math.MaxUint16 {
				n[w]++
			}
		}
	}
	for _, e := range events {
		if !e.TS.Before(asOf) || e.TS.Before(lo[len(windows)-1]) {
			continue
		}
		add(eventKey{}, e.TS)
		add(eventKey{Type: e.Type}, e.TS)
		if pp := pagePattern(e.Page); pp != "" {
			add(eventKey{Type: e.Type, Page: pp}, e.TS)
		}
	}
	out := make([]keyCount, 0, len(c.scratch))
	for id, n := range c.scratch {
		out = append(out, keyCount{key: id, n: *n})
	}
	return out
}
