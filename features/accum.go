package features

import (
	"math"
	"math/bits"
	"strings"

	"github.com/propensity-dev/propensity/internal/eventtype"
)

// Event type codes: the canonical types in eventtype.Canonical order, then e-mail sends (the
// denominator of open and click rates), then everything else.
const (
	typeSurvey = 10
	typeSend   = nTypes
	typeOther  = nTypes + 1
	nCodes     = nTypes + 2
	NoPage     = -1
	NoTS       = math.MinInt64
	decayScale = 1 << 40
)

// TypeCode maps an event type to its code.
func TypeCode(t []byte) int {
	switch string(t) {
	case "page_view":
		return 0
	case "email_open":
		return 1
	case "email_click":
		return 2
	case "email_unsubscribe":
		return 3
	case "form_submit":
		return 4
	case "download":
		return 5
	case "webinar":
		return 6
	case "chat":
		return 7
	case "social":
		return 8
	case "trial_start":
		return 9
	case "survey":
		return typeSurvey
	case "purchase":
		return 11
	case "email_send", "email_sent", "email_delivered":
		return typeSend
	}
	return typeOther
}

// PageCategory returns the index of the first page category whose word the page contains
// (case-insensitive), or NoPage.
func PageCategory(page []byte) int {
	if len(page) == 0 {
		return NoPage
	}
	var low [128]byte
	p := page
	if len(p) <= len(low) {
		for i, c := range p {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		p = low[:len(p)]
	} else {
		p = []byte(strings.ToLower(string(p)))
	}
	for i, w := range pageCategories {
		if strings.Contains(string(p), w) {
			return i
		}
	}
	return NoPage
}

// EventAcc is the fixed-size state one person's events before T fold into. Batch and online
// paths both feed it through add, so the two agree by construction.
type EventAcc struct {
	win   [nCodes][3]int32 // events per type code in the last 7/30/90 days
	all   [3]int32         // events of any type in the last 7/30/90 days
	total int64            // events before T
	// decayed is Σ 2^(−age/halfLife) per type code in fixed point (decayScale units): integer
	// sums do not depend on the order events arrive in, so batch (parallel) and online agree
	// exactly and runs are reproducible.
	decayed [nCodes]uint64
	last    [nCodes]int64 // latest ts per type code (unix ns), NoTS when none
	lastAny int64
	days    [2]uint64 // bit k: an event in day k before T, k = ⌊(age−1ns)/24h⌋ < 90
	page    [nPageCats][2]int32
	survTS  [2]int64   // latest two survey events with a value: [0] latest
	survV   [2]float64 // their values
}

// Reset empties a for another person.
func (a *EventAcc) Reset() {
	*a = EventAcc{}
	for i := range a.last {
		a.last[i] = NoTS
	}
	a.lastAny = NoTS
	a.survTS = [2]int64{NoTS, NoTS}
}

var windowNanos = [3]int64{7 * dayNanos, 30 * dayNanos, 90 * dayNanos}

// Add folds one event with ts < T into a. age = T − ts > 0 in ns; halfLife in ns.
func (a *EventAcc) Add(age int64, ts int64, code int, page int, value float64, halfLife float64) {
	a.total++
	if ts > a.lastAny {
		a.lastAny = ts
	}
	if ts > a.last[code] {
		a.last[code] = ts
	}
	a.decayed[code] += uint64(math.Exp2(-float64(age)/halfLife)*decayScale + 0.5)
	if code == typeSurvey && !math.IsNaN(value) {
		a.addSurvey(ts, value)
	}
	if age > windowNanos[2] {
		return
	}
	k := (age - 1) / dayNanos
	a.days[k>>6] |= 1 << (k & 63)
	for w := range 3 {
		if age <= windowNanos[w] {
			a.win[code][w]++
			a.all[w]++
		}
	}
	if page >= 0 {
		if age <= windowNanos[1] {
			a.page[page][0]++
		}
		a.page[page][1]++
	}
}

// TxAcc folds one person's transactions, fed in time order (all of them: before T for
// features, in [T, T+H) for labels).
type TxAcc struct {
	count, count90 int64
	sum, sum90     float64
	last           int64
	// RFM on the calendar-day grid (UTC days), as lifetimes' summary_data_from_transaction_data
	firstDay, curDay int64
	nDays            int64
	repeatSpend      float64 // spend on purchase days after the first
	// labels
	future    int64
	futureSum float64
	// spend per listed product category, and per product (for the preferred category)
	catSpend  []float64
	prodCode  []int32
	prodSpend []float64
}

// Reset empties t for another person, with nCats listed product categories.
func (t *TxAcc) Reset(nCats int) {
	cs := t.catSpend[:0]
	for range nCats {
		cs = append(cs, 0)
	}
	*t = TxAcc{catSpend: cs, prodCode: t.prodCode[:0], prodSpend: t.prodSpend[:0], last: NoTS, firstDay: NoTS, curDay: NoTS}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Add folds one transaction; ts must not decrease between calls. cat is the index of the
// product in the listed categories or -1; prod a code of the product (or -1) for the
// preferred category.
func (t *TxAcc) Add(ts, asOf, horizonEnd int64, amount float64, cat int, prod int32) {
	if ts >= asOf {
		if ts < horizonEnd {
			t.future++
			t.futureSum += amount
		}
		return
	}
	t.count++
	t.sum += amount
	if ts > t.last {
		t.last = ts
	}
	if AgeNanos(asOf, ts) <= windowNanos[2] {
		t.count90++
		t.sum90 += amount
	}
	day := floorDiv(ts, dayNanos)
	switch {
	case t.firstDay == NoTS:
		t.firstDay, t.curDay, t.nDays = day, day, 1
	case day != t.curDay:
		t.curDay = day
		t.nDays++
		t.repeatSpend += amount
	case day != t.firstDay:
		t.repeatSpend += amount
	}
	if cat >= 0 {
		t.catSpend[cat] += amount
	}
	if prod >= 0 {
		for i, p := range t.prodCode {
			if p == prod {
				t.prodSpend[i] += amount
				return
			}
		}
		t.prodCode = append(t.prodCode, prod)
		t.prodSpend = append(t.prodSpend, amount)
	}
}

// ContactInfo is what the surviving contact row contributes.
type ContactInfo struct {
	ID         string
	Created    int64 // NoTS when unknown
	Stage      string
	StageSince int64 // NoTS when unknown
}

// RowFiller writes one person's row: the single definition of every feature column.
type RowFiller struct {
	schema   *Schema
	asOf     int64
	horizon  bool
	cats     int // number of listed product categories
	attrBase int // column index of the first attribute
	catBase  int // column index of the first spend_<category>
	idx      struct {
		daysLastEvent, purchaseCount, purchaseSum, daysLastPurchase, tenure int
		ev7, ev90, evTotal, other90, decayedAll, decayed, daysLastType      int
		active7, active30, active90, openRate, ctr, cto, page               int
		pc90, ps90, rfmF, rfmR, rfmT, rfmM, satLast, satTrend, satDays      int
		stage, daysInStage, preferred, labPurchase, labConv, labChurn       int
		labSpend                                                            int
	}
}

// NewRowFiller returns the filler of rows of schema s computed with opts (after defaults).
func NewRowFiller(s *Schema, opts Options) *RowFiller {
	f := &RowFiller{schema: s, asOf: Nanos(opts.AsOf), horizon: opts.Horizon > 0, cats: len(opts.ProductCategories)}
	ix := s.Index
	f.idx.daysLastEvent = ix("days_since_last_event")
	f.idx.purchaseCount = ix("purchase_count")
	f.idx.purchaseSum = ix("purchase_amount_sum")
	f.idx.daysLastPurchase = ix("days_since_last_purchase")
	f.idx.tenure = ix("tenure_days")
	f.idx.ev7 = ix("n_events_7d")
	f.idx.ev90 = ix("n_events_90d")
	f.idx.evTotal = ix("n_events_total")
	f.idx.other90 = ix("n_other_events_90d")
	f.idx.decayedAll = ix("decayed_events")
	first := eventtype.Canonical()[0]
	f.idx.decayed = ix("decayed_" + first)
	f.idx.daysLastType = ix("recency_" + first + "_days")
	f.idx.active7 = ix("active_days_7d")
	f.idx.active30 = ix("active_days_30d")
	f.idx.active90 = ix("active_days_90d")
	f.idx.openRate = ix("email_open_rate_90d")
	f.idx.ctr = ix("email_ctr_90d")
	f.idx.cto = ix("email_click_to_open_90d")
	f.idx.page = ix("page_" + pageCategories[0] + "_30d")
	f.idx.pc90 = ix("purchase_count_90d")
	f.idx.ps90 = ix("purchase_amount_90d")
	f.idx.rfmF = ix("rfm_frequency")
	f.idx.rfmR = ix("rfm_recency_days")
	f.idx.rfmT = ix("rfm_age_days")
	f.idx.rfmM = ix("rfm_monetary")
	f.idx.satLast = ix("satisfaction_last")
	f.idx.satTrend = ix("satisfaction_trend")
	f.idx.satDays = ix("days_since_last_survey")
	f.idx.stage = ix("stage")
	f.idx.daysInStage = ix("days_in_stage")
	f.idx.preferred = ix("preferred_category")
	f.catBase = f.idx.preferred + 1
	f.attrBase = f.catBase + f.cats
	if f.horizon {
		f.idx.labPurchase = ix("label_purchase")
		f.idx.labConv = ix("label_converted")
		f.idx.labChurn = ix("label_churned")
		f.idx.labSpend = ix("label_spend")
	}
	return f
}

func (f *RowFiller) daysSince(ts int64) float64 {
	if ts == NoTS {
		return math.NaN()
	}
	return daysBetween(f.asOf, ts)
}

func ratio(a, b int32) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Fill writes the row. attrNum/attrStr hold the attribute values in opts.Attributes order
// (NaN / "" when missing); prodName names product codes for the preferred category.
func (f *RowFiller) Fill(r *Row, c *ContactInfo, ev *EventAcc, tx *TxAcc, attrNum []float64, attrStr []string, prodName func(int32) string) {
	n, s := r.Nums, r.Strs
	for i := range n {
		n[i] = math.NaN()
		s[i] = ""
	}
	s[0] = c.ID
	// canonical
	col := 2
	n[col] = float64(ev.all[1])
	col++
	for ty := range nTypes {
		for w := range 3 {
			n[col] = float64(ev.win[ty][w])
			col++
		}
	}
	n[f.idx.daysLastEvent] = f.daysSince(ev.lastAny)
	n[f.idx.purchaseCount] = float64(tx.count)
	n[f.idx.purchaseSum] = tx.sum
	n[f.idx.daysLastPurchase] = f.daysSince(tx.last)
	n[f.idx.tenure] = f.daysSince(c.Created)
	// modelling set
	n[f.idx.ev7] = float64(ev.all[0])
	n[f.idx.ev90] = float64(ev.all[2])
	n[f.idx.evTotal] = float64(ev.total)
	n[f.idx.other90] = float64(ev.win[typeOther][2] + ev.win[typeSend][2])
	var dAll uint64
	for code := range nCodes {
		dAll += ev.decayed[code]
	}
	n[f.idx.decayedAll] = float64(dAll) / decayScale
	for ty := range nTypes {
		n[f.idx.decayed+ty] = float64(ev.decayed[ty]) / decayScale
		n[f.idx.daysLastType+ty] = f.daysSince(ev.last[ty])
	}
	n[f.idx.active7] = float64(popDays(ev.days, 7))
	n[f.idx.active30] = float64(popDays(ev.days, 30))
	n[f.idx.active90] = float64(popDays(ev.days, 90))
	sends := ev.win[typeSend][2]
	opens, clicks := ev.win[1][2], ev.win[2][2]
	n[f.idx.openRate] = ratio(opens, sends)
	n[f.idx.ctr] = ratio(clicks, sends)
	n[f.idx.cto] = ratio(clicks, opens)
	for p := range nPageCats {
		n[f.idx.page+2*p] = float64(ev.page[p][0])
		n[f.idx.page+2*p+1] = float64(ev.page[p][1])
	}
	n[f.idx.pc90] = float64(tx.count90)
	n[f.idx.ps90] = tx.sum90
	if tx.nDays > 0 {
		lastObs := floorDiv(f.asOf-1, dayNanos)
		n[f.idx.rfmF] = float64(tx.nDays - 1)
		n[f.idx.rfmR] = float64(tx.curDay - tx.firstDay)
		n[f.idx.rfmT] = float64(lastObs - tx.firstDay)
		if tx.nDays > 1 {
			n[f.idx.rfmM] = tx.repeatSpend / float64(tx.nDays-1)
		}
	}
	if ev.survTS[0] != NoTS {
		n[f.idx.satLast] = ev.survV[0]
		n[f.idx.satDays] = f.daysSince(ev.survTS[0])
		if ev.survTS[1] != NoTS {
			n[f.idx.satTrend] = ev.survV[0] - ev.survV[1]
		}
	}
	s[f.idx.stage] = c.Stage
	if c.Stage != "" && c.StageSince != NoTS && c.StageSince < f.asOf {
		n[f.idx.daysInStage] = f.daysSince(c.StageSince)
	}
	best := -1
	for i := range tx.prodCode {
		if best < 0 || tx.prodSpend[i] > tx.prodSpend[best] ||
			(tx.prodSpend[i] == tx.prodSpend[best] && prodName(tx.prodCode[i]) < prodName(tx.prodCode[best])) {
			best = i
		}
	}
	if best >= 0 {
		s[f.idx.preferred] = prodName(tx.prodCode[best])
	}
	for i := range f.cats {
		n[f.catBase+i] = tx.catSpend[i]
	}
	for i := range attrNum {
		n[f.attrBase+i] = attrNum[i]
		s[f.attrBase+i] = attrStr[i]
	}
	if f.horizon {
		bought := 0.0
		if tx.future > 0 {
			bought = 1
		}
		n[f.idx.labPurchase] = bought
		if tx.count == 0 {
			n[f.idx.labConv] = bought
		} else {
			n[f.idx.labChurn] = 1 - bought
		}
		n[f.idx.labSpend] = tx.futureSum
	}
}

// popDays counts the active days among the last k (k <= 90).
func popDays(b [2]uint64, k int) int {
	if k <= 64 {
		return popcount(b[0] & (1<<uint(k) - 1))
	}
	return popcount(b[0]) + popcount(b[1]&(1<<uint(k-64)-1))
}

func popcount(x uint64) int { return bits.OnesCount64(x) }
