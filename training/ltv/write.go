package ltv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/btyd"
)

// Output file names inside Options.Out.
const (
	CustomersParquet = "customers.parquet"
	CustomersCSV     = "customers.csv"
	ReportHTML       = "report.html"
	ResultJSON       = "result.json"
	// ModelDir is where the artifact goes: Out itself, as with every job of a models
	// directory (Out is MODELS/ltv/; the artifact's manifest.json and model.json sit next
	// to the reports, as train's do).
	ModelDir = "."
)

// customerRow is one row of customers.parquet / customers.csv. Times are in periods.
type customerRow struct {
	CustomerID        string   `parquet:"customer_id"`
	X                 float64  `parquet:"x"`
	TX                float64  `parquet:"t_x"`
	T                 float64  `parquet:"T"`
	Monetary          float64  `parquet:"monetary"`
	Spend             float64  `parquet:"calibration_spend"`
	PAlive            float64  `parquet:"p_alive"`
	ExpectedPurchases float64  `parquet:"expected_purchases"`
	ExpectedSpend     float64  `parquet:"expected_spend"`
	CLV               float64  `parquet:"clv"`
	ValueTier         string   `parquet:"value_tier"`
	HoldoutActual     *float64 `parquet:"holdout_actual,optional"`
	HoldoutPredicted  *float64 `parquet:"holdout_predicted,optional"`
}

// csvHeader is the header of customers.csv, the file for spreadsheets: the model's x, t_x
// and T read as repeat_purchases, days_first_to_last and days_observed, in days whatever the
// model's period (customers.parquet keeps the modelling notation, in periods). Counts and
// days are integers, money has 2 decimals, probabilities 4, expected purchases 2. The
// columns are explained in docs/models.md (Lifetime value, outputs).
var csvHeader = []string{"customer_id", "repeat_purchases", "days_first_to_last", "days_observed",
	"avg_repeat_purchase_value", "spend_to_calibration_end", "p_alive", "expected_purchases",
	"expected_spend_per_purchase", "clv", "value_tier", "holdout_repeat_purchases", "holdout_forecast"}

func (r *Result) row(i int) customerRow {
	s := r.Summaries
	sc := r.Scores[i]
	row := customerRow{
		CustomerID: s.IDs[i], X: s.X[i], TX: s.TX[i], T: s.T[i], Monetary: s.Monetary[i], Spend: s.Spend[i],
		PAlive: sc.PAlive, ExpectedPurchases: sc.ExpectedPurchases, ExpectedSpend: sc.ExpectedSpendPerPurchase,
		CLV: sc.CLV, ValueTier: r.Tier[i],
	}
	if s.Holdout != nil {
		a, p := s.Holdout[i], r.Predicted[i]
		row.HoldoutActual, row.HoldoutPredicted = &a, &p
	}
	return row
}

func writeOutputs(o Options, res *Result) error {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	// The model first: its version goes into the other outputs.
	first := slices.Min(res.Summaries.First)
	opts, _ := json.Marshal(map[string]any{
		"calibration_end": res.CalibrationEnd, "holdout_end": res.HoldoutEnd, "period": res.Period,
		"horizon_days": o.HorizonDays, "annual_discount": o.AnnualDiscount, "columns": o.Columns,
	})
	man := artifact.Manifest{
		TrainingWindow: artifact.Window{From: time.Unix(first*86400, 0).UTC(), To: o.CalibrationEnd.UTC()},
		Rows:           res.Customers,
		Metrics: map[string]float64{
			"bgnbd_log_likelihood": res.BGNBD.LogLikelihood, "gamma_gamma_log_likelihood": res.GammaGamma.LogLikelihood,
		},
		Options: opts,
	}
	if h := res.Holdout; h != nil {
		man.Metrics["holdout_actual"] = h.Actual
		man.Metrics["holdout_predicted"] = h.Predicted
		man.Metrics["holdout_mae"] = h.MAE
	}
	man, err := btyd.SaveLTVModel(filepath.Join(o.Out, ModelDir), res.Model, man)
	if err != nil {
		return fmt.Errorf("ltv: saving the model: %w", err)
	}
	res.ModelVersion = man.Version
	res.Model.ModelVersion = man.Version
	for i := range res.Scores {
		res.Scores[i].ModelVersion = man.Version
	}
	res.Outputs = map[string]string{
		"customers_parquet": filepath.Join(o.Out, CustomersParquet),
		"customers_csv":     filepath.Join(o.Out, CustomersCSV),
		"report":            filepath.Join(o.Out, ReportHTML),
		"result":            filepath.Join(o.Out, ResultJSON),
		"model":             filepath.Join(o.Out, ModelDir),
	}
	if err := atomicfile.Write(res.Outputs["customers_parquet"], 0o644, res.writeParquet); err != nil {
		return fmt.Errorf("ltv: writing %s: %w", CustomersParquet, err)
	}
	if err := atomicfile.Write(res.Outputs["customers_csv"], 0o644, res.writeCSV); err != nil {
		return fmt.Errorf("ltv: writing %s: %w", CustomersCSV, err)
	}
	if err := atomicfile.Write(res.Outputs["report"], 0o644, res.writeReport); err != nil {
		return fmt.Errorf("ltv: writing %s: %w", ReportHTML, err)
	}
	return atomicfile.Write(res.Outputs["result"], 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	})
}

func (r *Result) writeParquet(w io.Writer) error {
	pw := parquet.NewGenericWriter[customerRow](w, parquet.Compression(&parquet.Snappy))
	buf := make([]customerRow, 0, 8192)
	for i := range r.Summaries.Len() {
		buf = append(buf, r.row(i))
		if len(buf) == cap(buf) {
			if _, err := pw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := pw.Write(buf); err != nil {
		return err
	}
	return pw.Close()
}

func (r *Result) writeCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i, h := range csvHeader {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(h)
	}
	bw.WriteByte('\n')
	var b []byte
	f := func(v float64, digits int) {
		v = roundTo(v, digits)
		b = strconv.AppendFloat(append(b, ','), v, 'f', digits, 64)
	}
	days := r.Summaries.Period.Days()
	for i := range r.Summaries.Len() {
		row := r.row(i)
		b = appendCSVField(b[:0], row.CustomerID)
		f(row.X, 0)
		f(row.TX*days, 0)
		f(row.T*days, 0)
		f(row.Monetary, 2)
		f(row.Spend, 2)
		f(row.PAlive, 4)
		f(row.ExpectedPurchases, 2)
		f(row.ExpectedSpend, 2)
		f(row.CLV, 2)
		b = append(append(b, ','), row.ValueTier...)
		if row.HoldoutActual != nil {
			f(*row.HoldoutActual, 0)
			f(*row.HoldoutPredicted, 2)
		} else {
			b = append(b, ",,"...)
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// roundTo rounds v to the given decimals, and a negative zero ("-0.00" in a spreadsheet)
// to zero.
func roundTo(v float64, digits int) float64 {
	p := math.Pow10(digits)
	v = math.Round(v*p) / p
	if v == 0 {
		return 0
	}
	return v
}

func appendCSVField(b []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// dayNum parses a YYYY-MM-DD date written by this package.
func dayNum(s string) int64 {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0
	}
	return t.Unix() / 86400
}
