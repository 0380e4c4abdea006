// Package features computes one person's row of point-in-time features from their records
// (contact attributes, events, transactions) as of a time T: the schema of the feature table,
// the fixed-size accumulators the records fold into, and the row filler, the single
// definition of every column.
//
// One definition, two callers: ComputeProfile (or an Online built once for a set of options)
// computes the row of one profile (docs/contract.md §2; DecodeProfile reads its JSON), and package
// features/history feeds every stitched person of a history directory into the same
// accumulators and row filler (history.Build), so a model trained on the batch table sees the
// same values at request time (history's TestBatchOnlineAgree). Pass the table's Options() to
// ComputeProfile to get its exact columns (discovered product categories and contact
// attributes).
//
// The package imports nothing of ours but internal/eventtype (the canonical event types) and
// reads no files: the online service, a live contact store and a streaming pipeline can use
// it alone. Options carry the Mapping of a history's files and columns because the contact
// columns it names (created_at, stage, stage_since) are not attributes in a profile either.
//
// Point-in-time rule: features as of T use only rows with ts < T; "last N days" is
// T − N·24h <= ts < T; labels for horizon H use T <= ts < T+H (TestNoLeakage).
//
// Columns (Schema lists them with their kind):
//
//   - canonical (docs/contract.md §6): n_events_30d, n_<type>_{7,30,90}d for the 12 canonical types,
//     days_since_last_event, purchase_count, purchase_amount_sum, days_since_last_purchase,
//     tenure_days; labels label_purchase, label_converted, label_churned, label_spend.
//   - activity: n_events_{7d,90d,total}, n_other_events_90d (non-canonical types),
//     decayed_events and decayed_<type> (Σ 2^(−age/half-life), default half-life 30 days),
//     recency_<type>_days, active_days_{7,30,90}d (distinct 24-hour days before T with an event).
//   - e-mail (last 90 days): email_open_rate_90d = opens/sends and email_ctr_90d = clicks/sends
//     (sends are events of type email_send, email_sent or email_delivered; null without sends),
//     email_click_to_open_90d = clicks/opens.
//   - pages: page_<category>_{30,90}d, a page counting for the first of pricing, directions,
//     careers, blog, product that its path contains (case-insensitive).
//   - purchases: purchase_count_90d, purchase_amount_90d; RFM in the units of BG/NBD (Fader,
//     Hardie & Lee 2005) on the UTC calendar-day grid, as lifetimes'
//     summary_data_from_transaction_data: rfm_frequency = purchase days − 1, rfm_recency_days
//     = t_x (last − first purchase day), rfm_age_days = T (day before the as-of − first purchase
//     day), rfm_monetary = mean spend per repeat purchase day (null without repeats); all null for
//     people who never bought. spend_<category> for the listed product categories and
//     preferred_category (highest spend; transactions' category column, else product).
//   - satisfaction: satisfaction_last (value of the latest survey event with a value),
//     satisfaction_trend (latest − previous), days_since_last_survey.
//   - lifecycle: stage (categorical), days_in_stage (from a stage_since contact column; null
//     when the history does not have it).
//   - contact attributes: every other contacts column, numeric as is, strings and booleans as
//     categorical strings (renamed attr_<name> if the name is taken).
//
// Accepted values (values.go, docs/operations.md): times from 1900-01-01 to the end of
// 2200-12-31, amounts and event values finite within ±1e15, text in UTF-8. The history
// readers (package features/history) count a row holding anything else as a bad row naming
// the column; CheckProfile names the field of a profile.
package features
