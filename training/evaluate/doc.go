// Package evaluate compares a lead scorecard with a conversion model on the same prospects
// and the same outcome window, and suggests a scorecard whose points come from outcomes.
//
// Run walks the history once and takes two snapshots of the prospects (people with no
// purchase before the snapshot): the holdout at T, whose conversions in [T, T+H) judge
// every score, and the training snapshot at T−H, whose conversions in [T−H, T) are all the
// suggestions may learn from, so the comparison is honest.
//
// The suggested scorecard keeps the current one's thresholds, stages, grades, audience and
// gates and replaces its points: a logistic model is fitted on 0/1 characteristics that a
// scorecard rule can test (the current rules, event counts by type and page section within
// 7, 30 and 90 days at cut points 1, 2, 3, 5 and 10, numeric attributes at quintile cut
// points, frequent categorical levels), screened by information value, and its coefficients
// become points in the credit-scorecard way (Scaling). A shallow decision tree over the same
// characteristics proposes candidate rules with their support and conversion rate.
//
// Result.Write puts evaluation.json (every number), report.html (ROC, gains and calibration
// plots, cuts, bands, the diff and the mined rules), disagreements.csv (the people the rules
// and the model rank furthest apart) and suggested_scorecard.yaml (loadable by
// scorecard.Load) into a directory.
//
// The tree and the binning are small and our own: rule mining needs a minimum leaf size (else
// a shallow tree yields rules about a handful of people) and counts at every node, on 0/1
// characteristics a split is one count per characteristic, and on small event counts fixed
// cut points lose little against ChiMerge.
package evaluate
