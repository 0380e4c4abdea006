// Package persona turns a table of contacts into personas: it fits a feature transform,
// clusters with k-means, profiles each cluster in the original units with a generated name
// and description, and assigns new contacts to the nearest persona.
//
// The transform is part of the model. Numeric columns with no negative value, more than two
// distinct values and a skewness above 1 (counts and amounts) are log1p transformed; every
// numeric column is then standardised (population standard deviation). Categorical columns
// with at most 12 levels are one-hot encoded and each indicator standardised; columns with
// more levels, and constant columns, are left out with a note (all columns constant is an
// error); with TransformSettings.WeightLevels each indicator is scaled by 1/√levels so that
// a categorical column weighs as much as one numeric column. Derived inputs are shares
// (smoothed towards the population share, arcsine-root encoded) and ratios of two numeric
// columns; the model records their definition and reads their source columns, so a saved
// model computes them itself. A missing number is an error naming column and row unless
// imputation is on, in which case it takes the column median; Model.Assign always imputes
// missing numbers.
//
// Names come from the traits: the encoded dimensions whose persona mean is furthest, in
// standard deviations, from the population mean. Column names following the feature
// table's conventions (n_<type>_<N>d, days_since_*, purchase_amount_sum, page_<x>_<N>d, ...)
// become words such as "frequent", "low-spend", "lapsed" or "pricing-page visitors".
package persona
