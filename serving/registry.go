package serving

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LoadFunc loads a complete model set, or fails without side effects.
type LoadFunc func(ctx context.Context) (*ModelSet, error)

// Registry holds the model set in use and swaps in a new one atomically on Reload. Readers
// (Current) never block and never see a half-loaded set; a set that fails to load is refused
// and the old one keeps serving.
type Registry struct {
	load LoadFunc
	log  *slog.Logger
	cur  atomic.Pointer[ModelSet]
	mu   sync.Mutex // serialises reloads

	reloads    *prometheus.CounterVec
	lastReload prometheus.Gauge
	info       *prometheus.GaugeVec
}

// NewRegistry returns an empty registry (not ready) that loads sets with load. Its metrics are
// registered with reg (nil: not registered).
func NewRegistry(load LoadFunc, logger *slog.Logger, reg prometheus.Registerer) *Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{
		load: load,
		log:  logger,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "propensity_model_reloads_total",
			Help: "Model set loads, by result (success, failure).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "propensity_model_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful model set load.",
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "propensity_model_info",
			Help: "Models in use (value 1), by kind, model and version.",
		}, []string{"kind", "model", "version"}),
	}
	r.reloads.WithLabelValues("success")
	r.reloads.WithLabelValues("failure")
	if reg != nil {
		reg.MustRegister(r.reloads, r.lastReload, r.info)
	}
	return r
}

// Current returns the set in use, or nil before the first successful load.
func (r *Registry) Current() *ModelSet { return r.cur.Load() }

// Ready reports whether a model set is loaded.
func (r *Registry) Ready() bool { return r.cur.Load() != nil }

// Reload loads a new set and, if it loads, makes it current. On failure the current set
// stays in use and the error is returned.
func (r *Registry) Reload(ctx context.Context) (*ModelSet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	set, err := r.load(ctx)
	if err != nil {
		r.reloads.WithLabelValues("failure").Inc()
		r.log.Error("model set refused; keeping the current one", "err", err, "serving", r.Ready())
		return nil, err
	}
	if set.LoadedAt.IsZero() {
		set.LoadedAt = time.Now().UTC()
	}
	r.Swap(set)
	r.log.Info("model set loaded", "artifacts", len(set.Artifacts),
		"took", time.Since(start).Round(time.Millisecond))
	return set, nil
}

// Swap makes set current without loading (tests, embedding programs). It updates the metrics
// as a successful reload does.
func (r *Registry) Swap(set *ModelSet) {
	r.cur.Store(set)
	r.reloads.WithLabelValues("success").Inc()
	r.lastReload.Set(float64(set.LoadedAt.Unix()))
	r.info.Reset()
	for _, a := range set.Artifacts {
		r.info.WithLabelValues(a.Kind, a.Manifest.Model, a.Manifest.Version).Set(1)
	}
	if set.Rules != nil {
		for _, i := range set.Rules.Scorecards() {
			r.info.WithLabelValues("scorecard", i.Name, i.Version).Set(1)
		}
	}
}
