// Package tabular trains conversion and churn models on any table of one row per person or
// session: it reads Parquet or CSV files into a frame, extracts a binary label, runs
// stratified K-fold cross-validation, fits the final model with a calibrated probability, and
// writes the artifact and an HTML + JSON report. The fitted model is a models/classifier
// Model, which serving loads without this package.
//
// Column types are detected when a table is read (see ReadTable): a text column whose every
// present value is a number is numeric; anything else, including two-valued Yes/No and
// true/false columns, is categorical and is one-hot encoded by the model.
package tabular
