// Package btyd fits "buy 'til you die" models of customer purchasing — BG/NBD for purchase
// counts and dropout (Fader, Hardie & Lee 2005) and Gamma-Gamma for spend per purchase
// (Fader & Hardie 2013) — and turns them into P(alive), expected purchases and customer
// lifetime value.
//
// Time is always measured in a Period (Day, Week or Month = 30.4375 days): the recency t_x,
// the age T and every forecast horizon t passed to a model are counts of that model's
// period, and a fitted model records the period it was fitted in.
package btyd
