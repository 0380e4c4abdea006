// Package triggers turns score transitions into signed webhook deliveries: a YAML file of
// conditions (Parse), their evaluation on two successive scores of a contact (Evaluate), the
// outbox records they produce (NewDeliveries) and an at-least-once dispatcher (Dispatcher).
//
// The package is standalone: callers reduce a score response to a State, store the
// Deliveries in their own durable Outbox in the same write as the data that caused them, and
// call Dispatcher.Notify. The file format, the crossing rules and the webhook format are
// documented in docs/triggers.md.
package triggers
