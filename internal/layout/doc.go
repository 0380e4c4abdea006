// Package layout holds the test that enforces the import arrows between the repository's
// rooms (docs/architecture.md): models and the row part of features import nothing of
// ours but internal/, serving never imports training, and only cmd imports everything.
package layout
