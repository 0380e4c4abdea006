package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/serving"
	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/config"
	"github.com/propensity-dev/propensity/serving/web"
)

// serveGCPercent is the GOGC of propensity serve when the environment sets none. A score
// allocates some 15 KB that are garbage once it is answered, while the live heap (models,
// buffers) is only about 5 MiB: at Go's default of 100 the collector runs some 50 times a
// second at 15,000 requests/s and takes about a tenth of the CPU. At 400 it runs a fifth as
// often, for a heap that peaks at five times the live heap instead of twice (RSS about
// 75 MiB instead of 60 MiB with the demo models). GOMEMLIMIT, when set, still bounds the heap.
const serveGCPercent = 400

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	return serve(ctx, env, args, nil)
}

// serve is runServe on a listener opened by the caller (the demo opens its port before the
// offline work, so that a busy port fails at once); nil opens --addr.
func serve(ctx context.Context, env *cliEnv, args []string, ln net.Listener) error {
	fs := newFlagSet(env, "serve", "--models DIR [--scorecard FILE] [--addr HOST:PORT] [--config FILE] [--store STOREDIR] [--triggers FILE]",
		"Serve scores over HTTP: POST /v1/score, /v1/score/batch, GET /v1/models, /metrics, /openapi.json.\n"+
			"SIGHUP or POST /v1/admin/reload reloads the models; a bad artifact is refused and the old models keep serving.\n"+
			fmt.Sprintf("The garbage collector runs at GOGC=%d unless GOGC is set (scoring allocates briskly and keeps little);\n", serveGCPercent)+
			"GOMEMLIMIT caps the heap as usual.\n"+
			"With --store the live routes are on: POST /v1/events, /v1/contacts, /v1/transactions, /v1/identities,\n"+
			"GET /v1/contacts/{id}[/score], DELETE /v1/contacts/{id}, GET /v1/admin/triggers (docs/operations.md).")
	models := fs.String("models", "", "models directory (conversion/, churn/, ltv/, personas/; each optional)")
	card := fs.String("scorecard", "", "scorecard YAML file or folder (default: the embedded "+data.DefaultScorecard+" scorecard)")
	addr := fs.String("addr", "", "listen address HOST:PORT (default "+config.DefaultConfig.Addr+")")
	cfgPath := fs.String("config", "", "YAML config file (keys, limits, timeouts, scores_file, store, triggers)")
	storeDir := fs.String("store", "", "live store directory (created when absent): turns on ingestion and scores by id")
	trigPath := fs.String("triggers", "", "triggers YAML file (webhooks on score transitions; needs --store)")
	if err := parseFlags(fs, args, false); err != nil {
		return err
	}
	cfg := config.DefaultConfig
	if *cfgPath != "" {
		c, err := config.LoadFile(*cfgPath)
		if err != nil {
			return badInput(err)
		}
		cfg = *c
	}
	if *models != "" {
		cfg.ModelsDir = *models
	}
	if *card != "" {
		cfg.Scorecard = *card
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *storeDir != "" {
		cfg.Store = *storeDir
	}
	if *trigPath != "" {
		cfg.Triggers = *trigPath
	}
	if err := requireFlags("models", cfg.ModelsDir); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return badInput(err)
	}
	apiKeys, err := v1.ParseKeyHashes(cfg.APIKeySHA256)
	if err != nil {
		return badInput(err)
	}
	adminKeys, err := v1.ParseKeyHashes(cfg.AdminKeySHA256)
	if err != nil {
		return badInput(err)
	}
	ingestKeys, err := v1.ParseKeyHashes(cfg.IngestKeySHA256)
	if err != nil {
		return badInput(err)
	}

	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}

	prom := prometheus.NewRegistry()
	prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	loader := newModelLoader(env.log, cfg.ModelsDir, cfg.Scorecard)
	loader.ScoresFile = cfg.ScoresFile
	reg := serving.NewRegistry(loader.Load, env.log, prom)
	if _, err := reg.Reload(ctx); err != nil {
		// What --models, --scorecard or the config point at cannot be used: bad input
		// (exit 2), like a bad flag, and nothing has been served yet.
		return badInput(fmt.Errorf("loading models: %w", err))
	}

	lv, err := startLive(ctx, env, &cfg, reg, prom)
	if err != nil {
		return err
	}
	defer lv.stop()

	gin.SetMode(gin.ReleaseMode)
	srv := web.New(reg, web.Options{
		API: v1.Options{
			APIKeySHA256: apiKeys, AdminKeySHA256: adminKeys,
			MaxBodyBytes: cfg.MaxBodyBytes, MaxBatchBodyBytes: cfg.MaxBatchBodyBytes, MaxBatchRows: cfg.MaxBatchRows,
			MaxConcurrentBatches: cfg.MaxConcurrentBatches,
			RequestTimeout:       time.Duration(cfg.RequestTimeout), BatchTimeout: time.Duration(cfg.BatchTimeout),
			Live: v1.LiveOptions{Service: lv.svc, IngestKeySHA256: ingestKeys,
				MaxIngestBodyBytes: cfg.MaxIngestBodyBytes, CheckpointDir: cfg.CheckpointDir},
		},
		Ready:             lv.ready,
		ReadHeaderTimeout: time.Duration(cfg.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(cfg.IdleTimeout),
		ShutdownTimeout:   time.Duration(cfg.ShutdownTimeout),
		AccessLog:         cfg.AccessLog,
		LogPersonalData:   cfg.LogPersonalData,
		Registerer:        prom,
		Gatherer:          prom,
	}, env.log)

	if ln == nil {
		if ln, err = listen("--addr", cfg.Addr); err != nil {
			return err
		}
	}
	if len(apiKeys) == 0 {
		if host, _, _ := net.SplitHostPort(cfg.Addr); host != "127.0.0.1" && host != "localhost" && host != "::1" {
			env.log.Warn("no API keys configured: /v1 is open to anyone who can reach " + cfg.Addr)
		}
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				env.log.Info("SIGHUP: reloading models")
				_, _ = reg.Reload(ctx) // a refusal is logged; the old set keeps serving
			}
		}
	}()
	return srv.Serve(ctx, ln)
}

// newModelLoader returns serving's loader of the models in modelsDir, with the scorecards
// of scorecardPath (or the embedded default); the score command uses it too.
func newModelLoader(log *slog.Logger, modelsDir, scorecardPath string) *serving.Loader {
	l := serving.NewLoader(modelsDir, log)
	l.Rules = func() (serving.RulesModel, error) { return loadRules(scorecardPath) }
	return l
}

func loadRules(path string) (serving.RulesModel, error) {
	set, err := loadScorecardFlag(path)
	if err != nil {
		return nil, err
	}
	return scorecardRules(set, path), nil
}

// listen opens addr for serving; an address that cannot be opened (in use, not ours, not an
// address) is bad usage of flag, exit 2, with what to do about it.
func listen(flag, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("%s %s: %v (choose another HOST:PORT; port 0 picks a free one)", flag, addr, err)
	}
	return ln, nil
}
