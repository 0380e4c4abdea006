// Package uplift is an executable walkthrough of uplift modelling on a generated history with
// a randomised campaign: who buys because of the offer, against who is likely to buy. The
// cells are the Example functions of its tests; run them with go test ./notebooks/uplift.
package uplift
