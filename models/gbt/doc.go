// Package gbt fits histogram-based gradient-boosted decision trees for binary outcomes
// (Friedman 2001; the second-order split gain and leaf weights of Chen & Guestrin 2016; the
// histogram method, subtraction trick and categorical splits of Ke et al. 2017) and explains
// each prediction with exact TreeSHAP contributions (Lundberg et al. 2018).
//
// Fit minimises the weighted binary log-loss
//
//	L = Σ wᵢ [ log(1 + exp(Fᵢ)) − yᵢ Fᵢ ] + ½ λ Σ leaf²
//
// where F is the model's log-odds: a base score (the log-odds of the weighted mean label) plus
// the shrunken leaf values of every tree. Each column is cut into at most 255 quantile bins
// (model state, stored with the trees), trees grow depth-wise (or leaf-wise with
// Options.MaxLeaves) on histograms built in parallel over features, and the fitted model does
// not depend on Options.Threads. Batch prediction bins every row once at the thresholds the
// trees use and walks them on those bins, which gives exactly the log-odds of comparing the
// values with the stored thresholds.
//
// Missing values and categories: a numeric NaN or a categorical "" is missing. Every split
// learns a default direction for missing values when the rows reaching it had some; when they
// had none, missing values go to the child that received more training weight (hessian). A
// category that was not seen in training, was too rare to get a bin of its own (beyond
// Options.MaxBins categories), or did not reach a node in training goes the same way as
// missing values at that node.
//
// On amd64 the histogram passes, which take most of a fit, are in assembly (one packed add
// per gradient pair and bin instead of two scalar ones); the purego build tag selects the Go
// passes instead. Both give the same sums, bit for bit, so the fitted model does not depend
// on the build either.
//
// A Model marshals to JSON (encoding/json) with a format version, for models/artifact.
package gbt
