// Package personas is an executable walkthrough of personas and segments: k-means personas
// (models/kmeans, models/persona) on a generated history's features, named segment rules,
// and the exported report and assignments of the personas job (training/personas). Run it
// with go test ./notebooks/personas; the wholesale cell skips when the shared datasets (docs/performance.md) is
// absent.
package personas
