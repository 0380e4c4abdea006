package serving_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/internal/arrowipc/arrowipctest"
	"github.com/propensity-dev/propensity/serving/servingtest"
)

// scoreFile is a small batch score file: contact_id, a number and a timestamp, with its
// Arrow schema stored (ARROW:schema); or, when meta is not nil, with meta as the file's
// key-value metadata instead.
func scoreFile(tb testing.TB, meta map[string]string) []byte {
	tb.Helper()
	md := arrow.MetadataFrom(meta)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "contact_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "rules_total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "as_of", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, &md)
	props := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()) // as pyarrow writes by default
	if meta != nil {
		props = pqarrow.DefaultWriterProps() // meta's keys only
	}
	return servingtest.ArrowParquet(tb, schema, &props, func(b *array.RecordBuilder) {
		for i, id := range []string{"c-1", "c-2", ""} {
			if id == "" {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.StringBuilder).Append(id)
			}
			b.Field(1).(*array.Float64Builder).Append(float64(i) / 3)
			b.Field(2).(*array.TimestampBuilder).AppendTime(asOf)
		}
	})
}

// TestScoreFileSharedArrowSchemaIsRefused is issue 17, defect 1, in a file: a Parquet score
// file carries its Arrow schema as an IPC stream (key ARROW:schema), which pqarrow decodes
// with arrow-go. The 608-byte shared-table schema there must be refused, not expanded into
// 8^9 fields while models load.
func TestScoreFileSharedArrowSchemaIsRefused(t *testing.T) {
	attack := base64.StdEncoding.EncodeToString(arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8))
	path := filepath.Join(t.TempDir(), "scores.parquet")
	if err := os.WriteFile(path, scoreFile(t, map[string]string{"ARROW:schema": attack}), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	servingtest.UnderMemoryLimit(t, 256<<20, func() {
		_, err = serving.OpenContactStore(t.Context(), path)
	})
	if err == nil || !strings.Contains(err.Error(), "ARROW:schema") || !strings.Contains(err.Error(), "more than 1024 fields") {
		t.Fatalf("got %v, want the stored schema refused", err)
	}
	// The same file with the schema pqarrow itself stores opens, through the check.
	if err := os.WriteFile(path, scoreFile(t, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := serving.OpenContactStore(t.Context(), path); err != nil || s.Len() != 2 {
		t.Fatalf("valid file: %v", err)
	}
}

// FuzzOpenContactStore checks that no score file makes OpenContactStore panic: it is read
// when models are loaded, and a panic there would stop the server.
func FuzzOpenContactStore(f *testing.F) {
	f.Add(scoreFile(f, nil))
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

// TestDefect11ScoresFileDuplicateIDs (issue 17, defect 11): a batch score file with two rows
// for one contact_id is refused when loaded, naming the id and both rows; before, the last
// row won and the contact count was wrong.
func TestDefect11ScoresFileDuplicateIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scores.parquet")
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "contact_id", Type: arrow.BinaryTypes.String},
		{Name: "total", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	file := servingtest.ArrowParquet(t, schema, nil, func(b *array.RecordBuilder) {
		for i, id := range []string{"c-1", "c-2", "c-3", "c-2"} {
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).(*array.Int64Builder).Append(int64(i))
		}
	})
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := serving.OpenContactStore(context.Background(), path)
	if !errors.Is(err, serving.ErrDuplicateContact) || !strings.Contains(err.Error(), `"c-2" at rows 2 and 4`) {
		t.Errorf("error %v, want the duplicate c-2 named", err)
	}
}
