package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/training/ltv"
)

// runLTV wires `propensity ltv` flags into training/ltv.
func runLTV(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "ltv",
		"--transactions FILE [--config MAPPING.yaml] [--customer COL --time COL --amount COL] --calibration-end DATE [--holdout-end DATE] [--period day|week|month] [--horizon 52w] [--discount R] [--out MODELS] [--json]",
		"Fit BG/NBD (purchases, dropout) and Gamma-Gamma (spend) models to transactions and score\n"+
			"every customer's P(alive), expected purchases, expected spend, CLV and value tier.\n\n"+
			outConvention)
	var (
		path     = fs.String("transactions", "", "transactions file: Parquet, directory of Parquet parts, or CSV")
		customer = fs.String("customer", "", "customer id column (default contact_id, else customer_id)")
		timeCol  = fs.String("time", "", "purchase time column, DATE or TIMESTAMP (default ts, else date)")
		amount   = fs.String("amount", "", "amount column (default amount)")
		calEnd   = fs.String("calibration-end", "", "last day of the calibration period, inclusive (YYYY-MM-DD)")
		holdEnd  = fs.String("holdout-end", "", "last day of the holdout period, inclusive: evaluates the forecast")
		period   = fs.String("period", "week", "model time unit: day, week or month (30.4375 days)")
		horizon  = fs.String("horizon", "52w", "horizon of expected purchases and CLV (d, w or h suffix)")
		discount = fs.Float64("discount", 0.1, "annual discount rate of CLV (0.1 = 10% a year; 0 = none)")
		out      = fs.String("out", "", "models directory: writes OUT/ltv/ (customers.parquet/.csv, report.html, result.json and the artifact)")
		asJSON   = fs.Bool("json", false, "print the result as one JSON object")
		config   = fs.String("config", "", "mapping YAML (docs/tables.md): its transactions columns name the customer, time and amount")
	)
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	if *config != "" {
		// The flags win over the file; the file's names (or the contract's) over detection.
		mf := &mappingFlags{Config: config, Customer: customer, Time: timeCol, Amount: amount}
		m, _, err := mf.Load()
		if err != nil {
			return err
		}
		*customer, *timeCol, *amount = m.Transactions.ContactID, m.Transactions.TS, m.Transactions.Amount
	}
	if err := requireFlags("transactions", *path, "calibration-end", *calEnd); err != nil {
		return err
	}
	outDir := kindDir(*out, artifact.KindLTV)
	if err := checkOutput(dirOutput, "--out", outDir, inputPath("--transactions", *path)); err != nil {
		return err
	}
	opts := ltv.Options{
		Transactions:   *path,
		Columns:        ltv.Columns{Customer: *customer, Time: *timeCol, Amount: *amount},
		AnnualDiscount: *discount,
		Out:            outDir,
		Logger:         env.log,
	}
	var err error
	if opts.CalibrationEnd, err = parseDate("calibration-end", *calEnd); err != nil {
		return err
	}
	if *holdEnd != "" {
		if opts.HoldoutEnd, err = parseDate("holdout-end", *holdEnd); err != nil {
			return err
		}
	}
	p, err := btyd.ParsePeriod(*period)
	if err != nil {
		return usagef("--period: %v", err)
	}
	opts.Period = p
	h, err := parseDuration("horizon", *horizon)
	if err != nil {
		return err
	}
	opts.HorizonDays = h.Hours() / 24
	if err := opts.Validate(); err != nil {
		return badInput(err)
	}
	if _, err := os.Stat(*path); err != nil {
		return usagef("--transactions: %v", err)
	}
	res, err := ltv.Run(ctx, opts)
	if err != nil {
		var re *ltv.ReadError
		// A missing path later on (the output directory removed while running) is a
		// failure while running, not bad input: the transactions were checked above.
		if errors.Is(err, ltv.ErrData) || errors.Is(err, ltv.ErrOptions) || errors.As(err, &re) {
			return badInput(err)
		}
		return err
	}
	if *asJSON {
		return env.printJSON(res)
	}
	printLTVText(env, res)
	return nil
}

func printLTVText(env *cliEnv, r *ltv.Result) {
	w := env.stdout
	fmt.Fprintf(w, "customers            %d (calibration end %s, %s periods)\n", r.Customers, r.CalibrationEnd, r.Period)
	fmt.Fprintf(w, "BG/NBD               r %s  alpha %s  a %s  b %s  LL %.1f\n",
		fmtParam(r.BGNBD.R), fmtParam(r.BGNBD.Alpha), fmtParam(r.BGNBD.A), fmtParam(r.BGNBD.B), r.BGNBD.LogLikelihood)
	fmt.Fprintf(w, "Gamma-Gamma          p %s  q %s  v %s  LL %.1f\n",
		fmtParam(r.GammaGamma.P), fmtParam(r.GammaGamma.Q), fmtParam(r.GammaGamma.V), r.GammaGamma.LogLikelihood)
	if h := r.Holdout; h != nil {
		fmt.Fprintf(w, "holdout              actual %s  BG/NBD %s (MAE %.3f)  baseline %s (MAE %.3f)\n",
			fmtCount(h.Actual), fmtCount(h.Predicted), h.MAE, fmtCount(h.BaselinePredicted), h.BaselineMAE)
	}
	fmt.Fprintf(w, "CLV                  total %.2f over %.0f days; tiers %s\n", r.TotalCLV, r.HorizonDays,
		fmtCounts(r.Tiers.Counts, ltv.TierVIP, ltv.TierLoyal, ltv.TierRegular, ltv.TierAtRisk, ltv.TierLapsed))
	fmt.Fprintf(w, "fit                  %.3f s (summary + BG/NBD + Gamma-Gamma)\n", r.FitSeconds)
	if r.Outputs != nil {
		fmt.Fprintf(w, "outputs              %s\n", r.Outputs["report"])
	}
}
