// Package history reads a history directory (contacts, events, transactions, identities in
// Parquet, docs/contract.md §1, or a transactions CSV), stitches identities into people, and
// computes the feature table: one row of package features per stitched person, as of T.
//
// Build streams the history into the per-person accumulators of package features and
// returns a Table, one Arrow record batch that WriteParquet writes (atomically, with the
// schema version, as-of time, horizon and options in its key-value metadata) and ReadParquet
// reads back. ForEachPerson and MapPersons hand out each stitched person with their raw
// records instead, for jobs that score or label people one at a time; MapPersonsWithFeatures
// hands out their feature rows with them.
//
// The Arrow table lives here, not in features, because it is the batch output: online
// callers compute one features.Row and need neither Arrow nor Parquet.
//
// Identity (docs/contract.md §6, as the DuckDB reference of docs/models.md does it): identifiers are
// linked transitively (union-find) through a contact's email, identities rows and events
// carrying two of contact_id, anonymous_id, email; a person is keyed by the contact with the
// earliest created_at (unknown last, ties: smallest id), the others are merged_ids; people
// without a contact row are left out; an event belongs to the first non-empty of contact_id,
// anonymous_id, email. By default links seen at any time count, like the reference;
// Options.StrictIdentity ignores links first seen at or after T.
//
// Memory: Build holds the identifiers, the contacts, one accumulator per person (about 0.5 KB)
// and the transactions; events are streamed in two passes (links, then features) over row
// groups decoded in parallel. ForEachPerson and MapPersons hold the kept events of as many
// people as the budget (Engine.Memory) allows, about 48 bytes an event, and spill the rest to
// disk partition by partition (walk.go). MapPersonsWithFeatures writes the feature table to a
// temporary file first and holds only the rows of the partition walked (walkfeatures.go).
package history
