// Package uplift is `propensity train uplift`: from a randomised campaign in a history
// directory or a table, it checks the treated and control groups, cross-validates the
// uplift learners of models/effect by Qini coefficient, compares them with targeting by
// conversion probability, and writes the chosen model as an artifact with its reports.
package uplift
