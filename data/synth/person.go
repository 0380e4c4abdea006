package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

const (
	dayUs  = int64(24 * time.Hour / time.Microsecond)
	minUs  = int64(time.Minute / time.Microsecond)
	weekUs = 7 * dayUs
)

// Who carries an event's identifiers.
const (
	whoContact   = iota // contact_id only
	whoAnonymous        // anonymous_id only (empty contact_id)
	whoEmail            // email only (an email service export)
	whoLink             // contact_id and anonymous_id: links the cookie to the contact
	whoDuplicate        // the duplicate contact's id
)

// ev is one event before it becomes a row: strings are indexes into the run's tables.
type ev struct {
	ts       int64
	page     uint16
	campaign uint16
	typ      uint8
	who      uint8
	channel  uint8
	value    int8 // survey score 0–10, or −1
}

type tx struct {
	ts       int64
	amount   float64
	category uint8
	item     uint8
	quantity uint8
}

// sim is the reusable scratch space of one worker.
type sim struct {
	g      *generator
	rng    *rand.Rand
	src    *splitSource
	events []ev
	txs    []tx
}

// splitSource is a rand.Source whose stream is fixed by (seed, contact index), so a contact's
// history does not depend on which worker generates it. It is SplitMix64 (Steele, Lea &
// Flood 2014, "Fast splittable pseudorandom number generators", OOPSLA).
type splitSource struct{ state uint64 }

func (s *splitSource) Uint64() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *splitSource) seed(seed uint64, index int) {
	s.state = seed*0xd1342543de82ef95 ^ uint64(index)*0x9e3779b97f4a7c15
	s.Uint64()
	s.state ^= s.Uint64()
}

func (s *sim) exp(mean float64) float64 { return s.rng.ExpFloat64() * mean }

// after returns tt plus an exponential gap of the given mean (µs), capped at the end of the
// history so that tiny rates cannot overflow int64.
func (s *sim) after(tt int64, mean float64) int64 {
	d := s.exp(mean)
	if d >= float64(s.g.end-tt) {
		return s.g.end
	}
	return tt + int64(d)
}

func (s *sim) gamma(shape, rate float64) float64 {
	return distuv.Gamma{Alpha: shape, Beta: rate, Src: s.src}.Rand()
}

func (s *sim) beta(a, b float64) float64 {
	return distuv.Beta{Alpha: a, Beta: b, Src: s.src}.Rand()
}

func (s *sim) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return int(math.Max(0, math.Round(mean+math.Sqrt(mean)*s.rng.NormFloat64())))
	}
	// Knuth's multiplication method; fine for the small means used here.
	l, k, p := math.Exp(-mean), 0, s.rng.Float64()
	for p > l {
		k++
		p *= s.rng.Float64()
	}
	return k
}

func (s *sim) pick(w []float64) int {
	var tot float64
	for _, x := range w {
		tot += x
	}
	u := s.rng.Float64() * tot
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

func (s *sim) add(e ev) {
	if e.ts < s.g.end {
		s.events = append(s.events, e)
	}
}

// person is everything generated for one person, before it becomes rows.
type person struct {
	index      int
	persona    int
	id, dupID  string
	anonID     string
	email      string
	created    int64
	dupCreated int64
	business   bool
	student    bool
	decision   bool
	income     float64
	attrs      contactRow

	lambda, p, nu float64 // BG/NBD λ (per week), dropout p, Gamma-Gamma ν
	first         int64   // first purchase, 0 when none
	pConvert      float64 // true probability at T, NaN when a customer at T
	customerAtT   bool
	aliveAtT      bool
	pChurn        float64
	nBefore       int
	nHorizon      int
	spendHorizon  float64
	unsubscribed  bool
	identityLink  bool

	treated            bool    // in the campaign's treated group (Options.CampaignShare)
	pControl, pTreated float64 // true P(convert) at T without and with the campaign; NaN for customers
}

func hexID(prefix string, a, b uint64) string {
	var ss splitSource
	ss.seed(a, int(b))
	buf := make([]byte, 0, len(prefix)+16)
	buf = append(buf, prefix...)
	v := ss.Uint64()
	for i := 15; i >= 0; i-- {
		buf = append(buf, "0123456789abcdef"[(v>>(uint(i)*4))&15])
	}
	return string(buf)
}

// simulate generates person index i into s.events / s.txs and returns its summary. The steps
// run in a fixed order because they share one random stream: reordering them, or a draw
// within them, changes every later value (the generator promises identical files per seed).
func (s *sim) simulate(i int) person {
	g := s.g
	s.src.seed(g.o.Seed, i)
	s.events = s.events[:0]
	s.txs = s.txs[:0]
	var pr person
	pr.index = i
	pr.pControl, pr.pTreated = math.NaN(), math.NaN()
	if c := g.campaign; c != nil {
		var cs splitSource
		cs.seed(g.o.Seed^campaignSalt, i)
		pr.treated = float64(cs.Uint64()>>11)/(1<<53) < c.Share
	}
	pr.persona = s.pick(g.weights)
	ps := &g.personas[pr.persona]

	s.identity(&pr, ps)
	h := s.drawHabits(&pr, ps)
	s.web(&pr, ps, h)
	s.email(&pr, ps, h)
	s.touches(&pr, ps, h)
	s.duplicate(&pr)
	slices.SortFunc(s.events, func(x, y ev) int { return int(min(max(x.ts-y.ts, -1), 1)) })
	s.conversion(&pr, ps)
	if pr.treated {
		t := g.tab
		s.add(ev{ts: g.asOf, typ: evCampaign, who: whoContact, channel: t.chEmail, campaign: t.campOffer, value: -1})
	}
	slices.SortFunc(s.events, func(x, y ev) int { return int(min(max(x.ts-y.ts, -1), 1)) })
	return pr
}

// identity draws the person's ids, contact attributes and e-mail address.
func (s *sim) identity(pr *person, ps *Persona) {
	g, t := s.g, s.g.tab
	pr.id = hexID("c-", g.o.Seed, uint64(2*pr.index))
	span := float64(g.asOf - g.start)
	pr.created = g.asOf - int64(span*math.Pow(s.rng.Float64(), ps.CreatedShape)) - 1 - s.rng.Int64N(dayUs)
	pr.created = max(pr.created, g.start)
	pr.student = s.rng.Float64() < ps.StudentShare
	pr.business = !pr.student && s.rng.Float64() < ps.B2BShare
	a := &pr.attrs
	a.ContactID = pr.id
	a.CreatedAt = pr.created
	age := ps.AgeMean + ps.AgeSD*s.rng.NormFloat64()
	if pr.student {
		age = 19 + s.exp(4)
	}
	age = math.Round(math.Max(18, math.Min(90, age)))
	if s.rng.Float64() > 0.08 {
		a.Age = age
	}
	switch u := s.rng.Float64(); {
	case u < 0.07:
	case u < 0.55:
		a.Gender = "female"
	case u < 0.98:
		a.Gender = "male"
	default:
		a.Gender = "nonbinary"
	}
	region := s.pick(ps.Regions[:])
	a.PostalCode = strconv.Itoa(region*10000 + s.rng.IntN(10000) + 100000)[1:]
	regionFactor := 0.85 + 0.05*float64(region%5)
	pr.income = math.Round(math.Exp(ps.IncomeLogMean+ps.IncomeLogSD*s.rng.NormFloat64())*regionFactor/100) * 100
	if pr.student {
		pr.income = math.Round(8000 + s.exp(6000))
	}
	if s.rng.Float64() > 0.15 {
		a.Income = pr.income
	} else {
		pr.income = math.NaN()
	}
	switch {
	case pr.student:
		a.Occupation = "student"
	case age >= 66:
		a.Occupation = "retired"
	case pr.business:
		if s.rng.Float64() < 0.5 {
			a.Occupation = "manager"
		} else {
			a.Occupation = "employee"
		}
	default:
		a.Occupation = t.occupations[s.pick([]float64{5, 1.5, 1, 0.8, 0.6, 0.4})]
	}
	if s.rng.Float64() < 0.05 {
		a.Occupation = ""
	}
	married := s.rng.Float64() < math.Min(0.75, math.Max(0.05, (age-22)/35))
	switch {
	case s.rng.Float64() < 0.1:
	case married && age > 60 && s.rng.Float64() < 0.15:
		a.MaritalStatus = "widowed"
	case married && s.rng.Float64() < 0.15:
		a.MaritalStatus = "divorced"
	case married:
		a.MaritalStatus = "married"
	default:
		a.MaritalStatus = "single"
	}
	if s.rng.Float64() > 0.12 {
		kids := 0
		if age > 25 && age < 75 {
			kids = min(4, s.poisson(b2f(married)*1.4+0.2))
		}
		a.Children = &t.ints[kids]
	}
	first, last := t.firstNames[s.rng.IntN(len(t.firstNames))], t.lastNames[s.rng.IntN(len(t.lastNames))]
	if pr.business {
		ind := s.rng.IntN(len(t.industries))
		if pr.persona == 2 && s.rng.Float64() < 0.5 {
			ind = 5 // researchers: education
		}
		if pr.persona == 5 && s.rng.Float64() < 0.5 {
			ind = 0
		}
		a.CompanyIndustry = t.industries[ind]
		emp := math.Round(math.Exp(3 + 2*s.rng.Float64() + 1.3*s.rng.NormFloat64()))
		if ps.Spend.Gamma > 60 { // personas with big baskets work for bigger companies
			emp *= 4
		}
		a.CompanyEmployees = int64(math.Max(1, emp))
		a.AnnualRevenue = math.Round(float64(a.CompanyEmployees)*(80000+s.exp(120000))/1000) * 1000
		dmShare := 0.2
		switch pr.persona {
		case 1:
			dmShare = 0.6
		case 5:
			dmShare = 0.45
		case 4:
			dmShare = 0.05
		}
		if s.rng.Float64() < dmShare {
			a.JobRole = t.decisionRoles[s.rng.IntN(len(t.decisionRoles))]
			pr.decision = true
		} else if pr.persona == 4 {
			a.JobRole = t.staffRoles[[3]int{1, 2, 4}[s.rng.IntN(3)]]
		} else {
			a.JobRole = t.staffRoles[s.rng.IntN(len(t.staffRoles))]
		}
		pr.email = first + "." + last + strconv.Itoa(pr.index) + "@" + "company" + strconv.Itoa(pr.index%5000) + ".example"
		a.AccountType = "business"
	} else {
		pr.email = first + "." + last + strconv.Itoa(pr.index) + "@" + t.consumerDomains[pr.index%len(t.consumerDomains)]
		a.AccountType = "consumer"
	}
	a.Email = pr.email
}

// habits are per-person draws made after the attributes and before any event (in this order,
// for the random stream); the event steps read them.
type habits struct {
	engage    float64 // multiplies the web, webinar and social rates (Gamma(8, 8), mean 1)
	activeEnd int64   // end of the active period; after it rates fall to the residual
	hasAnon   bool    // browsed anonymously (a cookie) before signing up
	viaForm   bool    // signed up through the web form
	espOnly   bool    // e-mail events carry only the address (an e-mail service export)
}

func (s *sim) drawHabits(pr *person, ps *Persona) habits {
	var h habits
	h.engage = s.gamma(8, 8)
	h.activeEnd = pr.created + int64(s.exp(ps.ActiveWeeks*float64(weekUs)))
	h.hasAnon = s.rng.Float64() < 0.75
	h.viaForm = s.rng.Float64() < 0.65
	h.espOnly = s.rng.Float64() < 0.3
	return h
}

// web adds the sign-up and the web sessions, which come in bursts.
func (s *sim) web(pr *person, ps *Persona, h habits) {
	g, t := s.g, s.g.tab
	begin := pr.created
	if h.hasAnon {
		pr.anonID = hexID("a-", g.o.Seed, uint64(2*pr.index+1))
		begin = pr.created - dayUs - int64(s.exp(20*float64(dayUs)))
		// The visit that led to the sign-up.
		s.session(pr, ps, pr.created-int64(s.rng.Float64()*float64(6*time.Hour/time.Microsecond)), true)
	}
	if h.viaForm {
		w := uint8(whoContact)
		if h.hasAnon {
			w = whoLink
		}
		s.add(ev{ts: pr.created, typ: evFormSubmit, who: w, page: t.pSignup, channel: t.chWeb0})
	} else if h.hasAnon {
		pr.identityLink = true
	}
	rate := ps.BurstRate * h.engage / float64(weekUs)
	for tt := begin; ; {
		r := rate
		if tt >= h.activeEnd {
			r *= ps.ResidualActivity
		}
		if r <= 0 {
			break
		}
		next := s.after(tt, 1/r)
		if tt < h.activeEnd && next >= h.activeEnd { // memoryless restart at the rate change
			tt = h.activeEnd
			continue
		}
		tt = next
		if tt >= g.end {
			break
		}
		n := 1 + s.poisson(ps.SessionsPerBurst-1)
		st := tt
		for range n {
			s.session(pr, ps, st, st < pr.created)
			st += int64(s.exp(1.5 * float64(dayUs)))
		}
	}
}

// email adds opens of the weekly campaigns, clicks and an unsubscribe.
func (s *sim) email(pr *person, ps *Persona, h habits) {
	g, t := s.g, s.g.tab
	emailEng := s.gamma(8, 8)
	emailWho := uint8(whoContact)
	if h.espOnly {
		emailWho = whoEmail
	}
	for tt := pr.created + dayUs; ; {
		r := ps.OpenRate * emailEng / float64(weekUs)
		if tt >= h.activeEnd {
			r *= 0.3 + 0.7*ps.ResidualActivity
		}
		if r <= 0 {
			break
		}
		tt = s.after(tt, 1/r)
		if tt >= g.end {
			break
		}
		camp := t.weekCampaign(tt)
		s.add(ev{ts: tt, typ: evEmailOpen, who: emailWho, channel: t.chEmail, campaign: camp, value: -1})
		if s.rng.Float64() < ps.UnsubHazard {
			s.add(ev{ts: tt + minUs, typ: evUnsubscribe, who: emailWho, channel: t.chEmail, campaign: camp, value: -1})
			pr.unsubscribed = tt+minUs < g.asOf
			break
		}
		if s.rng.Float64() < ps.ClickRate {
			ct := tt + int64(s.exp(10*float64(minUs)))
			page := s.productPage(ps)
			if t.isPromo(camp) && s.rng.Float64() < 0.5 {
				page = t.pPricing
			}
			s.add(ev{ts: ct, typ: evEmailClick, who: emailWho, channel: t.chEmail, campaign: camp, page: page, value: -1})
			if s.rng.Float64() < 0.6 {
				s.add(ev{ts: ct + minUs, typ: evPageView, who: whoContact, channel: t.chEmail, campaign: camp, page: page, value: -1})
			}
		}
	}
}

// touches adds webinars, social interactions and unsolicited surveys.
func (s *sim) touches(pr *person, ps *Persona, h habits) {
	g, t := s.g, s.g.tab
	s.poissonTouches(pr.created, h.activeEnd, ps.WebinarRate*h.engage, ps.ResidualActivity, func(ts int64) {
		w := uint16(s.rng.IntN(nWebinars))
		s.add(ev{ts: ts, typ: evWebinar, who: whoContact, channel: t.chWebinar, campaign: t.webCamp0 + w, page: t.web0 + w, value: -1})
	})
	s.poissonTouches(pr.created, h.activeEnd, ps.SocialRate*h.engage, ps.ResidualActivity, func(ts int64) {
		s.add(ev{ts: ts, typ: evSocial, who: whoContact, channel: t.chSocial + uint8(s.rng.IntN(4)), page: t.blog0 + uint16(s.rng.IntN(int(t.nBlog))), value: -1})
	})
	s.poissonTouches(pr.created, g.end, ps.SurveyRate, 1, func(ts int64) {
		s.add(ev{ts: ts, typ: evSurvey, who: whoContact, channel: t.chEmail, value: s.nps(ps.NPSMean - 1)})
	})
}

// duplicate sometimes adds a duplicate contact row sharing the email, created later, with its
// own sign-up.
func (s *sim) duplicate(pr *person) {
	g, t := s.g, s.g.tab
	if s.rng.Float64() < g.o.DuplicateRate {
		pr.dupID = hexID("c-", g.o.Seed^0x5bd1e995, uint64(pr.index))
		pr.dupCreated = pr.created + 1 + int64(s.rng.Float64()*float64(g.asOf-pr.created-1))
		if pr.dupCreated >= g.asOf {
			pr.dupCreated = g.asOf - 1
		}
		s.add(ev{ts: pr.dupCreated, typ: evFormSubmit, who: whoDuplicate, page: t.pNewsletter, channel: t.chWeb0 + 1, value: -1})
	}
}

// conversion draws the person's BG/NBD and Gamma-Gamma parameters, whether and when they first
// buy, and their purchases.
func (s *sim) conversion(pr *person, ps *Persona) {
	g := s.g
	bg, gg := ps.Purchases, ps.Spend
	pr.lambda = s.gamma(bg.R, bg.Alpha)
	pr.p = s.beta(bg.A, bg.B)
	pr.nu = s.gamma(gg.Q, gg.Gamma)
	pr.pConvert = math.NaN()
	pr.pChurn = math.NaN()
	pr.first = 0
	w0 := g.windows[0]
	if pr.created < w0 && s.rng.Float64() < ps.InitialCustomer {
		pr.first = pr.created + 1 + int64(s.rng.Float64()*float64(w0-pr.created-1))
	} else {
		for wi, ws := range g.windows {
			if pr.created >= ws {
				continue
			}
			f := s.features(pr, ws)
			pc := g.conv.Probability(f)
			if wi == len(g.windows)-1 {
				if c := g.campaign; c != nil {
					// The same uniform draw decides with and without the campaign, so a
					// treated persuadable who would have bought anyway still buys.
					pr.pControl = pc
					pr.pTreated = c.Treated(pc, c.Delta(pr.persona, f, pr.unsubscribed))
					if pr.treated {
						pc = pr.pTreated
					}
				}
				pr.pConvert = pc
			}
			if s.rng.Float64() < pc {
				pr.first = ws + int64(s.rng.Float64()*float64(g.horizon))
				break
			}
		}
	}
	if pr.first != 0 {
		s.purchases(pr, ps, gg)
	}
	pr.customerAtT = pr.first != 0 && pr.first < g.asOf
}

// session adds one web session starting at ts: page views and, for identified visitors,
// forms, downloads, chats and trials.
func (s *sim) session(pr *person, ps *Persona, ts int64, anon bool) {
	t := s.g.tab
	who := uint8(whoContact)
	if anon {
		if pr.anonID == "" {
			return
		}
		who = whoAnonymous
	}
	ch := t.chWeb0 + uint8(s.pick(ps.Channels[:]))
	n := 1 + s.poisson(ps.PagesPerSession-1)
	for range n {
		var page uint16
		switch s.pick(ps.PageMix[:]) {
		case pageHome:
			page = t.pHome
		case pagePricing:
			page = t.pPricing
		case pageDirections:
			page = t.pDirections
		case pageCareers:
			page = t.pCareers
		case pageBlog:
			page = t.blog0 + uint16(s.rng.IntN(int(t.nBlog)))
		case pageProducts:
			page = s.productPage(ps)
		case pageDocs:
			page = t.docs0 + uint16(s.rng.IntN(int(t.nDocs)))
		default:
			page = t.pContact
		}
		s.add(ev{ts: ts, typ: evPageView, who: who, channel: ch, page: page, value: -1})
		ts += int64(s.exp(2 * float64(minUs)))
	}
	if anon {
		return
	}
	if s.rng.Float64() < ps.FormPerSession {
		page := t.pContact
		if s.rng.Float64() < 0.4 {
			page = t.pDemo
		}
		s.add(ev{ts: ts, typ: evFormSubmit, who: who, channel: ch, page: page, value: -1})
	}
	if s.rng.Float64() < ps.DownloadPerSess {
		s.add(ev{ts: ts + minUs, typ: evDownload, who: who, channel: ch, page: t.res0 + uint16(s.rng.IntN(int(t.nRes))), value: -1})
	}
	if s.rng.Float64() < ps.ChatPerSession {
		s.add(ev{ts: ts + 2*minUs, typ: evChat, who: who, channel: ch, page: t.pChat, value: -1})
	}
	tp := ps.TrialPerSession
	if pr.business {
		tp *= 2
	}
	if s.rng.Float64() < tp {
		s.add(ev{ts: ts + 3*minUs, typ: evTrialStart, who: who, channel: ch, page: t.pTrial, value: -1})
	}
}

func (s *sim) productPage(ps *Persona) uint16 {
	t := s.g.tab
	c := s.pick(ps.Categories[:])
	return t.prod0[c] + uint16(s.rng.IntN(int(t.nProd)))
}

// nps draws a survey score around mean.
func (s *sim) nps(mean float64) int8 {
	return int8(math.Max(0, math.Min(10, math.Round(mean+1.8*s.rng.NormFloat64()))))
}

// poissonTouches calls add at the times of a Poisson process of perWeek events per week on
// [from, activeEnd), then residual times that rate until the end of the history.
func (s *sim) poissonTouches(from, activeEnd int64, perWeek, residual float64, add func(int64)) {
	if perWeek <= 0 {
		return
	}
	for tt := from; ; {
		r := perWeek / float64(weekUs)
		if tt >= activeEnd {
			r *= residual
		}
		if r <= 0 {
			return
		}
		next := s.after(tt, 1/r)
		if tt < activeEnd && next >= activeEnd {
			tt = activeEnd
			continue
		}
		if tt = next; tt >= s.g.end {
			return
		}
		add(tt)
	}
}

// features measures a prospect's conversion features from its events before ws. Events are
// sorted by time.
func (s *sim) features(pr *person, ws int64) ConversionFeatures {
	t := s.g.tab
	f := ConversionFeatures{
		DaysSinceLastEvent: math.Inf(1),
		Student:            pr.student,
		Business:           pr.business,
		DecisionMaker:      pr.decision,
		HouseholdIncome:    pr.income,
	}
	d30, d90 := ws-30*dayUs, ws-90*dayUs
	for k := range s.events {
		e := &s.events[k]
		if e.ts >= ws {
			break
		}
		f.DaysSinceLastEvent = float64(ws-e.ts) / float64(dayUs)
		if e.ts < d90 {
			continue
		}
		switch e.typ {
		case evPageView:
			switch {
			case e.page == t.pCareers:
				f.CareersViews90d++
			case e.ts >= d30 && e.page == t.pPricing:
				f.PricingViews30d++
			case e.ts >= d30 && e.page >= t.prod0[0]:
				f.ProductViews30d++
			}
		case evEmailClick:
			if e.ts >= d30 {
				f.EmailClicks30d++
			}
		case evFormSubmit:
			f.FormSubmits90d++
		case evTrialStart:
			f.Trials90d++
		}
	}
	return f
}

// purchases runs the BG/NBD process from the first purchase to the end of the history:
// purchases at rate λ while alive, dropout with probability p after each repeat purchase
// (Fader, Hardie & Lee 2005, section 2). Amounts are Gamma(P, ν) (Fader & Hardie 2013).
func (s *sim) purchases(pr *person, ps *Persona, gg GammaGamma) {
	g, t := s.g, s.g.tab
	lambdaUs := pr.lambda / float64(weekUs)
	alive := true
	var lastBefore int64
	repeatsBefore := 0
	for tt, k := pr.first, 0; ; k++ {
		amount := math.Max(0.01, math.Round(distuv.Gamma{Alpha: gg.P, Beta: pr.nu, Src: s.src}.Rand()*100)/100)
		c := s.pick(ps.Categories[:])
		q := 1 + s.poisson(ps.QuantityMean-1)
		s.txs = append(s.txs, tx{ts: tt, amount: amount, category: uint8(c), item: uint8(s.rng.IntN(int(t.nProd))), quantity: uint8(min(q, 255))})
		ch := t.chWeb0
		if s.rng.Float64() < 0.3 {
			ch = t.chStore
		}
		s.add(ev{ts: tt, typ: evPurchase, who: whoContact, channel: ch, page: t.pCheckout, value: -1})
		if s.rng.Float64() < ps.SurveyAfterPurchase {
			s.add(ev{ts: tt + int64(s.exp(5*float64(dayUs))), typ: evSurvey, who: whoContact, channel: t.chEmail, value: s.nps(ps.NPSMean)})
		}
		switch {
		case tt < g.asOf:
			pr.nBefore++
			lastBefore = tt
			if k > 0 {
				repeatsBefore++
			}
		case tt < g.end:
			pr.nHorizon++
			pr.spendHorizon += amount
		}
		if k > 0 && s.rng.Float64() < pr.p {
			alive = false
			break
		}
		if lambdaUs <= 0 {
			break
		}
		tt = s.after(tt, 1/lambdaUs)
		if tt >= g.end {
			break
		}
	}
	if pr.first >= g.asOf {
		return
	}
	// Alive at T: the process stopped after T, or it is still alive.
	pr.aliveAtT = alive
	if !alive {
		last := s.txs[len(s.txs)-1].ts
		pr.aliveAtT = last >= g.asOf
	}
	// True churn probability given λ, p and the purchases before T: P(alive | x, t_x) is 1
	// with no repeat purchase, else (1−p)e^{−λ(T−t_x)} / ((1−p)e^{−λ(T−t_x)} + p); an alive
	// customer buys in [T, T+H) with probability 1 − e^{−λH}.
	pAlive := 1.0
	if repeatsBefore > 0 {
		surv := (1 - pr.p) * math.Exp(-lambdaUs*float64(g.asOf-lastBefore))
		pAlive = surv / (surv + pr.p)
	}
	pr.pChurn = 1 - pAlive*(1-math.Exp(-lambdaUs*float64(g.horizon)))
}
