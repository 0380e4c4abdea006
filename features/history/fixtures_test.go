package history

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Row types for hand-written history fixtures, shaped as docs/contract.md §1.
type contactRow struct {
	ContactID string  `parquet:"contact_id"`
	CreatedAt int64   `parquet:"created_at,timestamp(microsecond),optional"`
	Email     string  `parquet:"email,optional"`
	Stage     string  `parquet:"stage,optional"`
	Age       float64 `parquet:"age,optional"`
	Plan      string  `parquet:"plan,optional"`
}

type eventRowT struct {
	TS          int64    `parquet:"ts,timestamp(microsecond),optional"`
	Type        string   `parquet:"type,optional"`
	ContactID   string   `parquet:"contact_id,optional"`
	AnonymousID string   `parquet:"anonymous_id,optional"`
	Email       string   `parquet:"email,optional"`
	Page        string   `parquet:"page,optional"`
	Value       *float64 `parquet:"value,optional"`
}

type txRowT struct {
	ContactID string  `parquet:"contact_id,optional"`
	TS        int64   `parquet:"ts,timestamp(microsecond),optional"`
	Amount    float64 `parquet:"amount"`
	Product   string  `parquet:"product,optional"`
}

type idRowT struct {
	IDA string `parquet:"id_a,optional"`
	IDB string `parquet:"id_b,optional"`
	TS  int64  `parquet:"ts,timestamp(microsecond),optional"`
}

// writeRows writes rows as a Parquet file.
func writeRows[T any](t testing.TB, path string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeRowsTo(f, rows); err != nil {
		t.Fatal(err)
	}
}

func writeRowsTo[T any](w io.Writer, rows []T) error {
	pw := parquet.NewGenericWriter[T](w)
	if _, err := pw.Write(rows); err != nil {
		return err
	}
	return pw.Close()
}

// copyFile copies src to dst.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
