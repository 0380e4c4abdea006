package history

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data/synth"
)

// testAsOf is the synthetic generator's default as-of time.
var testAsOf = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

var (
	genOnce sync.Once
	genDir  string
	genErr  error
)

// TestMain removes the shared generated history when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if genDir != "" {
		os.RemoveAll(filepath.Dir(genDir))
	}
	os.Exit(code)
}

// generated returns a small synthetic history (shared by the tests of one run).
func generated(t testing.TB) string {
	t.Helper()
	genOnce.Do(func() {
		d, err := os.MkdirTemp("", "features-test-")
		if err != nil {
			genErr = err
			return
		}
		genDir = filepath.Join(d, "hist")
		_, genErr = synth.Generate(context.Background(), genDir, synth.Options{Contacts: 1000, Seed: 7, DuplicateRate: 0.1})
	})
	if genErr != nil {
		t.Fatalf("generating history: %v", genErr)
	}
	return genDir
}
