package serving

import (
	"time"

	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/models/scorecard"
)

// Rules is the rule-based (scorecard) block: contributions' points add up to Total, and
// Fit + Engagement + Lifecycle == Total.
type Rules = scorecard.Result

// LTV is the lifetime value block (BG/NBD + Gamma-Gamma).
type LTV = btyd.LTVScore

// Block names: the keys of a score response and the names listed in Response.Unavailable.
const (
	BlockRules      = "rules"
	BlockConversion = "conversion"
	BlockChurn      = "churn"
	BlockLTV        = "ltv"
	BlockPersona    = "persona"
	BlockUplift     = "uplift"
)

// Blocks returns the names of every block a response can hold, in response order.
func Blocks() []string {
	return []string{BlockRules, BlockConversion, BlockChurn, BlockLTV, BlockPersona, BlockUplift}
}

// Response is the score of one contact (docs/contract.md §3). A block whose model is not
// loaded is nil, hence absent from the JSON, and named in Unavailable; it is never zero-filled.
type Response struct {
	ContactID  string      `json:"contact_id"`
	AsOf       time.Time   `json:"as_of"`
	Rules      *Rules      `json:"rules,omitempty"`
	Conversion *Prediction `json:"conversion,omitempty"`
	Churn      *Prediction `json:"churn,omitempty"`
	LTV        *LTV        `json:"ltv,omitempty"`
	Persona    *Persona    `json:"persona,omitempty"`
	Uplift     *Uplift     `json:"uplift,omitempty"`
	// Unavailable names the blocks left out, in response order; never null.
	Unavailable []string `json:"unavailable"`
	// UnavailableReasons says why each block of Unavailable is left out, in the same order;
	// never null.
	UnavailableReasons []Unavailability `json:"unavailable_reasons"`
	// Warnings names what the models did not get as sent: model inputs missing from the
	// profile, attributes nothing reads, values of the wrong type; never null.
	Warnings []Warning `json:"warnings"`
}

// Reasons of Unavailability.
const (
	// ReasonNotLoaded: no model of the block is loaded; no contact gets the block.
	ReasonNotLoaded = "not_loaded"
	// ReasonNoAnswer: the model is loaded but has no answer for this contact (LTV of a
	// contact without purchases, no scorecard audience matching, none of the model's inputs
	// in the profile).
	ReasonNoAnswer = "no_answer"
)

// Unavailability says why a block is left out of a response.
type Unavailability struct {
	Block string `json:"block"`
	// Reason is ReasonNotLoaded or ReasonNoAnswer.
	Reason string `json:"reason"`
	// Message says it in words.
	Message string `json:"message"`
}

// Warning codes.
const (
	// WarnMissingInput: an attribute a loaded model reads is not in the profile (or null);
	// the model takes it as missing.
	WarnMissingInput = "missing_input"
	// WarnUnknownAttribute: no loaded model or scorecard reads the attribute.
	WarnUnknownAttribute = "unknown_attribute"
	// WarnWrongType: a value a model reads as a number is not one ("age": "forty"); the
	// model takes it as missing.
	WarnWrongType = "wrong_type"
)

// Warning names one thing of a profile the models did not get as sent.
type Warning struct {
	// Field is the profile's field, such as "attributes.age".
	Field string `json:"field"`
	// Code is one of the Warn* codes.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Prediction is a calibrated probability block (conversion, churn).
type Prediction struct {
	Probability float64 `json:"probability"`
	// Decile is 1 (highest scores) to 10 against the training scores; 0 when the model does
	// not record them, and then omitted.
	Decile       int      `json:"decile,omitempty"`
	ModelVersion string   `json:"model_version"`
	Reasons      []Reason `json:"reasons"`
}

// Reason is one feature's contribution to a prediction, on the model's link scale.
type Reason struct {
	Feature string  `json:"feature"`
	Value   any     `json:"value"`
	Effect  float64 `json:"effect"`
}

// Uplift is the estimated effect of the campaign an uplift model was trained on
// (docs/models.md): how much contacting this contact changes its probability of the outcome.
type Uplift struct {
	// Effect is the estimated change of the outcome's probability if treated, in [−1, 1].
	Effect float64 `json:"effect"`
	// Decile is 1 (highest estimated effects) to 10 against the held-out estimates of training.
	Decile int `json:"decile"`
	// Group is "persuadable" or "sleeping_dog" when contacts of this decile showed, on
	// held-out rows, an effect whose interval (95%, Bonferroni-corrected over the ten
	// deciles) excludes zero (positive or negative); omitted otherwise.
	Group        string `json:"group,omitempty"`
	ModelVersion string `json:"model_version"`
}

// Persona is the segment a contact falls in.
type Persona struct {
	ID       int     `json:"id"`
	Name     string  `json:"name"`
	Distance float64 `json:"distance"`
}
