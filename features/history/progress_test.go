package history

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/progress"
)

// TestProgress: Build and the walks over people report their phases to the context's
// reporter: every event row read, and every person, is counted once, and each phase ends.
func TestProgress(t *testing.T) {
	dir := generated(t)
	asOf := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rec progress.Recorder
	ctx := progress.WithReporter(context.Background(), &rec)
	tab, rep, err := Build(ctx, dir, features.Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	people := int64(tab.Len())
	tab.Release()
	var events int64 // rows of the events file (it may be reported once per pass)
	for _, f := range rep.Files {
		if filepath.Base(f.File) == "events.parquet" {
			events = max(events, f.Rows)
		}
	}
	check := func(rec *progress.Recorder, phase string, wantTotal, wantUnits int64) {
		t.Helper()
		found := false
		for _, p := range rec.Phases() {
			if p.Phase != phase {
				continue
			}
			found = true
			units, done := p.Done()
			if !done || units != wantUnits || (wantTotal >= 0 && p.Total != wantTotal) {
				t.Errorf("phase %q: total %d, units %d, done %v; want total %d, units %d, done", phase, p.Total, units, done, wantTotal, wantUnits)
			}
		}
		if !found {
			t.Errorf("no phase %q among %d", phase, len(rec.Phases()))
		}
	}
	if events == 0 {
		t.Fatalf("report has no events rows: %+v", rep.Files)
	}
	check(&rec, "reading events.parquet", events, events)
	check(&rec, "computing features", people, people)

	var walked progress.Recorder
	n := 0
	if _, err := ForEachPerson(progress.WithReporter(context.Background(), &walked), dir, features.Options{AsOf: asOf}, func(*Person) error {
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check(&walked, "walking people", int64(n), int64(n))
}
