package history

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/propensity-dev/propensity/features"
)

// BenchmarkBuild builds the full feature set of the history in $PROPENSITY_BENCH_HISTORY (for
// example a 1M-contact generated history), or of the small generated test history.
func BenchmarkBuild(b *testing.B) {
	dir := os.Getenv("PROPENSITY_BENCH_HISTORY")
	if dir == "" {
		dir = generated(b)
	}
	var events int64
	for b.Loop() {
		tb, rep, err := Build(context.Background(), dir, features.Options{AsOf: testAsOf, Horizon: 90 * 24 * 3600e9})
		if err != nil {
			b.Fatal(err)
		}
		events = rep.Events
		tb.Release()
	}
	b.ReportAllocs()
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWriteParquet writes the feature table of the small generated history.
func BenchmarkWriteParquet(b *testing.B) {
	tb, _, err := Build(context.Background(), generated(b), features.Options{AsOf: testAsOf})
	if err != nil {
		b.Fatal(err)
	}
	defer tb.Release()
	out := filepath.Join(b.TempDir(), "f.parquet")
	for b.Loop() {
		if err := WriteParquet(out, tb); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ReportMetric(float64(tb.Len())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
