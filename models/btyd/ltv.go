package btyd

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// DaysPerYear is the length of the year used to turn an annual discount rate into a
// discount factor: 365.25 days.
const DaysPerYear = 365.25

// clvStepDays is the length of the discounting steps of CLV: one month (30.4375 days).
const clvStepDays = 30.4375

// ErrNoPurchases is returned when scoring a customer without any purchase before the
// as-of time: such a person is not (yet) in the population the model describes.
var ErrNoPurchases = errors.New("btyd: no purchases before the as-of time")

// Summary is one customer's purchase history in the sufficient statistics of the models,
// in the Period of the model that scores it.
type Summary struct {
	X        float64 `json:"x"`        // repeat purchase days (distinct purchase days − 1)
	TX       float64 `json:"t_x"`      // last purchase day − first purchase day
	T        float64 `json:"T"`        // calibration end (last day included) − first purchase day
	Monetary float64 `json:"monetary"` // mean amount of the repeat purchase days (0 when X = 0)
}

// Purchase is one transaction.
type Purchase struct {
	Time   time.Time
	Amount float64
}

// DayNumber returns the UTC calendar day of t as days since 1970-01-01.
func DayNumber(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// Summarize turns one customer's purchases into a Summary as of asOf, with the same
// conventions as the training job (those of the lifetimes package and of Fader, Hardie &
// Lee 2005): only purchases with Time < asOf are used (the point-in-time rule); purchases
// on the same UTC day are one purchase whose amount is their sum; x is the number of
// purchase days after the first; t_x and T run from the first purchase day to the last
// purchase day and to the last day before asOf (the inclusive calibration end), in periods;
// monetary is the mean amount of the repeat purchase days. Amounts must be finite.
// It returns ErrNoPurchases when no purchase precedes asOf.
func Summarize(purchases []Purchase, asOf time.Time, period Period) (Summary, error) {
	if !period.valid() {
		return Summary{}, fmt.Errorf("%w: %v days", ErrPeriod, float64(period))
	}
	days := map[int64]float64{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for i, p := range purchases {
		if !p.Time.Before(asOf) {
			continue
		}
		if math.IsNaN(p.Amount) || math.IsInf(p.Amount, 0) {
			return Summary{}, &InputError{Field: "amount", Row: i, Value: p.Amount, Want: "a finite amount"}
		}
		d := DayNumber(p.Time)
		days[d] += p.Amount
		first, last = min(first, d), max(last, d)
	}
	if len(days) == 0 {
		return Summary{}, ErrNoPurchases
	}
	end := DayNumber(asOf.Add(-time.Nanosecond))
	// Sum in day order: map order would make the last bits of monetary, and so of CLV,
	// differ from run to run.
	order := slices.Sorted(maps.Keys(days))
	var sum float64
	for _, d := range order[1:] {
		sum += days[d]
	}
	s := Summary{
		X:  float64(len(days) - 1),
		TX: float64(last-first) / period.Days(),
		T:  float64(end-first) / period.Days(),
	}
	if s.X > 0 {
		s.Monetary = sum / s.X
	}
	return s, nil
}

// LTVModel combines a BG/NBD and a Gamma-Gamma model into lifetime-value scores over a
// horizon. It is the payload of the "ltv" artifact.
type LTVModel struct {
	// PeriodDays is the length in days of the period both models were fitted in.
	PeriodDays float64 `json:"period_days"`
	// HorizonDays is the CLV and expected-purchases horizon in days.
	HorizonDays float64 `json:"horizon_days"`
	// AnnualDiscount is the yearly discount rate of CLV (0.1 = 10% a year; 0 = none).
	AnnualDiscount float64    `json:"annual_discount"`
	BGNBD          BGNBD      `json:"bgnbd"`
	GammaGamma     GammaGamma `json:"gamma_gamma"`
	// ModelVersion identifies the fitted model (set from the artifact manifest on load).
	ModelVersion string `json:"model_version,omitempty"`
}

// LTVScore is the "ltv" block of a score response (docs/contract.md §3).
type LTVScore struct {
	PAlive                   float64 `json:"p_alive"`
	ExpectedPurchases        float64 `json:"expected_purchases"`
	ExpectedSpendPerPurchase float64 `json:"expected_spend_per_purchase"`
	CLV                      float64 `json:"clv"`
	HorizonDays              float64 `json:"horizon_days"`
	ModelVersion             string  `json:"model_version"`
}

// Period returns the model's time unit.
func (m *LTVModel) Period() Period { return Period(m.PeriodDays) }

// Validate checks that every parameter is finite and in range, so that a model decoded from
// a file cannot produce NaN scores. It reports all problems at once.
func (m *LTVModel) Validate() error {
	var errs []error
	pos := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s = %v, want a finite number > 0", name, v))
		}
	}
	pos("period_days", m.PeriodDays)
	pos("horizon_days", m.HorizonDays)
	pos("bgnbd.r", m.BGNBD.R)
	pos("bgnbd.alpha", m.BGNBD.Alpha)
	pos("bgnbd.a", m.BGNBD.A)
	pos("bgnbd.b", m.BGNBD.B)
	pos("gamma_gamma.p", m.GammaGamma.P)
	pos("gamma_gamma.q", m.GammaGamma.Q)
	pos("gamma_gamma.v", m.GammaGamma.V)
	if !(m.AnnualDiscount >= 0) || math.IsInf(m.AnnualDiscount, 0) {
		errs = append(errs, fmt.Errorf("annual_discount = %v, want a finite number >= 0", m.AnnualDiscount))
	}
	if !(m.GammaGamma.MeanSpend >= 0) || math.IsInf(m.GammaGamma.MeanSpend, 0) {
		errs = append(errs, fmt.Errorf("gamma_gamma.mean_spend = %v, want a finite number >= 0", m.GammaGamma.MeanSpend))
	}
	if m.HorizonDays > 100*DaysPerYear {
		errs = append(errs, fmt.Errorf("horizon_days = %v, want at most 100 years", m.HorizonDays))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: ltv model: %w", ErrInput, errors.Join(errs...))
	}
	return nil
}

// DiscountedExpectedPurchases returns the discounted expected number of purchases over the
// horizon for a customer with history (x, tx, T) (periods):
//
//	DEP = Σ_{i=1..k} (E[Y(t_i)|·] − E[Y(t_{i−1})|·]) · (1+d)^(−t_i/365.25)
//
// with t_i the end of the i-th month (30.4375 days; the last step ends at the horizon),
// E[Y(t)|·] the BG/NBD conditional expectation, d the annual discount rate and each step's
// purchases discounted at its end. This is the discrete form of the discounted expected
// residual transactions (DERT) of Fader, Hardie & Lee (2005, "RFM and CLV: using iso-value
// curves for customer base analysis", Journal of Marketing Research 42(4):415-430), with
// time converted through days so the result does not depend on the period.
func (m *LTVModel) DiscountedExpectedPurchases(x, tx, T float64) float64 {
	_, dep := m.HorizonPurchases(x, tx, T)
	return dep
}

// HorizonPurchases returns both the expected purchases over the horizon, E[Y(h)|x, t_x, T],
// and their discounted value (see DiscountedExpectedPurchases), sharing the work.
func (m *LTVModel) HorizonPurchases(x, tx, T float64) (expected, discounted float64) {
	pd := m.PeriodDays
	if m.AnnualDiscount == 0 {
		e := m.BGNBD.ConditionalExpectedPurchases(m.HorizonDays/pd, x, tx, T)
		return e, e
	}
	var dep, prev float64
	for d := 0.0; d < m.HorizonDays; {
		d = math.Min(d+clvStepDays, m.HorizonDays)
		e := m.BGNBD.ConditionalExpectedPurchases(d/pd, x, tx, T)
		dep += (e - prev) * math.Pow(1+m.AnnualDiscount, -d/DaysPerYear)
		prev = e
	}
	return prev, dep
}

// Score returns the LTV block for a customer summary (in the model's period): P(alive) at
// T, expected purchases over the horizon, expected spend per purchase (Gamma-Gamma) and
// CLV = expected spend × discounted expected purchases. A summary that does not describe a
// customer (negative, non-finite or t_x > T) is clamped into range rather than scored as
// NaN; callers validate input first.
func (m *LTVModel) Score(s Summary) LTVScore {
	x, tx, T := s.X, s.TX, s.T
	if !(x >= 0) || math.IsInf(x, 0) {
		x = 0
	}
	x = math.Floor(x)
	if !(T >= 0) || math.IsInf(T, 0) {
		T = 0
	}
	if !(tx >= 0) || tx > T || x == 0 {
		tx = math.Min(math.Max(tx, 0), T)
		if !(tx >= 0) || x == 0 {
			tx = 0
		}
	}
	spend := m.GammaGamma.ConditionalExpectedSpend(x, s.Monetary)
	e, dep := m.HorizonPurchases(x, tx, T)
	return LTVScore{
		PAlive:                   m.BGNBD.PAlive(x, tx, T),
		ExpectedPurchases:        e,
		ExpectedSpendPerPurchase: spend,
		CLV:                      spend * dep,
		HorizonDays:              m.HorizonDays,
		ModelVersion:             m.ModelVersion,
	}
}

// ScoreHistory scores one customer from raw purchases as of asOf (see Summarize for the
// conventions). It returns ErrNoPurchases when there is no purchase before asOf.
func (m *LTVModel) ScoreHistory(purchases []Purchase, asOf time.Time) (LTVScore, error) {
	s, err := Summarize(purchases, asOf, m.Period())
	if err != nil {
		return LTVScore{}, err
	}
	return m.Score(s), nil
}
