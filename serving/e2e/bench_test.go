package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/web"
)

// cpuTime returns the CPU time (user + system) the process has used. The benchmarks report it
// per operation next to ns/op, which on a shared machine counts the time other jobs hold
// the CPU too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f b.N times, reporting allocations and process CPU time per operation.
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkScore scores the load script's profile with the models of
// $PROPENSITY_BENCH_MODELS (a models directory): decoding, online features, each block (with
// the features, as a score computes them once for all blocks), the whole score, and the
// whole request through the HTTP handler.
func BenchmarkScore(b *testing.B) {
	dir := os.Getenv("PROPENSITY_BENCH_MODELS")
	if dir == "" {
		b.Skip("PROPENSITY_BENCH_MODELS not set")
	}
	lua, err := os.ReadFile("../../scripts/load_serve.lua")
	if err != nil {
		b.Fatal(err)
	}
	s := string(lua)
	body := s[strings.Index(s, "[[")+2 : strings.Index(s, "]]")]
	cardYAML, _ := data.Scorecard(data.DefaultScorecard)
	cards, err := scorecard.Parse(cardYAML, data.DefaultScorecard)
	if err != nil {
		b.Fatal(err)
	}
	l := serving.NewLoader(dir, nil)
	l.Rules = func() (serving.RulesModel, error) { return serving.NewRules(cards, "embedded"), nil }
	set, err := l.Load(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	p, err := features.DecodeProfile(strings.NewReader(body), now)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode-strict", func(b *testing.B) {
		loop(b, func() { _, _ = features.DecodeProfile(bytes.NewReader([]byte(body)), now) })
	})
	b.Run("features", func(b *testing.B) {
		loop(b, func() { _, _ = set.Input(&p).Features() })
	})
	blocks := []struct {
		name string
		f    func(in *serving.Input)
	}{
		{"rules", func(in *serving.Input) { _, _ = set.Rules.Rules(in, "") }},
		{"conversion", func(in *serving.Input) { _, _ = set.Conversion.Predict(in) }},
		{"ltv", func(in *serving.Input) { _, _ = set.LTV.LTV(in) }},
		{"persona", func(in *serving.Input) { _, _ = set.Personas.Persona(in) }},
	}
	for _, blk := range blocks {
		b.Run("features+"+blk.name, func(b *testing.B) {
			loop(b, func() {
				in := set.Input(&p)
				_, _ = in.Features()
				blk.f(in)
			})
		})
	}
	sc := serving.NewScorer(serving.Static{Set: set}, nil)
	b.Run("score", func(b *testing.B) {
		loop(b, func() {
			if _, err := sc.ScoreWith(context.Background(), nil, &p, serving.Options{}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("http", func(b *testing.B) {
		reg := serving.NewRegistry(func(context.Context) (*serving.ModelSet, error) { return set, nil }, nil, nil)
		if _, err := reg.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
		srv := web.New(reg, web.Options{}, nil)
		loop(b, func() {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/score", strings.NewReader(body)))
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		})
	})
}
