package leadscoring_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/notebooks/internal/figures"
	"github.com/propensity-dev/propensity/training/tabular"
)

// The cells share one generated history, built on first use by sampleHistory() and removed by
// TestMain. Each cell also works alone: go test -run Example_rulesVersusModel.

const horizon = 90 * 24 * time.Hour

type notebook struct {
	once sync.Once
	err  error
	dir  string         // the generated history
	sum  *synth.Summary // what the generator reports
	asOf time.Time      // T
	card *scorecard.Set // the dealership scorecard

	mu      sync.Mutex
	trained map[string]trained // conversion models by learner name (cell "model")
}

type trained struct {
	res *tabular.Result
	sum tabular.Summary
}

var nb notebook

func TestMain(m *testing.M) {
	code := m.Run()
	if nb.dir != "" {
		os.RemoveAll(nb.dir)
	}
	figures.Remove()
	os.Exit(code)
}

// sampleHistory generates the sample history once.
func sampleHistory() *notebook {
	nb.once.Do(func() {
		dir, err := os.MkdirTemp("", "propensity-leadscoring-")
		if err != nil {
			nb.err = err
			return
		}
		nb.dir = dir
		nb.sum, nb.err = synth.Generate(context.Background(), filepath.Join(dir, "history"), synth.Options{Contacts: 3000, Seed: 1})
		if nb.err != nil {
			return
		}
		nb.asOf = nb.sum.AsOf
		var yaml []byte
		if yaml, nb.err = data.Scorecard("dealership"); nb.err != nil {
			return
		}
		nb.card, nb.err = scorecard.Parse(yaml, "dealership.yaml")
	})
	must(nb.err)
	return &nb
}

// conversionModel trains a conversion model once per learner (classifier.ModelLogistic or
// classifier.ModelGBT), as `propensity train conversion --data DIR --as-of T --horizon 90d
// --model NAME` does (with its history-mode settings, tabular.HistoryDefaults), and writes
// its artifact under modelsDir(model)/conversion.
func (n *notebook) conversionModel(ctx context.Context, model string) (*tabular.Result, tabular.Summary) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.trained[model]; ok {
		return t.res, t.sum
	}
	res, sum, err := tabular.HistoryJob{
		Dir: n.historyDir(), Target: artifact.KindConversion, AsOf: n.asOf, Horizon: horizon,
		Train: tabular.HistoryDefaults(tabular.Options{Model: model, Seed: 1}),
		Out:   n.modelsDir(model),
	}.Run(ctx)
	must(err)
	if n.trained == nil {
		n.trained = map[string]trained{}
	}
	n.trained[model] = trained{res, sum}
	return res, sum
}

// modelsDir is the models directory of one learner's conversion artifact.
func (n *notebook) modelsDir(model string) string { return filepath.Join(n.dir, "models-"+model) }

// historyDir is the generated history.
func (n *notebook) historyDir() string { return filepath.Join(n.dir, "history") }

// must stops a cell: a panic fails the example with the error.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// prospects returns, for everyone with no purchase before T, their scorecard result at T
// and whether they converted in [T, T+H).
func prospects(ctx context.Context, n *notebook) (results []scorecard.Result, converted []float64) {
	_, err := history.ForEachPerson(ctx, n.historyDir(), features.Options{AsOf: n.asOf, Horizon: horizon}, func(p *history.Person) error {
		y, ok := label(p, n.asOf)
		if !ok {
			return nil
		}
		in := scorecard.Input{ContactID: p.ContactID, AsOf: n.asOf, Attributes: p.Attributes}
		for _, e := range p.Events {
			in.Events = append(in.Events, scorecard.Event{TS: e.TS, Type: e.Type, Page: e.Page, Channel: e.Channel, Campaign: e.Campaign, Value: e.Value})
		}
		r, err := n.card.Score(in)
		if err != nil {
			return err
		}
		results = append(results, r)
		converted = append(converted, y)
		return nil
	})
	must(err)
	return results, converted
}

// label reports whether p is a prospect at t (no purchase before it) and whether it bought
// in [t, t+horizon): label_converted of the feature table.
func label(p *history.Person, t time.Time) (y float64, prospect bool) {
	for _, tx := range p.Transactions {
		if tx.TS.Before(t) {
			return 0, false
		}
		if tx.TS.Before(t.Add(horizon)) {
			y = 1
		}
	}
	return y, true
}

// pct formats a share as a percentage with one decimal.
func pct(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}
