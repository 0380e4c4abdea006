// Package logistic fits L2-regularised logistic regression by L-BFGS and explains each
// prediction with signed per-feature contributions.
//
// Fit minimises the weighted negative log-likelihood plus a ridge penalty on the
// coefficients (not the intercept),
//
//	L(b0, b) = Σ_i w_i [log(1 + exp(z_i)) − y_i z_i] + (λ/2) ‖b‖²,   z_i = b0 + x_iᵀb,
//
// the model of scikit-learn's LogisticRegression with C = 1/λ (Hosmer & Lemeshow, Applied
// Logistic Regression; the penalty is the ridge of le Cessie & van Houwelingen 1992). The
// optimiser works on L/Σw so that its gradient tolerance does not depend on the data size.
// Features should be on comparable scales (package encode standardises them).
//
// Speed: the loss and gradient are computed in one pass, in row blocks (matrix-vector
// products on cache-sized blocks) spread over Options.Threads goroutines, with no allocation
// per iteration. Small tables are solved by L-BFGS (gonum/optimize). On tables of at least
// 200,000 rows the problem is first solved on an evenly spaced 50,000-row subsample, and the
// full-data fit then takes Newton steps with that subsample's Hessian, usually reaching the
// tolerance in two or three passes over the data; L-BFGS takes over if it does not.
package logistic
