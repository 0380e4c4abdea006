package synth

// BGNBD holds the parameters of the BG/NBD purchase-and-dropout process of Fader, Hardie &
// Lee (2005), "Counting your customers the easy way", Marketing Science 24(2): while alive a
// customer buys at Poisson rate λ ~ Gamma(shape R, rate Alpha) per WEEK, and after each repeat
// purchase drops out with probability p ~ Beta(A, B).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// GammaGamma holds the spend model of Fader & Hardie (2013), "The Gamma-Gamma model of
// monetary value": each purchase amount is Gamma(shape P, rate ν) with ν ~ Gamma(shape Q,
// rate Gamma) per customer, so a customer's mean spend is P/ν and E[spend] = P·Gamma/(Q−1).
type GammaGamma struct {
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
}

// Page kinds of the synthetic web site, indexes of Persona.PageMix.
const (
	pageHome = iota
	pagePricing
	pageDirections
	pageCareers
	pageBlog
	pageProducts
	pageDocs
	pageContact
	nPageKinds
)

// PageKinds names the page kinds of Persona.PageMix, in order.
func PageKinds() []string {
	return []string{"/", "/pricing", "/directions", "/careers", "/blog/...", "/products/<category>/...", "/docs/...", "/contact"}
}

// Persona is one latent segment: it drives a person's attributes, web and email behaviour,
// and purchase process. Rates are per week unless stated.
type Persona struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	// Weight is the persona's share of people before normalisation over the personas used.
	Weight float64 `json:"weight"`

	// Attributes.
	B2BShare      float64 `json:"b2b_share"`
	AgeMean       float64 `json:"age_mean"`
	AgeSD         float64 `json:"age_sd"`
	IncomeLogMean float64 `json:"income_log_mean"` // log of yearly household income (B2C)
	IncomeLogSD   float64 `json:"income_log_sd"`
	StudentShare  float64 `json:"student_share"`
	// Regions weights the first digit of the postal code (10 regions).
	Regions [10]float64 `json:"regions"`
	// CreatedShape shapes created_at = T − History·U^CreatedShape: above 1 recent, below 1 old.
	CreatedShape float64 `json:"created_shape"`

	// Web behaviour: bursts of sessions at BurstRate per week, scaled by a Gamma(8, 8)
	// engagement factor, for an Exp(ActiveWeeks) lifetime after creation, then at
	// ResidualActivity times the rate.
	BurstRate        float64               `json:"burst_rate"`
	ActiveWeeks      float64               `json:"active_weeks"`
	ResidualActivity float64               `json:"residual_activity"`
	SessionsPerBurst float64               `json:"sessions_per_burst"`
	PagesPerSession  float64               `json:"pages_per_session"`
	PageMix          [nPageKinds]float64   `json:"page_mix"`
	FormPerSession   float64               `json:"form_per_session"`
	DownloadPerSess  float64               `json:"download_per_session"`
	ChatPerSession   float64               `json:"chat_per_session"`
	TrialPerSession  float64               `json:"trial_per_session"`
	Categories       [nCategories]float64  `json:"category_mix"`
	Channels         [nWebChannels]float64 `json:"channel_mix"`

	// Email: opens per week while subscribed, clicks per open, unsubscribe chance per open.
	OpenRate    float64 `json:"email_open_rate"`
	ClickRate   float64 `json:"email_click_per_open"`
	UnsubHazard float64 `json:"unsubscribe_per_open"`
	// Other touches per week while active.
	WebinarRate float64 `json:"webinar_rate"`
	SocialRate  float64 `json:"social_rate"`
	SurveyRate  float64 `json:"survey_rate"`
	// SurveyAfterPurchase is the chance of a survey after each purchase; NPSMean its mean.
	SurveyAfterPurchase float64 `json:"survey_after_purchase"`
	NPSMean             float64 `json:"nps_mean"`

	// InitialCustomer is the chance of a first purchase before the first conversion window.
	InitialCustomer float64    `json:"initial_customer"`
	Purchases       BGNBD      `json:"bgnbd"`
	Spend           GammaGamma `json:"gamma_gamma"`
	// QuantityMean is the mean number of items per purchase.
	QuantityMean float64 `json:"quantity_mean"`
}

// Product categories and web channels.
const (
	nCategories  = 6
	nWebChannels = 6
)

func categoryNames() [nCategories]string {
	return [nCategories]string{"outdoor", "electronics", "home", "fashion", "software", "services"}
}

func webChannelNames() [nWebChannels]string {
	return [nWebChannels]string{"direct", "organic", "paid_search", "social", "referral", "display"}
}

// Catalog returns the built-in personas; Options.Personas = K uses the first K.
func Catalog() []Persona {
	flat := [10]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	return []Persona{
		{
			ID: 0, Name: "engaged bargain hunters", Weight: 0.25,
			B2BShare: 0.05, AgeMean: 34, AgeSD: 6, IncomeLogMean: 10.6, IncomeLogSD: 0.35, StudentShare: 0.06,
			Regions:      [10]float64{3, 3, 2, 1, 1, 1, 1, 0.5, 0.5, 0.5},
			CreatedShape: 0.9,
			BurstRate:    0.0638, ActiveWeeks: 400, ResidualActivity: 0.7, SessionsPerBurst: 1.6, PagesPerSession: 2.5,
			PageMix:        [nPageKinds]float64{2, 2, 0.2, 0.05, 0.5, 6, 0.1, 0.2},
			FormPerSession: 0.01, DownloadPerSess: 0.005, ChatPerSession: 0.02, TrialPerSession: 0,
			Categories: [nCategories]float64{3, 3, 3, 4, 0.2, 0.2},
			Channels:   [nWebChannels]float64{2, 2, 3, 2, 1, 2},
			OpenRate:   0.408, ClickRate: 0.35, UnsubHazard: 0.002,
			WebinarRate: 0, SocialRate: 0.032, SurveyRate: 0.005, SurveyAfterPurchase: 0.15, NPSMean: 7,
			InitialCustomer: 0.95,
			Purchases:       BGNBD{R: 3, Alpha: 15, A: 0.5, B: 15},
			Spend:           GammaGamma{P: 6, Q: 4, Gamma: 18},
			QuantityMean:    2.2,
		},
		{
			ID: 1, Name: "loyal high spenders", Weight: 0.2,
			B2BShare: 0.4, AgeMean: 56, AgeSD: 7, IncomeLogMean: 11.7, IncomeLogSD: 0.4, StudentShare: 0,
			Regions:      [10]float64{0.5, 0.5, 1, 1, 1, 2, 3, 3, 1, 1},
			CreatedShape: 0.7,
			BurstRate:    0.0956, ActiveWeeks: 300, ResidualActivity: 0.8, SessionsPerBurst: 1.2, PagesPerSession: 2,
			PageMix:        [nPageKinds]float64{2, 0.5, 2, 0.05, 0.3, 3, 1, 0.5},
			FormPerSession: 0.03, DownloadPerSess: 0.01, ChatPerSession: 0.05, TrialPerSession: 0.03,
			Categories: [nCategories]float64{1, 3, 2, 1, 3, 4},
			Channels:   [nWebChannels]float64{5, 2, 0.5, 0.2, 1, 0.2},
			OpenRate:   0.16, ClickRate: 0.1, UnsubHazard: 0.001,
			WebinarRate: 0.01, SocialRate: 0.008, SurveyRate: 0.05, SurveyAfterPurchase: 0.5, NPSMean: 9,
			InitialCustomer: 0.97,
			Purchases:       BGNBD{R: 4, Alpha: 16, A: 0.3, B: 15},
			Spend:           GammaGamma{P: 5, Q: 3, Gamma: 70},
			QuantityMean:    1.3,
		},
		{
			ID: 2, Name: "researchers who never buy", Weight: 0.2,
			B2BShare: 0.3, AgeMean: 24, AgeSD: 3, IncomeLogMean: 10.2, IncomeLogSD: 0.4, StudentShare: 0.6,
			Regions:      [10]float64{1, 1, 1, 3, 3, 1, 1, 1, 1, 1},
			CreatedShape: 1.0,
			BurstRate:    0.0574, ActiveWeeks: 400, ResidualActivity: 0.6, SessionsPerBurst: 1.8, PagesPerSession: 3,
			PageMix:        [nPageKinds]float64{1, 0.15, 0.02, 0.1, 4, 1, 5, 0.1},
			FormPerSession: 0.02, DownloadPerSess: 0.5, ChatPerSession: 0.01, TrialPerSession: 0.004,
			Categories: [nCategories]float64{1, 2, 1, 1, 3, 1},
			Channels:   [nWebChannels]float64{1, 5, 0.5, 1, 2, 0.3},
			OpenRate:   0.066, ClickRate: 0.2, UnsubHazard: 0.004,
			WebinarRate: 0.25, SocialRate: 0.02, SurveyRate: 0.01, SurveyAfterPurchase: 0.1, NPSMean: 6,
			InitialCustomer: 0.02,
			Purchases:       BGNBD{R: 0.3, Alpha: 8, A: 1, B: 2},
			Spend:           GammaGamma{P: 4, Q: 3, Gamma: 20},
			QuantityMean:    1.1,
		},
		{
			ID: 3, Name: "lapsed customers", Weight: 0.2,
			B2BShare: 0.15, AgeMean: 45, AgeSD: 8, IncomeLogMean: 11.0, IncomeLogSD: 0.45, StudentShare: 0.01,
			Regions:      [10]float64{1, 1, 1, 1, 1, 1, 1, 2, 3, 3},
			CreatedShape: 0.2,
			BurstRate:    0.0446, ActiveWeeks: 30, ResidualActivity: 0.02, SessionsPerBurst: 1.3, PagesPerSession: 2.5,
			PageMix:        [nPageKinds]float64{2, 0.5, 1, 0.05, 0.3, 3, 0.5, 1},
			FormPerSession: 0.02, DownloadPerSess: 0.01, ChatPerSession: 0.03, TrialPerSession: 0,
			Categories: [nCategories]float64{3, 2, 3, 2, 0.5, 1},
			Channels:   [nWebChannels]float64{2, 2, 1, 1, 1, 1},
			OpenRate:   0.1056, ClickRate: 0.08, UnsubHazard: 0.03,
			WebinarRate: 0.002, SocialRate: 0.004, SurveyRate: 0.005, SurveyAfterPurchase: 0.25, NPSMean: 4,
			InitialCustomer: 0.9,
			Purchases:       BGNBD{R: 0.7, Alpha: 5, A: 2, B: 1.5},
			Spend:           GammaGamma{P: 5, Q: 3.5, Gamma: 40},
			QuantityMean:    1.5,
		},
		{
			ID: 4, Name: "careers and blog readers", Weight: 0.15,
			B2BShare: 0.8, AgeMean: 36, AgeSD: 4, IncomeLogMean: 10.8, IncomeLogSD: 0.3, StudentShare: 0.02,
			Regions:      [10]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			CreatedShape: 1.6,
			BurstRate:    0.051, ActiveWeeks: 300, ResidualActivity: 0.6, SessionsPerBurst: 1.4, PagesPerSession: 3,
			PageMix:        [nPageKinds]float64{1, 0.05, 0.1, 5, 4, 0.3, 0.5, 0.3},
			FormPerSession: 0.015, DownloadPerSess: 0.01, ChatPerSession: 0.005, TrialPerSession: 0,
			Categories: [nCategories]float64{1, 1, 1, 1, 1, 1},
			Channels:   [nWebChannels]float64{1, 3, 0.5, 4, 2, 0.2},
			OpenRate:   0.0132, ClickRate: 0.1, UnsubHazard: 0.05,
			WebinarRate: 0.005, SocialRate: 0.4, SurveyRate: 0.001, SurveyAfterPurchase: 0.1, NPSMean: 6,
			InitialCustomer: 0.01,
			Purchases:       BGNBD{R: 0.3, Alpha: 10, A: 1, B: 2},
			Spend:           GammaGamma{P: 4, Q: 3, Gamma: 20},
			QuantityMean:    1,
		},
		{
			ID: 5, Name: "B2B evaluators", Weight: 0.12,
			B2BShare: 0.95, AgeMean: 41, AgeSD: 8, IncomeLogMean: 11.2, IncomeLogSD: 0.3, StudentShare: 0,
			Regions:      [10]float64{1, 1, 2, 2, 1, 1, 2, 1, 1, 1},
			CreatedShape: 2.5,
			BurstRate:    0.0638, ActiveWeeks: 26, ResidualActivity: 0.2, SessionsPerBurst: 2, PagesPerSession: 3.5,
			PageMix:        [nPageKinds]float64{1, 3, 0.1, 0.1, 0.5, 2, 3, 1},
			FormPerSession: 0.08, DownloadPerSess: 0.08, ChatPerSession: 0.06, TrialPerSession: 0.12,
			Categories: [nCategories]float64{0.2, 1, 0.2, 0.1, 5, 3},
			Channels:   [nWebChannels]float64{1, 2, 3, 0.5, 2, 1},
			OpenRate:   0.132, ClickRate: 0.25, UnsubHazard: 0.005,
			WebinarRate: 0.08, SocialRate: 0.012, SurveyRate: 0.01, SurveyAfterPurchase: 0.3, NPSMean: 8,
			InitialCustomer: 0.05,
			Purchases:       BGNBD{R: 1.2, Alpha: 20, A: 0.5, B: 5},
			Spend:           GammaGamma{P: 3, Q: 3, Gamma: 300},
			QuantityMean:    1,
		},
		{
			ID: 6, Name: "newsletter skimmers", Weight: 0.15,
			B2BShare: 0.1, AgeMean: 60, AgeSD: 10, IncomeLogMean: 10.9, IncomeLogSD: 0.35, StudentShare: 0,
			Regions:      flat,
			CreatedShape: 0.8,
			BurstRate:    0.0051, ActiveWeeks: 200, ResidualActivity: 0.5, SessionsPerBurst: 1, PagesPerSession: 1.5,
			PageMix:        [nPageKinds]float64{3, 0.3, 1, 0.05, 1, 1, 0.1, 0.2},
			FormPerSession: 0.01, DownloadPerSess: 0.005, ChatPerSession: 0.01, TrialPerSession: 0,
			Categories: [nCategories]float64{2, 1, 3, 2, 0.2, 1},
			Channels:   [nWebChannels]float64{3, 1, 0.5, 0.5, 0.5, 0.2},
			OpenRate:   0.396, ClickRate: 0.03, UnsubHazard: 0.001,
			WebinarRate: 0, SocialRate: 0, SurveyRate: 0.02, SurveyAfterPurchase: 0.2, NPSMean: 7,
			InitialCustomer: 0.15,
			Purchases:       BGNBD{R: 0.5, Alpha: 12, A: 0.8, B: 3},
			Spend:           GammaGamma{P: 5, Q: 4, Gamma: 25},
			QuantityMean:    1.2,
		},
	}
}
