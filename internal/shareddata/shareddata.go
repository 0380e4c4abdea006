// Package shareddata locates the public datasets of ../shared/datasets for tests: present in
// CI, absent in a user's clone, where the tests that need them skip with a message.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns ../shared/datasets relative to the repository root (the first directory above
// the working directory holding go.mod), skipping t when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root (go.mod) not found above the package directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "datasets")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared datasets not present at %s (they are in CI; a user's clone lacks them)", d)
	}
	return d
}
