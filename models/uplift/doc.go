// Package uplift measures how well a score ranks contacts by the effect of a treatment (a
// campaign) on a binary outcome, from a randomised experiment: Qini and uplift curves, their
// coefficients, uplift at a targeted share and by decile, and the standardised mean
// differences that check the treated and control groups look alike.
//
// Rows are ranked by score, highest first. Let, among the top k rows, n_t(k) and n_c(k) be the
// treated and control rows and y_t(k), y_c(k) their positive outcomes, and N the rows in all.
// Curves have one point per group of tied scores, from (0, 0), with both axes as shares of N:
//
//	Qini (Radcliffe 2007):               Q(k) = y_t(k) − y_c(k) · n_t(k) / n_c(k)
//	uplift (Gutierrez & Gérardy 2017):   U(k) = (y_t(k)/n_t(k) − y_c(k)/n_c(k)) · k
//
// (a ratio with an empty group counts as 0). A curve's coefficient is the area between it and
// the straight line from (0, 0) to its last point, the ranking a random score gives: the Qini
// coefficient for Q and the AUUC for U. Both are 0 for a random ranking and grow with the
// incremental outcomes a ranking puts first; they are not normalised by a perfect ranking,
// which an experiment does not reveal, so compare them between rankings of the same rows.
// The formulas follow scikit-uplift's qini_curve, uplift_curve and uplift_at_k (strategy
// "overall"), without its normalisation.
//
// Treatment is a []bool; outcomes are 0 or 1. Length mismatches are programmer errors and
// panic.
package uplift
