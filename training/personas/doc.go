// Package personas is the personas job: it clusters a table of contacts into personas
// (models/persona), evaluates named segment rules over features, scores and persona, and
// writes the catalog, the assignments (Parquet and CSV), an HTML report and the model
// artifact.
//
// On a feature table (FromFeatures) personas are built from PersonaFeatures, a default set of
// demographics and behaviour mix (shares of pages, event types and spend categories, clicks
// per open, purchase frequency and mean spend, tenure, recency, satisfaction) rather than
// every column: raw counts grow with tenure and engagement and drown the persona signal.
//
// Output directory:
//
//	personas.json        the catalog (Catalog): k, silhouette, stability, the choice of k,
//	                     transform notes, warnings, every persona's profile (traits with
//	                     plain-word labels), segment sizes
//	personas.csv         one row per persona for spreadsheets: size, share, key traits in
//	                     words, main feature means next to everyone's, model score means
//	                     (Options.Scores and the table's p_convert, p_churn, p_alive, clv)
//	assignments.parquet  contact_id, persona_id, persona_name, distance, one boolean per segment
//	assignments.csv      the same columns
//	report.html          self-contained report (inline SVG plots)
//	manifest.json,       the "personas" artifact (models/artifact), loaded by persona.Load
//	model.json           from the directory itself, so that it can be a models directory's personas/
//
// Segments files map a name to a condition of the scorecard language
// (scorecard.ParseExpr); the fields are the input table's columns (including excluded
// ones and scores such as p_alive or clv when present) and persona, persona_id, distance:
//
//	win_back: p_alive < 0.3 and clv > 200
//	bargain_hunters: persona == "frequent, low-spend, pricing-page visitors"
package personas
