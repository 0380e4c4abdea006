package synth

import (
	"fmt"
	"strconv"
	"time"

	"github.com/propensity-dev/propensity/internal/eventtype"
)

// Event types (canonical, docs/contract.md §1), indexes into EventTypes(); TestEventCodes ties them
// to the names.
const (
	evPageView = iota
	evEmailOpen
	evEmailClick
	evUnsubscribe
	evFormSubmit
	evDownload
	evWebinar
	evChat
	evSocial
	evTrialStart
	evSurvey
	evPurchase
	nEventTypes
	evCampaign = nEventTypes // CampaignEventType, after the canonical types
)

// EventTypes returns the canonical event types Generate emits.
func EventTypes() []string { return eventtype.Canonical() }

// tables holds the interned strings of one generation run, so that events reference them by
// index and no string is built per event.
type tables struct {
	types    []string
	pages    []string // index 0 is "" (no page)
	channels []string // index 0 is ""
	camps    []string // index 0 is ""

	pHome, pPricing, pDirections, pCareers, pContact, pDemo, pSignup, pNewsletter, pTrial, pCheckout, pChat uint16
	blog0, nBlog, docs0, nDocs, res0, nRes, web0, nWeb                                                      uint16
	prod0                                                                                                   [nCategories]uint16
	nProd                                                                                                   uint16

	chWeb0    uint8 // first of the nWebChannels web channels
	chEmail   uint8
	chSocial  uint8 // first of 4 social networks
	chStore   uint8
	chWebinar uint8

	weekCamp0 uint16 // campaign of week w is weekCamp0 + w
	nWeeks    int
	webCamp0  uint16 // webinar campaigns
	campOffer uint16 // CampaignName
	weekStart int64  // micros of week 0

	products [nCategories][]string
	cats     [nCategories]string

	firstNames, lastNames, consumerDomains, industries []string
	decisionRoles, staffRoles, occupations             []string

	nps  [11]float64
	ints [8]int64
	bits [2]int32
}

const nWebinars = 24

func newTables(start, end int64) *tables {
	t := &tables{types: append(EventTypes(), CampaignEventType), pages: []string{""}, channels: []string{""}, camps: []string{""}}
	add := func(p string) uint16 { t.pages = append(t.pages, p); return uint16(len(t.pages) - 1) }
	t.pHome = add("/")
	t.pPricing = add("/pricing")
	t.pDirections = add("/directions")
	t.pCareers = add("/careers")
	t.pContact = add("/contact")
	t.pDemo = add("/demo")
	t.pSignup = add("/signup")
	t.pNewsletter = add("/newsletter")
	t.pTrial = add("/trial")
	t.pCheckout = add("/checkout")
	t.pChat = add("/support/chat")
	topics := []string{"pricing-guide", "roi", "case-study", "how-to", "release-notes", "industry-report",
		"tips", "comparison", "interview", "culture", "engineering", "hiring", "events", "sustainability"}
	t.blog0 = uint16(len(t.pages))
	for i := range 60 {
		add(fmt.Sprintf("/blog/%s-%d", topics[i%len(topics)], i))
	}
	t.nBlog = 60
	t.docs0 = uint16(len(t.pages))
	for i := range 30 {
		add("/docs/guide-" + strconv.Itoa(i))
	}
	t.nDocs = 30
	t.res0 = uint16(len(t.pages))
	for i := range 20 {
		add("/resources/whitepaper-" + strconv.Itoa(i))
	}
	t.nRes = 20
	t.web0 = uint16(len(t.pages))
	for i := range nWebinars {
		add("/webinars/session-" + strconv.Itoa(i))
	}
	t.nWeb = nWebinars
	t.cats = categoryNames()
	t.nProd = 25
	for c, name := range t.cats {
		t.prod0[c] = uint16(len(t.pages))
		for i := range int(t.nProd) {
			sku := fmt.Sprintf("%s-%02d", name, i)
			add("/products/" + name + "/" + sku)
			t.products[c] = append(t.products[c], sku)
		}
	}

	t.chWeb0 = uint8(len(t.channels))
	for _, c := range webChannelNames() {
		t.channels = append(t.channels, c)
	}
	t.chEmail = uint8(len(t.channels))
	t.channels = append(t.channels, "email")
	t.chSocial = uint8(len(t.channels))
	t.channels = append(t.channels, "linkedin", "twitter", "facebook", "instagram")
	t.chStore = uint8(len(t.channels))
	t.channels = append(t.channels, "store")
	t.chWebinar = uint8(len(t.channels))
	t.channels = append(t.channels, "webinar")

	week := int64(7 * 24 * time.Hour / time.Microsecond)
	t.weekStart = start - week
	t.nWeeks = int((end-t.weekStart)/week) + 2
	t.weekCamp0 = uint16(len(t.camps))
	kinds := []string{"newsletter", "promo", "product-news", "promo", "newsletter", "seasonal-sale"}
	for w := range t.nWeeks {
		ws := time.UnixMicro(t.weekStart + int64(w)*week).UTC()
		y, wk := ws.ISOWeek()
		t.camps = append(t.camps, fmt.Sprintf("%s-%d-w%02d", kinds[w%len(kinds)], y, wk))
	}
	t.webCamp0 = uint16(len(t.camps))
	for i := range nWebinars {
		t.camps = append(t.camps, "webinar-"+strconv.Itoa(i))
	}
	t.campOffer = uint16(len(t.camps))
	t.camps = append(t.camps, CampaignName)
	t.firstNames = []string{"anna", "ben", "carla", "david", "eva", "felix", "gina", "hugo", "ines", "jonas",
		"kira", "leon", "maria", "noah", "olga", "paul", "quinn", "rosa", "sam", "tara", "uwe", "vera", "wim", "xena", "yara", "zoe"}
	t.lastNames = []string{"meyer", "schmidt", "garcia", "rossi", "martin", "novak", "jensen", "smith", "kowalski",
		"dubois", "silva", "nagy", "murphy", "berg", "costa", "weber", "lopez", "fischer", "moreau", "bianchi"}
	t.consumerDomains = []string{"mail.example", "inbox.example", "post.example", "webmail.example"}
	t.industries = []string{"software", "retail", "manufacturing", "finance", "healthcare", "education",
		"logistics", "hospitality", "public sector", "media"}
	t.decisionRoles = []string{"owner", "c-level", "vp", "director"}
	t.staffRoles = []string{"manager", "analyst", "engineer", "specialist", "recruiter", "consultant"}
	t.occupations = []string{"employee", "self-employed", "manager", "civil servant", "homemaker", "unemployed"}
	for i := range t.nps {
		t.nps[i] = float64(i)
	}
	for i := range t.ints {
		t.ints[i] = int64(i)
	}
	t.bits = [2]int32{0, 1}
	return t
}

// weekCampaign returns the campaign index of the weekly email sent before ts.
func (t *tables) weekCampaign(ts int64) uint16 {
	w := int((ts - t.weekStart) / int64(7*24*time.Hour/time.Microsecond))
	w = max(0, min(w, t.nWeeks-1))
	return t.weekCamp0 + uint16(w)
}

// isPromo reports whether a campaign index is a promotion (its clicks land on /pricing or a
// product page).
func (t *tables) isPromo(c uint16) bool {
	if c < t.weekCamp0 || c >= t.weekCamp0+uint16(t.nWeeks) {
		return false
	}
	k := (c - t.weekCamp0) % 6
	return k == 1 || k == 3 || k == 5
}
