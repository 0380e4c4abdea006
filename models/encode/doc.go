// Package encode turns a frame of numeric and categorical columns into a dense, standardised
// feature matrix with stable feature names, holding every fitted statistic as JSON-ready
// state so that scoring applies exactly the training transformation.
//
// Numeric columns: missing values are imputed with the training median and, when the
// training data had any, flagged in an extra "<col>__missing" column. Categorical columns
// with at most Options.TargetAbove levels are one-hot encoded ("<col>=<level>"); levels seen
// fewer than MinCount times, or beyond the MaxLevels most frequent, share "<col>=__other__",
// and a missing value is its own level "<col>=__missing__". At prediction a level never seen
// in training goes to __other__ when that column exists and otherwise to no column at all
// (all of the column's indicators zero, i.e. no evidence either way). Categorical columns
// with more levels (postal codes, product ids) are target encoded as "<col>__target": the
// smoothed positive rate (n·rate + m·prior)/(n + m) of the level (the m-estimate of
// Micci-Barreca 2001), fitted out of fold on the training rows so a row's own label never
// leaks into its feature; unseen and missing levels get the prior. Finally every feature is
// standardised to training mean 0 and standard deviation 1; a feature constant in training
// is left out.
package encode
