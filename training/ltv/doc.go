// Package ltv is the lifetime-value job behind `propensity ltv`: it reads a transactions
// file, summarises each customer, fits BG/NBD and Gamma-Gamma models (models/btyd), evaluates
// the forecast on a holdout period, assigns value tiers and writes the per-customer table, an
// HTML report and the model artifact.
//
// # Conventions
//
// Those of the lifetimes package, which reproduce Fader, Hardie & Lee (2005) on CDNOW (see
// Summarize): one purchase per customer and UTC day (amounts of a day summed); the calibration
// end is inclusive; x counts purchase days after the first; t_x and T run from the first
// purchase day to the last purchase day and to the calibration end, in the chosen period;
// monetary is the mean amount of the repeat purchase days. Customers whose first purchase is
// after the calibration end are counted and left out. Repeat customers whose mean repeat spend
// is <= 0 (refunds, free orders) are left out of the Gamma-Gamma fit, counted, and given the
// model's population mean spend.
//
// # Outputs (Options.Out)
//
//   - customers.parquet: one row per customer — customer_id, x, t_x, T (in periods),
//     monetary, calibration_spend, p_alive, expected_purchases (over the horizon),
//     expected_spend (per purchase), clv, value_tier, and with a holdout holdout_actual and
//     holdout_predicted;
//   - customers.csv: the same for spreadsheets, in words and days and rounded —
//     customer_id, repeat_purchases, days_first_to_last, days_observed,
//     avg_repeat_purchase_value, spend_to_calibration_end, p_alive, expected_purchases,
//     expected_spend_per_purchase, clv, value_tier, holdout_repeat_purchases,
//     holdout_forecast (docs/models.md explains each);
//   - report.html: parameters with standard errors, holdout accuracy against the naive
//     baseline, holdout purchases by calibration frequency, cumulative tracking plot, P(alive)
//     matrix and tiers (inline SVG);
//   - result.json: the Result, as printed by `propensity ltv --json`;
//   - manifest.json and model.json: the "ltv" artifact (btyd.LTVModel), loadable with
//     btyd.LoadLTVModel from Out itself, so that Out can be a models directory's ltv/.
//
// Every file is written atomically. Value tiers are documented on TierSettings.
package ltv
