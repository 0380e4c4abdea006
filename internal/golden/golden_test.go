package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	Check(t, path, "one\n", true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("update wrote %q, %v", b, err)
	}
	Check(t, path, "one\n", false)
	var rec testing.T
	done := make(chan struct{})
	go func() { defer close(done); Check(&rec, path, "two\n", false) }()
	<-done
	if !rec.Failed() {
		t.Error("a different output passed")
	}
}
