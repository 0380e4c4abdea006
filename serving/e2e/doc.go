// Package e2e holds only tests: it trains small models on a synthetic history with the
// training packages and checks that the scoring service answers, for each person, what the
// batch path computes. It is a test harness, not a library: nothing imports it, and the
// serving packages themselves never import training.
package e2e
