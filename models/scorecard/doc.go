// Package scorecard scores contacts with readable rules: points for who a person is (fit), for
// what they do (engagement) and for where they stand in the relationship (lifecycle), with
// caps, decay, gates, thresholds, grades and exact explanations.
//
// A scorecard is a model with no fitting: it is written in YAML (Parse, Load) and evaluated
// at an as-of time, so any past score can be replayed from the event log. Events at or after
// the as-of time are ignored.
//
// # File format
//
// A file holds one scorecard, or several under `scorecards:`; a folder holds several files.
// The first scorecard whose audience matches a contact scores it (Set.Score).
//
//	name: dealership                 # required, unique
//	version: "3"                     # required, reported with every score
//	audience: 'account_type != "b2b"'   # attribute condition; default everyone
//	event_types: [sms_reply]         # event types beyond the canonical ones
//	thresholds:                      # stages by increasing total; default lead 0, mql 30, sql 60
//	  - {stage: lead, points: 0}
//	  - {stage: mql, points: 30}
//	mql_stage: mql                   # at or past this stage a contact is an MQL
//	grades: {fit: [25, 0, -10], engagement: [60, 30, 10]}   # A/B/C cut points, levels 1/2/3
//	caps: {fit: 50, engagement: 100, lifecycle: 30, total: 150}
//	lifecycle:                       # forward-only stages, furthest reached wins
//	  attribute: stage
//	  stages:
//	    - {name: lead, points: 0}
//	    - {name: customer, points: 20, event: {type: purchase}}
//	rules:
//	  - name: pricing-page
//	    dimension: engagement        # fit | engagement | lifecycle (default by rule kind)
//	    points: 10                   # negative points are allowed
//	    when: 'company_size >= 50'   # attribute condition (expression, mapping or list)
//	    event: {type: page_view, page: "/pricing*", channel: "paid_*", value: {min: 0, max: 10}}
//	    within: 30d                  # only events of the last 30 days
//	    min_count: 2                 # fires when at least 2 such events
//	    repeatable: true             # points for every event instead of once
//	    per_day_cap: 1               # at most one counted per UTC day
//	    decay: {half_life: 14d}      # or {window: 90d}
//	  - {name: student, gate: true, when: 'occupation == "student"'}
//
// A structured attribute condition is a mapping {attribute, equals, not_equals, in, not_in,
// min, max (both inclusive), matches, missing}; a list of them must all hold.
//
// # Explanations
//
// Every Result lists contributions whose points add up exactly to the total, per dimension
// too (fit + engagement + lifecycle == total). Each rule's decayed points are rounded to a
// whole number; a binding cap adds a "cap:<dimension>" or "cap:total" contribution, and a
// gate adds, under its own name, the contributions that bring each dimension to zero.
//
// # Conditions
//
// The attribute-condition language (ParseExpr) is shared with segment rules elsewhere:
//
//	occupation == "student"
//	age >= 55 and net_worth > 1000000
//	email matches "@(gmail|yahoo)\.com$" or company_size missing
//	not (industry in ["retail", "education"])
package scorecard
