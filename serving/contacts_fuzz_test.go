package serving_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/serving"
)

// scoreFile is a small batch score file: contact_id, a number and a timestamp.
func scoreFile(tb testing.TB) []byte {
	tb.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "contact_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "rules_total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "as_of", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, id := range []string{"c-1", "c-2", ""} {
		if id == "" {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(id)
		}
		b.Field(1).(*array.Float64Builder).Append(float64(i) / 3)
		b.Field(2).(*array.TimestampBuilder).AppendTime(asOf)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzOpenContactStore checks that no score file makes OpenContactStore panic: it is read
// when models are loaded, and a panic there would stop the server.
func FuzzOpenContactStore(f *testing.F) {
	f.Add(scoreFile(f))
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "scores.parquet")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := serving.OpenContactStore(context.Background(), path)
		if err != nil {
			return
		}
		if s.Len() < 0 {
			t.Fatal("negative length")
		}
	})
}

// FuzzManifestFeatureOptions checks the reading of the feature options recorded in a
// manifest: no panic, and the per-run fields (as-of time, horizon) never carried over.
func FuzzManifestFeatureOptions(f *testing.F) {
	for _, s := range []string{
		`{"features": {"half_life_days": 30, "attributes": [{"name": "age"}, {"name": "city", "categorical": true}]}}`,
		`{"features": {"as_of": "2026-01-01T00:00:00Z", "horizon": 5}}`,
		`{"features": null}`, `{}`, `null`, `[`, `{"features": {"attributes": "age"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, ok := serving.ManifestFeatureOptions(artifact.Manifest{Options: b})
		if ok && (!o.AsOf.IsZero() || o.Horizon != 0) {
			t.Fatalf("per-run options carried over: %v %v", o.AsOf, o.Horizon)
		}
	})
}
