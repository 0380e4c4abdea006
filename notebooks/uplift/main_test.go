package uplift_test

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if nb.dir != "" {
		os.RemoveAll(nb.dir)
	}
	os.Exit(code)
}
