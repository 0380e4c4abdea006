package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/config"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/triggers"
)

// liveParts are the running pieces of the live side of serve: the store, the service, and
// the dispatcher and sweep goroutines.
type liveParts struct {
	st     *store.Store
	svc    *live.Service
	open   atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ready reports whether the store is open (always true without a store).
func (l *liveParts) ready() bool { return l.st == nil || l.open.Load() }

// stop ends the dispatcher and the sweep, then closes the store.
func (l *liveParts) stop() {
	if l.st == nil {
		return
	}
	l.open.Store(false)
	l.cancel()
	l.wg.Wait()
	_ = l.st.Close()
}

// startLive opens the store of cfg and starts the live service (nothing without a store).
func startLive(ctx context.Context, env *cliEnv, cfg *config.Config, src serving.Source, reg prometheus.Registerer) (*liveParts, error) {
	l := &liveParts{}
	if cfg.Store == "" {
		return l, nil
	}
	var tc *triggers.Config
	if cfg.Triggers != "" {
		c, err := triggers.Load(cfg.Triggers)
		if err != nil {
			return nil, badInput(err)
		}
		tc = c
	}
	st, err := store.Open(cfg.Store, store.Options{Logger: env.log, CacheBytes: cfg.StoreCacheBytes,
		SyncInterval: time.Duration(cfg.StoreSyncInterval), MemTableBytes: cfg.StoreMemTableBytes})
	if err != nil {
		if errors.Is(err, store.ErrFormat) {
			return nil, badInput(err)
		}
		return nil, fmt.Errorf("--store: %w", err)
	}
	l.st = st
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	var d *triggers.Dispatcher
	if tc != nil {
		d = triggers.NewDispatcher(tc, st, triggers.DispatcherOptions{Logger: env.log, Registerer: reg})
		l.wg.Add(1)
		go func() { defer l.wg.Done(); _ = d.Run(lctx) }()
	}
	l.svc = live.New(st, src, live.Options{Triggers: tc, Dispatcher: d, Logger: env.log, Registerer: reg,
		SweepInterval: time.Duration(cfg.TriggerSweepInterval)})
	if tc != nil {
		l.wg.Add(1)
		go func() { defer l.wg.Done(); _ = l.svc.RunSweep(lctx) }()
	}
	l.open.Store(true)
	env.log.Info("live store open", "triggers", len(triggersOf(tc)))
	return l, nil
}

func triggersOf(c *triggers.Config) []triggers.Trigger {
	if c == nil {
		return nil
	}
	return c.Triggers
}
