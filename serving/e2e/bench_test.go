package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/web"
)

// BenchmarkScore scores the load script's profile with the models of
// $PROPENSITY_BENCH_MODELS (a models directory), block by block.
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
	l := &serving.Loader{Dir: dir, Conversion: loadTabular, Churn: loadTabular, LTV: serving.LoadLTV, Personas: serving.LoadPersonas,
		Rules: func() (serving.RulesModel, error) { return serving.NewRules(cards, "embedded"), nil }}
	set, err := l.Load(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	p, err := features.DecodeProfile(strings.NewReader(body), now)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = features.DecodeProfile(bytes.NewReader([]byte(body)), now)
		}
	})
	b.Run("features", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = features.ComputeProfile(p, set.FeatureOptions)
		}
	})
	blocks := map[string]func(in *serving.Input){
		"rules":      func(in *serving.Input) { _, _ = set.Rules.Rules(in, "") },
		"conversion": func(in *serving.Input) { _, _ = set.Conversion.Predict(in) },
		"ltv":        func(in *serving.Input) { _, _ = set.LTV.LTV(in) },
		"persona":    func(in *serving.Input) { _, _ = set.Personas.Persona(in) },
	}
	for name, f := range blocks {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in := serving.NewInput(&p, set.FeatureOptions)
				_, _ = in.Features()
				f(in)
			}
		})
	}
	b.Run("http", func(b *testing.B) {
		reg := serving.NewRegistry(func(context.Context) (*serving.ModelSet, error) { return set, nil }, nil, nil)
		if _, err := reg.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
		srv := web.New(reg, web.Options{}, nil)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/score", strings.NewReader(body)))
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	sc := serving.NewScorer(serving.Static{Set: set}, nil)
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sc.ScoreWith(context.Background(), nil, &p, serving.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
