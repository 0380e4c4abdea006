package synth

import "math"

// CampaignEventType is the event type of the simulated campaign's treatment: one event per
// treated contact, at as-of T, carrying the contact id. It is not a canonical type: feature
// tables count it among other events, and only from snapshots after T.
const CampaignEventType = "campaign_offer"

// CampaignName is the campaign column of the treatment events.
const CampaignName = "uplift-offer"

// Uplift groups of truth.parquet's uplift_group column: the four classic groups of
// potential outcomes (Radcliffe & Surry 2011), assigned from the true probabilities without
// and with the campaign (GroupThreshold).
const (
	GroupPersuadable = "persuadable"  // τ ≥ GroupThreshold: buys because of the campaign
	GroupSureThing   = "sure_thing"   // |τ| < GroupThreshold and P(buy) ≥ 0.5 either way
	GroupLostCause   = "lost_cause"   // |τ| < GroupThreshold and P(buy) < 0.5
	GroupSleepingDog = "sleeping_dog" // τ ≤ −GroupThreshold: the campaign puts them off
)

// GroupThreshold is the smallest true effect |τ| (in probability) that makes a contact a
// persuadable or a sleeping dog rather than a sure thing or a lost cause.
const GroupThreshold = 0.03

// CampaignModel is the true effect of the randomised campaign (a discount offer by email) on
// a prospect's conversion in [T, T+H). A treated prospect converts with probability
// σ(z + δ), where z is the logit of ConversionModel's probability and δ depends on the
// prospect's behaviour before T (ConversionFeatures), persona and attributes:
//
//	0                  unsubscribed, or no event in the StaleDays before T (never read)
//	0                  in a trial (Trials90d ≥ 1), business decision maker: buys anyway
//	TrialInterrupted   in a trial, anyone else: the discount in mid-trial puts them off
//	0                  PricingViews30d ≥ 2, business: already decided
//	Postpone           PricingViews30d ≥ 2, consumer: waits for a better offer, past H
//	AskedForCall       FormSubmits90d ≥ 1, not a decision maker: asked to be called, got a
//	                   mass e-mail
//	PersonaScale[persona] · Considering
//	                   PricingViews30d = 1 or ProductViews30d ≥ 3: weighing a purchase
//	0                  EmailClicks30d ≥ 1: reads the e-mails and decides anyway
//	PersonaScale[persona] · Consumer
//	                   other consumers
//	0                  other business contacts
//
// The first matching line applies. High-intent prospects (trials, repeated pricing views),
// whom a conversion model ranks first, gain nothing or are put off, while the persuadables
// sit in the middle of the conversion ranking. The true individual effect is
// τ = σ(z + δ) − σ(z).
type CampaignModel struct {
	Share            float64   `json:"share"` // share of contacts treated, at random
	EventType        string    `json:"event_type"`
	StaleDays        float64   `json:"stale_days"`
	TrialInterrupted float64   `json:"trial_interrupted"`
	Postpone         float64   `json:"postpone"`
	AskedForCall     float64   `json:"asked_for_call"`
	Considering      float64   `json:"considering"`
	Consumer         float64   `json:"consumer"`
	PersonaScale     []float64 `json:"persona_scale"` // by persona id
}

// DefaultCampaign returns the campaign effect Generate uses, treating share of contacts.
func DefaultCampaign(share float64) CampaignModel {
	return CampaignModel{
		Share: share, EventType: CampaignEventType, StaleDays: 120,
		TrialInterrupted: -2.5, Postpone: -1.5, AskedForCall: -2.5, Considering: 2.0, Consumer: 0.8,
		// bargain hunters answer an offer most; researchers who never buy and careers
		// readers barely.
		PersonaScale: []float64{1.3, 0.8, 0.3, 1.0, 0.2, 1.0, 0.7},
	}
}

// Delta returns the logit shift δ of a treated prospect of the persona with features f, who
// has (or has not) unsubscribed before T.
func (c CampaignModel) Delta(persona int, f ConversionFeatures, unsubscribed bool) float64 {
	scale := 1.0
	if persona < len(c.PersonaScale) {
		scale = c.PersonaScale[persona]
	}
	switch {
	case unsubscribed || !(f.DaysSinceLastEvent <= c.StaleDays):
		return 0
	case f.Trials90d >= 1 && f.Business && f.DecisionMaker:
		return 0
	case f.Trials90d >= 1:
		return c.TrialInterrupted
	case f.PricingViews30d >= 2 && f.Business:
		return 0
	case f.PricingViews30d >= 2:
		return c.Postpone
	case f.FormSubmits90d >= 1 && !f.DecisionMaker:
		return c.AskedForCall
	case f.PricingViews30d == 1 || f.ProductViews30d >= 3:
		return scale * c.Considering
	case f.EmailClicks30d >= 1:
		return 0
	case !f.Business:
		return scale * c.Consumer
	}
	return 0
}

// Treated returns the conversion probability of a treated prospect whose untreated
// probability is p0.
func (c CampaignModel) Treated(p0, delta float64) float64 {
	if delta == 0 {
		return p0
	}
	z := math.Log(p0) - math.Log1p(-p0)
	return 1 / (1 + math.Exp(-(z + delta)))
}

// UpliftGroup names the group of a prospect with untreated and treated probabilities p0, p1.
func UpliftGroup(p0, p1 float64) string {
	tau := p1 - p0
	switch {
	case tau >= GroupThreshold:
		return GroupPersuadable
	case tau <= -GroupThreshold:
		return GroupSleepingDog
	case p0 >= 0.5:
		return GroupSureThing
	}
	return GroupLostCause
}

// campaignSalt separates the campaign's random stream from the person's, so that turning the
// campaign on leaves every other draw, and the untreated contacts' histories, unchanged.
const campaignSalt = 0x6a09e667f3bcc909

// campaignTruthRow is truth.parquet's row when a campaign is simulated.
type campaignTruthRow struct {
	truthRow
	Treated     bool     `parquet:"treated"`
	PControl    *float64 `parquet:"p_control,optional"`
	PTreated    *float64 `parquet:"p_treated,optional"`
	Tau         *float64 `parquet:"tau,optional"`
	UpliftGroup string   `parquet:"uplift_group,optional,dict"`
}

// CampaignSummary counts the simulated campaign's contacts.
type CampaignSummary struct {
	Treated   int64            `json:"treated"`
	Control   int64            `json:"control"`
	Prospects map[string]int64 `json:"prospects_by_group"` // prospects at T per uplift group
	// MeanTau is the average true effect over prospects at T (the average treatment effect).
	MeanTau float64 `json:"mean_tau"`
	// ConvertedTreated and ConvertedControl are the conversion rates of treated and control
	// prospects in [T, T+H).
	ConvertedTreated float64 `json:"conversion_rate_treated"`
	ConvertedControl float64 `json:"conversion_rate_control"`
}

// floatsPerPerson is the room a person takes in chunk.floats: p_churn, p_convert, then
// p_control, p_treated and tau.
const floatsPerPerson = 5

// truthWriter is the truth file's writer, of truthRow or campaignTruthRow.
type truthWriter interface{ Close() error }

// campaignTruth extends tr with the campaign's columns, pointing into buf (3 floats).
func (g *generator) campaignTruth(tr truthRow, pr *person, buf []float64) campaignTruthRow {
	r := campaignTruthRow{truthRow: tr, Treated: pr.treated}
	if !math.IsNaN(pr.pControl) {
		buf[0], buf[1], buf[2] = pr.pControl, pr.pTreated, pr.pTreated-pr.pControl
		r.PControl, r.PTreated, r.Tau = &buf[0], &buf[1], &buf[2]
		r.UpliftGroup = UpliftGroup(pr.pControl, pr.pTreated)
	}
	return r
}

// campaignAcc gathers CampaignSummary in write order.
type campaignAcc struct {
	treated, control     int64
	groups               map[string]int64
	tauSum               float64
	prospects            int64
	convT, nT, convC, nC int64
}

func (a *campaignAcc) add(pr *person) {
	if pr.treated {
		a.treated++
	} else {
		a.control++
	}
	if math.IsNaN(pr.pControl) {
		return
	}
	if a.groups == nil {
		a.groups = map[string]int64{}
	}
	a.groups[UpliftGroup(pr.pControl, pr.pTreated)]++
	a.tauSum += pr.pTreated - pr.pControl
	a.prospects++
	conv := int64(b2i(pr.nHorizon > 0))
	if pr.treated {
		a.nT++
		a.convT += conv
	} else {
		a.nC++
		a.convC += conv
	}
}

func (a *campaignAcc) summary() *CampaignSummary {
	s := &CampaignSummary{Treated: a.treated, Control: a.control, Prospects: a.groups}
	if s.Prospects == nil {
		s.Prospects = map[string]int64{}
	}
	if a.prospects > 0 {
		s.MeanTau = a.tauSum / float64(a.prospects)
	}
	if a.nT > 0 {
		s.ConvertedTreated = float64(a.convT) / float64(a.nT)
	}
	if a.nC > 0 {
		s.ConvertedControl = float64(a.convC) / float64(a.nC)
	}
	return s
}
