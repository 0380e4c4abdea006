// Package csvtest reads CSV files whole in tests, as a spreadsheet import would.
package csvtest

import (
	"encoding/csv"
	"os"
	"testing"
)

// ReadFile returns every record of the CSV file at path, failing t when it cannot be opened
// or parsed by encoding/csv (a ragged row included).
func ReadFile(t testing.TB, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no header", path)
	}
	return rows
}
