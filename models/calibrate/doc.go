// Package calibrate maps a model's scores (log-odds) to probabilities that match observed
// rates: Platt scaling, isotonic regression, and a cross-validated choice between them.
package calibrate
