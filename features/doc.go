// Package features turns a history directory (contacts, events, transactions, identities in
// Parquet, ../shared/CONTRACT.md §1) into one row of point-in-time features per stitched person,
// and computes the very same row for a single online profile (CONTRACT §2).
//
// One definition, two callers: Build streams the history into fixed-size per-person
// accumulators, ComputeProfile feeds one profile's rows into the same accumulator and row
// filler, so a model trained on a batch table sees the same values at request time
// (TestBatchOnlineAgree). Pass Table.Options() to ComputeProfile to get the table's exact
// columns (discovered product categories and contact attributes).
//
// Point-in-time rule: features as of T use only rows with ts < T; "last N days" is
// T − N·24h <= ts < T; labels for horizon H use T <= ts < T+H (TestNoLeakage).
//
// Identity (CONTRACT §6, as ../shared/bench/duckdb_features.mjs does it): identifiers are
// linked transitively (union-find) through a contact's email, identities rows and events
// carrying two of contact_id, anonymous_id, email; a person is keyed by the contact with the
// earliest created_at (unknown last, ties: smallest id), the others are merged_ids; people
// without a contact row are left out; an event belongs to the first non-empty of contact_id,
// anonymous_id, email. By default links seen at any time count, like the reference;
// Options.StrictIdentity ignores links first seen at or after T.
//
// Columns (Schema lists them with their kind):
//
//   - canonical (CONTRACT §6): n_events_30d, n_<type>_{7,30,90}d for the 12 canonical types,
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
// 2200-12-31, amounts and event values finite within ±1e15, text in UTF-8. Readers count a
// row holding anything else as a bad row naming the column; CheckProfile names the field of
// a profile.
//
// Memory: Build holds the identifiers, the contacts, one accumulator per person (about 0.5 KB)
// and the transactions; events are streamed in two passes (links, then features) over row
// groups decoded in parallel. ForEachPerson holds every event in memory.
package features
