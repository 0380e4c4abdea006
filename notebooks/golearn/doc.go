// Package golearn is an executable walkthrough for data scientists who know golearn
// (github.com/sjwhitworth/golearn): it takes propensity's feature table into golearn's base
// instances, trains golearn's pure-Go CART decision tree on a churn label, and compares it
// with propensity's logistic regression and boosted trees on the same split. golearn is
// imported by this notebook's tests only, never by the service (docs/models.md says why).
// Run it with go test ./notebooks/golearn.
package golearn
