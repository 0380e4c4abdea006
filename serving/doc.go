// Package serving turns a profile into a score response (docs/contract.md §3) and holds
// the models that do it.
//
// A ModelSet is one consistent snapshot of scorecards and of any subset of the conversion,
// churn, LTV and personas models, each behind a small interface (RulesModel, Classifier,
// LTVModel, PersonaModel). A Loader builds a set from a models directory; NewLoader gives
// each kind its loader of this package (LoadClassifier, LoadLTV, LoadPersonas: serving loads
// models/ packages and never imports training), and tests swap in fakes. A Registry
// publishes it atomically and swaps in a new one on Reload, refusing a set that fails to
// load. Scorer.Score is the one place a profile becomes a Response, shared by the HTTP API
// (package web and api/v1), the score command and batch scoring (package batch). A block whose model is not
// loaded, or that has no answer for a profile (LTV of a contact without purchases, a contact
// no scorecard audience matches), is absent and named in Response.Unavailable.
package serving
