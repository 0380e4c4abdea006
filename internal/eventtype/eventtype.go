// Package eventtype names the canonical event types of the history contract (docs/contract.md §1), the
// one list that the feature schema, the scorecard validator and the synthetic generator share.
//
// It is a leaf, like internal/atomicfile: it imports nothing, so both models/ and the
// row-computation part of features/ may use it without depending on each other.
package eventtype

// N is the number of canonical event types.
const N = 12

// Canonical returns the canonical event types in contract order. Feature columns
// (n_<type>_<N>d, decayed_<type>, recency_<type>_days) and type codes follow this order, so a
// new type goes at the end. Each call returns a fresh slice that the caller may modify.
func Canonical() []string {
	return []string{"page_view", "email_open", "email_click", "email_unsubscribe", "form_submit",
		"download", "webinar", "chat", "social", "trial_start", "survey", "purchase"}
}
