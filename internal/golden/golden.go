// Package golden compares test output with a golden file under testdata/, or rewrites the
// file when the test binary runs with its -update flag.
package golden

import (
	"os"
	"testing"
)

// Check fails tb when got differs from the contents of path; with update it writes got to
// path instead.
func Check(tb testing.TB, path, got string, update bool) {
	tb.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		tb.Errorf("messages differ from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
