// Package batch scores every person of a history as of one time and writes one Parquet row
// per person: `propensity score --data DIR --as-of T --out FILE.parquet`.
//
// A person's row holds the answer the HTTP service gives for their profile as of T, through
// the same serving.Scorer and model set: the rules block (scorecard, points, grade, stage),
// and, when models are loaded, the conversion and churn probabilities with their reasons,
// the lifetime value and the persona. The file is written atomically and carries a format
// version in its key-value metadata; serving.OpenContactStore reads it back for
// GET /v1/contacts/{id}.
package batch
