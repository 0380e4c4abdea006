package ltv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/models/btyd"
)

// Errors of the job. ErrData marks input that cannot be modelled (bad rows, nobody
// purchasing twice, ...) as opposed to a failure while running.
var (
	ErrOptions = errors.New("ltv: invalid options")
	ErrData    = errors.New("ltv: unusable data")
)

// Options configures the job. The zero value of each field means the default in its comment.
type Options struct {
	// Transactions is the transactions file (Parquet, a directory of Parquet parts, or CSV).
	Transactions string
	// Columns maps the customer, time and amount columns (default contact_id, ts, amount).
	Columns Columns
	// CalibrationEnd is the last day of the calibration period, inclusive. Required.
	CalibrationEnd time.Time
	// HoldoutEnd, when after CalibrationEnd, is the last day (inclusive) of the holdout
	// period used to evaluate the forecast. Default: no holdout.
	HoldoutEnd time.Time
	// Period is the model's time unit. Default btyd.Week.
	Period btyd.Period
	// HorizonDays is the horizon of expected purchases and CLV. Default 364 (52 weeks).
	HorizonDays float64
	// AnnualDiscount is the yearly discount rate of CLV (0.1 = 10%). Default 0: none.
	AnnualDiscount float64
	// Out, when set, is the directory receiving customers.parquet, customers.csv,
	// report.html, result.json and the model artifact (manifest.json, model.json): a models
	// directory's ltv/.
	Out string
	// Fit tunes the maximum-likelihood fits (nil: defaults).
	Fit *btyd.Settings
	// Tiers sets the value-tier rules.
	Tiers TierSettings
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

func (o *Options) withDefaults() {
	if o.Period == 0 {
		o.Period = btyd.Week
	}
	if o.HorizonDays == 0 {
		o.HorizonDays = 364
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with the options (defaults applied) at once.
func (o Options) Validate() error {
	o.withDefaults()
	var errs []error
	if o.CalibrationEnd.IsZero() {
		errs = append(errs, errors.New("calibration end is required"))
	} else if err := features.CheckTime(o.CalibrationEnd); err != nil {
		errs = append(errs, fmt.Errorf("calibration end: %w", err))
	}
	if !o.HoldoutEnd.IsZero() {
		if err := features.CheckTime(o.HoldoutEnd); err != nil {
			errs = append(errs, fmt.Errorf("holdout end: %w", err))
		}
	}
	if !o.HoldoutEnd.IsZero() && !o.HoldoutEnd.After(o.CalibrationEnd) {
		errs = append(errs, fmt.Errorf("holdout end %s is not after the calibration end %s", day(o.HoldoutEnd), day(o.CalibrationEnd)))
	}
	if !(o.Period > 0) || math.IsInf(float64(o.Period), 0) {
		errs = append(errs, fmt.Errorf("period %v days, want > 0", float64(o.Period)))
	}
	if !(o.HorizonDays > 0) || o.HorizonDays > 100*btyd.DaysPerYear {
		errs = append(errs, fmt.Errorf("horizon %v days, want in (0, 100 years]", o.HorizonDays))
	}
	if !(o.AnnualDiscount >= 0) || o.AnnualDiscount > 10 {
		errs = append(errs, fmt.Errorf("annual discount %v, want in [0, 10]", o.AnnualDiscount))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	return nil
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Result is the job's outcome; it is also the JSON printed by `propensity ltv --json`.
type Result struct {
	// Build is the propensity build that fitted the model (propensity version).
	Build                buildinfo.Info    `json:"build"`
	Customers            int               `json:"customers"`
	Transactions         int               `json:"transactions"`
	SkippedRows          int64             `json:"skipped_rows"`
	AfterCalibrationOnly int               `json:"customers_after_calibration_only"`
	Period               string            `json:"period"`
	PeriodDays           float64           `json:"period_days"`
	CalibrationEnd       string            `json:"calibration_end"`
	HoldoutEnd           string            `json:"holdout_end,omitempty"`
	BGNBD                *btyd.BGNBD       `json:"bgnbd"`
	GammaGamma           *GammaGammaResult `json:"gamma_gamma"`
	Holdout              *Holdout          `json:"holdout,omitempty"`
	HorizonDays          float64           `json:"horizon_days"`
	AnnualDiscount       float64           `json:"annual_discount"`
	TotalCLV             float64           `json:"total_clv"`
	Tiers                Tiers             `json:"tiers"`
	FitSeconds           float64           `json:"fit_seconds"` // summary + BG/NBD + Gamma-Gamma
	Seconds              Seconds           `json:"seconds"`
	ModelVersion         string            `json:"model_version,omitempty"`
	// Warnings say what to check before trusting the fit: extreme shape parameters
	// (MaxShape) or a holdout forecast worse than the naive baseline.
	Warnings []string          `json:"warnings,omitempty"`
	Outputs  map[string]string `json:"outputs,omitempty"`

	// Per-customer results, in the order of Summaries (not in the JSON).
	Summaries *Summaries      `json:"-"`
	Scores    []btyd.LTVScore `json:"-"`
	Tier      []string        `json:"-"`
	Predicted []float64       `json:"-"` // holdout forecast per customer
	Model     *btyd.LTVModel  `json:"-"`
}

// GammaGammaResult is the fitted spend model plus what was left out of it.
type GammaGammaResult struct {
	*btyd.GammaGamma
	// ExcludedNonPositive counts repeat customers whose mean repeat spend is <= 0 (refunds,
	// free orders): they are left out of the fit and scored with the population mean.
	ExcludedNonPositive int `json:"excluded_nonpositive"`
}

// Holdout compares the forecast of repeat purchase days in the holdout with what happened,
// per customer, against a naive baseline projecting each customer's calibration rate x/T.
type Holdout struct {
	Periods   float64 `json:"periods"`
	Actual    float64 `json:"actual_repeat_transactions"`
	Predicted float64 `json:"predicted_repeat_transactions"`
	MAE       float64 `json:"mae"`
	RMSE      float64 `json:"rmse"`
	Baseline  Metrics `json:"baseline"`
	// The baseline's figures again, flat, for scripts that read one level.
	BaselinePredicted float64        `json:"baseline_predicted_repeat_transactions"`
	BaselineMAE       float64        `json:"baseline_mae"`
	BaselineRMSE      float64        `json:"baseline_rmse"`
	ByFrequency       []FrequencyRow `json:"by_frequency"`
}

// Metrics are the errors of one forecast.
type Metrics struct {
	Predicted float64 `json:"predicted_repeat_transactions"`
	MAE       float64 `json:"mae"`
	RMSE      float64 `json:"rmse"`
}

// FrequencyRow is the mean holdout purchases of customers with calibration frequency X
// (the last row, Plus, gathers X and above).
type FrequencyRow struct {
	X         int     `json:"x"`
	Plus      bool    `json:"plus,omitempty"`
	Customers int     `json:"customers"`
	Actual    float64 `json:"actual_mean"`
	Predicted float64 `json:"predicted_mean"`
	Baseline  float64 `json:"baseline_mean"`
}

// Seconds breaks down the job's wall time by phase.
type Seconds struct {
	Read          float64 `json:"read"`
	Summary       float64 `json:"summary"`
	FitBGNBD      float64 `json:"fit_bgnbd"`
	FitGammaGamma float64 `json:"fit_gamma_gamma"`
	Score         float64 `json:"score"`
	Write         float64 `json:"write,omitempty"`
}

// Run reads the transactions file and runs the job.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	tx, err := ReadTransactions(o.Transactions, o.Columns)
	if err != nil {
		var re *ReadError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: %w", ErrData, err)
		}
		return nil, err
	}
	read := time.Since(t0).Seconds()
	res, err := Fit(ctx, tx, o)
	if res != nil {
		res.Seconds.Read = read
	}
	return res, err
}

// Fit runs the job on transactions already read: summary, BG/NBD and Gamma-Gamma fits,
// holdout evaluation, scores and tiers, and the outputs when o.Out is set.
func Fit(ctx context.Context, tx *Transactions, o Options) (*Result, error) {
	o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	calEnd := btyd.DayNumber(o.CalibrationEnd)
	holdEnd := calEnd
	if !o.HoldoutEnd.IsZero() {
		holdEnd = btyd.DayNumber(o.HoldoutEnd)
	}
	res := &Result{
		Build:        buildinfo.Read(),
		Transactions: len(tx.Day), SkippedRows: tx.Skipped,
		Period: o.Period.String(), PeriodDays: o.Period.Days(),
		CalibrationEnd: day(o.CalibrationEnd), HorizonDays: o.HorizonDays, AnnualDiscount: o.AnnualDiscount,
	}
	if holdEnd > calEnd {
		res.HoldoutEnd = day(o.HoldoutEnd)
	}

	t0 := time.Now()
	s := Summarize(tx, calEnd, holdEnd, o.Period)
	res.Seconds.Summary = time.Since(t0).Seconds()
	res.Summaries = s
	res.Customers = s.Len()
	res.AfterCalibrationOnly = s.AfterCalibrationOnly
	if s.Len() == 0 {
		return nil, fmt.Errorf("%w: no customer purchased on or before the calibration end %s (%d customers first purchase after it)",
			ErrData, day(o.CalibrationEnd), s.AfterCalibrationOnly)
	}
	if err := checkDates(s, calEnd, holdEnd, log); err != nil {
		return nil, err
	}
	log.Info("ltv: summarised", "customers", s.Len(), "transactions", len(tx.Day), "skipped_rows", tx.Skipped, "seconds", res.Seconds.Summary)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	t0 = time.Now()
	bg, err := btyd.FitBGNBD(s.X, s.TX, s.T, nil, o.Fit)
	if err != nil {
		// The optimiser is robust on real data: a failure means data that cannot identify
		// the model, reported as bad input.
		return nil, fmt.Errorf("%w: BG/NBD on %d customers: %w", ErrData, s.Len(), err)
	}
	res.Seconds.FitBGNBD = time.Since(t0).Seconds()
	res.BGNBD = bg
	log.Info("ltv: BG/NBD fitted", "r", bg.R, "alpha", bg.Alpha, "a", bg.A, "b", bg.B, "loglik", bg.LogLikelihood, "rows", bg.Rows, "seconds", res.Seconds.FitBGNBD)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	t0 = time.Now()
	gx := make([]float64, s.Len())
	excluded := 0
	for i, x := range s.X {
		if x > 0 && s.Monetary[i] > 0 {
			gx[i] = x
		} else if x > 0 {
			excluded++
		}
	}
	gg, err := btyd.FitGammaGamma(gx, s.Monetary, nil, o.Fit)
	if err != nil {
		return nil, fmt.Errorf("%w: Gamma-Gamma on the %d repeat customers with positive spend: %w", ErrData, countPositive(gx), err)
	}
	res.Seconds.FitGammaGamma = time.Since(t0).Seconds()
	res.GammaGamma = &GammaGammaResult{GammaGamma: gg, ExcludedNonPositive: excluded}
	res.FitSeconds = res.Seconds.Summary + res.Seconds.FitBGNBD + res.Seconds.FitGammaGamma
	log.Info("ltv: Gamma-Gamma fitted", "p", gg.P, "q", gg.Q, "v", gg.V, "customers", gg.Customers, "excluded_nonpositive", excluded, "seconds", res.Seconds.FitGammaGamma)

	m := &btyd.LTVModel{PeriodDays: o.Period.Days(), HorizonDays: o.HorizonDays, AnnualDiscount: o.AnnualDiscount, BGNBD: *bg, GammaGamma: *gg}
	res.Model = m
	t0 = time.Now()
	holdPeriods := float64(holdEnd-calEnd) / o.Period.Days()
	res.Scores, res.Predicted = score(m, s, gx, holdPeriods)
	pa := make([]float64, s.Len())
	clv := make([]float64, s.Len())
	for i, sc := range res.Scores {
		pa[i], clv[i] = sc.PAlive, sc.CLV
		res.TotalCLV += sc.CLV
	}
	res.Tier, res.Tiers = AssignTiers(clv, pa, s.Spend, o.Tiers)
	if s.Holdout != nil {
		res.Holdout = evaluate(s, res.Predicted, holdPeriods)
	}
	res.Seconds.Score = time.Since(t0).Seconds()
	if res.Holdout != nil {
		log.Info("ltv: holdout", "actual", res.Holdout.Actual, "predicted", res.Holdout.Predicted, "mae", res.Holdout.MAE, "baseline_mae", res.Holdout.BaselineMAE)
	}
	res.Warnings = fitWarnings(res)
	for _, w := range res.Warnings {
		log.Warn("ltv: " + w)
	}
	if o.Out != "" {
		t0 = time.Now()
		if err := writeOutputs(o, res); err != nil {
			return nil, err
		}
		res.Seconds.Write = time.Since(t0).Seconds()
	}
	return res, nil
}

// checkDates compares the calibration and holdout ends with the data. A calibration end
// after the last purchase makes every customer look inactive since then: past a period it
// is worth a warning, and longer than the data's own span it is refused (ErrData), since the
// model would then mostly fit the empty stretch (a calibration end in 2100 on 1990s data
// also took minutes in the report's plot). A holdout end after the last purchase is warned
// about: the holdout's actual purchases stop there.
func checkDates(s *Summaries, calEnd, holdEnd int64, log *slog.Logger) error {
	period := int64(math.Ceil(s.Period.Days()))
	dayStr := func(d int64) string { return day(time.Unix(d*86400, 0)) }
	if gap, span := calEnd-s.LastDay, s.LastDay-s.FirstDay; gap > max(span, period) {
		return fmt.Errorf("%w: calibration end %s is %d days after the last transaction (%s), longer than the %d days the data span (%s to %s)",
			ErrData, dayStr(calEnd), gap, dayStr(s.LastDay), span, dayStr(s.FirstDay), dayStr(s.LastDay))
	} else if gap > period {
		log.Warn("ltv: the calibration end is after the last transaction: every customer looks inactive since then",
			"calibration_end", dayStr(calEnd), "last_transaction", dayStr(s.LastDay), "days_after", gap)
	}
	if holdEnd > calEnd && holdEnd-s.LastDay > period {
		log.Warn("ltv: the holdout end is after the last transaction: the holdout's actual purchases stop there",
			"holdout_end", dayStr(holdEnd), "last_transaction", dayStr(s.LastDay), "days_after", holdEnd-s.LastDay)
	}
	return nil
}

type scoreKey struct{ x, tx, T float64 }

type scoreVal struct {
	pAlive, expected, dep, hold float64
}

// score computes every customer's LTV block and holdout forecast, once per distinct
// (x, t_x, T) and in parallel: the hypergeometric function dominates the cost.
func score(m *btyd.LTVModel, s *Summaries, gx []float64, holdPeriods float64) ([]btyd.LTVScore, []float64) {
	n := s.Len()
	keyIdx := make(map[scoreKey]int32, n/4+1)
	var keys []scoreKey
	ki := make([]int32, n)
	for i := range n {
		k := scoreKey{s.X[i], s.TX[i], s.T[i]}
		j, ok := keyIdx[k]
		if !ok {
			j = int32(len(keys))
			keyIdx[k] = j
			keys = append(keys, k)
		}
		ki[i] = j
	}
	vals := make([]scoreVal, len(keys))
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < len(keys); j += workers {
				k := keys[j]
				v := scoreVal{pAlive: m.BGNBD.PAlive(k.x, k.tx, k.T)}
				v.expected, v.dep = m.HorizonPurchases(k.x, k.tx, k.T)
				if holdPeriods > 0 {
					v.hold = m.BGNBD.ConditionalExpectedPurchases(holdPeriods, k.x, k.tx, k.T)
				}
				vals[j] = v
			}
		}()
	}
	wg.Wait()
	out := make([]btyd.LTVScore, n)
	pred := make([]float64, n)
	for i := range n {
		v := vals[ki[i]]
		spend := m.GammaGamma.ConditionalExpectedSpend(gx[i], s.Monetary[i])
		out[i] = btyd.LTVScore{
			PAlive: v.pAlive, ExpectedPurchases: v.expected, ExpectedSpendPerPurchase: spend,
			CLV: spend * v.dep, HorizonDays: m.HorizonDays,
		}
		pred[i] = v.hold
	}
	return out, pred
}

// maxFrequencyRow is the last (pooled) row of the by-frequency table.
const maxFrequencyRow = 7

func evaluate(s *Summaries, pred []float64, holdPeriods float64) *Holdout {
	h := &Holdout{Periods: holdPeriods}
	rows := make([]FrequencyRow, maxFrequencyRow+1)
	for i := range rows {
		rows[i].X = i
	}
	rows[maxFrequencyRow].Plus = true
	var se, bse float64
	n := float64(s.Len())
	for i := range s.Len() {
		act := s.Holdout[i]
		base := 0.0
		if s.T[i] > 0 {
			base = s.X[i] / s.T[i] * holdPeriods
		}
		h.Actual += act
		h.Predicted += pred[i]
		h.BaselinePredicted += base
		h.MAE += math.Abs(pred[i] - act)
		h.BaselineMAE += math.Abs(base - act)
		se += (pred[i] - act) * (pred[i] - act)
		bse += (base - act) * (base - act)
		r := &rows[min(int(s.X[i]), maxFrequencyRow)]
		r.Customers++
		r.Actual += act
		r.Predicted += pred[i]
		r.Baseline += base
	}
	h.MAE /= n
	h.BaselineMAE /= n
	h.RMSE = math.Sqrt(se / n)
	h.BaselineRMSE = math.Sqrt(bse / n)
	h.Baseline = Metrics{Predicted: h.BaselinePredicted, MAE: h.BaselineMAE, RMSE: h.BaselineRMSE}
	for i := range rows {
		if c := float64(rows[i].Customers); c > 0 {
			rows[i].Actual /= c
			rows[i].Predicted /= c
			rows[i].Baseline /= c
		}
	}
	h.ByFrequency = rows
	return h
}

func countPositive(v []float64) int {
	n := 0
	for _, x := range v {
		if x > 0 {
			n++
		}
	}
	return n
}
