// Package effect estimates individual treatment effects (uplift) on a binary outcome with
// boosted trees (package gbt): the two-model T-learner, the class transformation of
// Jaskowski & Jaroszewicz (2012) and the X-learner of Künzel et al. (2019), and stores the
// fitted model as an artifact of kind "uplift" that the service scores.
//
// The estimates are causal only when treatment was assigned at random (docs/models.md).
package effect
