// Package churn is an executable walkthrough of churn models: logistic regression and
// gradient-boosted trees (training/tabular) on a generated history, then on the IBM Telco
// churn sample against the measured scikit-learn and XGBoost baselines. Run it with
// go test ./notebooks/churn; the Telco cells skip when the shared datasets (docs/performance.md) is absent.
package churn
