// Package synth generates a synthetic marketing history whose ground truth is known.
//
// Generate writes, into one directory, the history files of docs/contract.md §1 and the
// truth behind them, covering [as-of − History, as-of + Horizon):
//
//	contacts.parquet      one row per contact (a few people have a duplicate row sharing the email)
//	  contact_id string, created_at timestamp(µs, UTC), email string, stage string
//	  (lifecycle at as-of: subscriber, lead, mql, sql, opportunity, customer, unsubscribed),
//	  account_type string (consumer|business), age double?, gender string?, income double?,
//	  occupation string? (includes "student", "retired"), marital_status string?,
//	  children int64?, postal_code string? (5 digits, first = region),
//	  company_industry string?, company_employees int64?, annual_revenue double?,
//	  job_role string? (the last four null for consumers)
//	events.parquet        one row per touch, sorted by person then time
//	  ts timestamp(µs, UTC), type string (the 12 canonical types), contact_id string
//	  ("" for anonymous or email-only events), anonymous_id string?, email string?,
//	  page string?, channel string?, campaign string?, value double? (survey NPS 0–10)
//	transactions.parquet  one row per purchase
//	  contact_id string, ts timestamp(µs, UTC), amount double, product string,
//	  category string, quantity int64
//	identities.parquet    one row per link: id_a string (contact id), id_b string (anonymous id),
//	  ts timestamp(µs, UTC)
//	truth.parquet         one row per surviving contact (person)
//	  contact_id string, persona int32, persona_name string,
//	  p_convert double? and converted int32? (prospects at as-of: no purchase before it),
//	  p_churn double? and churned int32? (customers at as-of), lambda double (BG/NBD λ per
//	  week), p double (dropout), nu double (Gamma-Gamma ν), spend_mean double (p/ν),
//	  customer bool, alive_at_as_of bool, first_purchase_at timestamp?, purchases_before int32,
//	  purchases_horizon int32, spend_horizon double, n_contacts int32, anonymous_id string?
//	generator.json        every parameter used (Parameters) and the Summary
//
// A "?" marks a nullable column. Identity: about three quarters of people browse with a
// cookie before sign-up; those events carry only anonymous_id. The cookie is linked to the
// contact by the sign-up form_submit carrying both ids, or, for imported contacts, by an
// identities row. About 30% of people's email events carry only their email. A duplicate
// contact (DuplicateRate) shares the email and is created later, so the original survives
// (docs/contract.md §6). contacts.stage is the stage at as-of: it leaks labels into snapshots taken
// before as-of, so leave it out of models trained on earlier snapshots.
// Labels follow docs/contract.md §6: converted equals label_converted
// and churned equals label_churned of the feature table at as-of with the same horizon.
//
// Each person belongs to one latent persona (Catalog) that drives attributes, web, email and
// purchase behaviour. A prospect's first purchase in each of the ConversionWindows windows
// [s, s+H) ending at as-of + H is drawn from ConversionModel applied to its behaviour before s;
// purchases then follow the persona's BG/NBD process (Fader, Hardie & Lee 2005) with
// Gamma-Gamma spend (Fader & Hardie 2013). Every person draws from its own random stream,
// seeded by (Seed, index), so output is byte-identical for a seed whatever the parallelism.
package synth
