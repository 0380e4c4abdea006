// Package classifier is a fitted, calibrated binary classifier (conversion, churn): the
// model training/tabular fits, saved as an artifact, loaded by LoadModel and scored one
// table (PredictFrame) or one record (PredictRow, PredictValues) at a time, with the reasons
// behind each probability.
//
// A model is an encoder and a logistic regression (packages encode, logistic) or
// gradient-boosted trees (package gbt), followed by a calibrator (package calibrate). The
// reasons of a logistic model are the terms coef·(z − mean z) of its standardised features
// (see reasons.go); those of trees are TreeSHAP contributions (Lundberg et al. 2018,
// package gbt).
package classifier
