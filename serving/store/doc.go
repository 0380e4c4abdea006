// Package store is the durable embedded store of propensity's live contacts: contacts,
// events, transactions and identity links as they are ingested, the identity graph that
// stitches them into people by the batch rules, the last trigger state of each person and
// the webhook outbox. It is built on github.com/cockroachdb/pebble/v2.
//
// # Durability
//
// Every logical change — one ingested record with the index updates it causes and the
// outbox records its re-score produced — is one pebble batch. Writers are serialised by a
// mutex while they read and stage their batch; the batch is applied (visible) inside the
// mutex and its WAL sync is awaited outside it, so concurrent writers share one fsync (group
// commit). A write method returns only after its batch is synced, unless the store was
// opened with Options.NoSync (bulk loads, which call Flush at the end).
//
// # Key layout (format version 2)
//
// Every key but the format record starts with "1" (the key layout's first version, which
// format 2 keeps) and a table letter;
// the parts of a key are separated by 0x00 (identifiers may not contain it). Times in keys
// are unix nanoseconds, sign bit flipped, big-endian, so keys sort by time.
//
//	"0format"                       format record: the decimal format version ("2"; "1" is
//	                                read and written too, without record flags)
//	"1m/next"                       next component number (uint64 big-endian)
//	"1c/" id                        contact row (JSON of Contact)
//	"1n/" id                        identifier -> component number (8 bytes)
//	"1g/" comp                      component: members, contacts, last trigger state, and
//	                                (format 2) each member's record flags: whether events
//	                                and transactions are stored under it (JSON)
//	"1e/" keyid 0x00 ts hash        event (binary, see codec.go), under its attribution key: the
//	                                first non-empty of contact_id, anonymous_id, email
//	"1x/" event_id                  event id index -> event key (idempotent ingestion)
//	"1t/" contact 0x00 ts hash      transaction (binary, see codec.go)
//	"1l/" id_a 0x00 id_b 0x00 ts    identity row (JSON of Identity)
//	"1r/" id_b 0x00 id_a 0x00 ts    reverse identity index (empty value), for erasure
//	"1o/" delivery id               outbox record (JSON of triggers.Delivery)
//	"1q/" next_attempt 0x00 id      index of pending deliveries by due time (empty value)
//	"1p/" contact 0x00 id           index of deliveries by person (empty value), for erasure
//	"1E/" id, "1T/" id              record marks (format 2, empty values): an event or a
//	                                transaction was stored under id after its component's
//	                                record flags were written
//	"0outbox-by-person"             marks a store that has had the "1p/" index from its start
//	                                (older ones erase deliveries by scanning the outbox)
//
// A person is the component of the identity graph that holds at least one contact; its key
// is the earliest-created contact (no created_at last, ties by the smallest id), as in
// features. An identifier's events and transactions are found under its own key, so a
// merge of two people rewrites only the identifier index, never the records. Reading a
// person takes one scan per identifier and table; the record flags (format 2) let a read
// skip the scans that would find nothing, which are most of them; a record stored later
// under an identifier writes its mark instead of rewriting the flags, so that ingestion
// reads nothing more. A store of format 1 keeps
// no flags and reads every identifier: export it and ingest the export into a new store to
// get them.
package store
