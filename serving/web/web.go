// Package web assembles propensity's HTTP server: a Gin engine with explicit middleware
// (recovery answering the JSON error envelope, Prometheus metrics, logs without personal
// data), the /v1 API, health and readiness probes, /metrics and /openapi.json; and runs it
// with graceful shutdown.
//
// The caller sets Gin's mode (gin.SetMode(gin.ReleaseMode)); this package has no init.
package web

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	v1 "github.com/propensity-dev/propensity/serving/api/v1"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the server (served at GET /openapi.json).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// Registry is what the server needs of a model registry (*serving.Registry).
type Registry interface {
	v1.Registry
	Ready() bool
}

// Options configure the server. Zero durations mean the defaults in the comments.
type Options struct {
	// API configures /v1.
	API v1.Options
	// ReadHeaderTimeout bounds reading request headers (default 5s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 2m).
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown (default 30s).
	ShutdownTimeout time.Duration
	// AccessLog logs every request at info level; otherwise only 5xx answers are logged.
	AccessLog bool
	// LogPersonalData adds request paths (which may hold contact ids) and client addresses
	// to log lines. Off by default: logs carry route templates only.
	LogPersonalData bool
	// Ready, when set, must also report true for /readyz to answer ready (the live store
	// is open).
	Ready func() bool
	// Registerer receives the server's metrics (nil: not registered); Gatherer is what
	// GET /metrics exposes (nil: an empty registry).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Server is the HTTP handler of propensity serve.
type Server struct {
	engine *gin.Engine
	reg    Registry
	opts   Options
	log    *slog.Logger

	routes map[string]bool // route templates: the values of the route label, with "unmatched"

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// New returns the server over reg.
func New(reg Registry, opts Options, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 5 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{
		reg:  reg,
		opts: opts,
		log:  logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "propensity_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "propensity_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "propensity_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.requests, s.duration, s.inFlight)
	}

	e := gin.New()
	e.HandleMethodNotAllowed = true
	_ = e.SetTrustedProxies(nil) // client addresses are not used; never trust forwarded headers
	e.Use(s.observe, s.recover)
	e.NoRoute(func(c *gin.Context) { v1.WriteError(c, v1.ErrNotFound, "no such route") })
	e.NoMethod(func(c *gin.Context) {
		v1.WriteErrorStatus(c, http.StatusMethodNotAllowed, v1.ErrBadData, "method not allowed on this route")
	})

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", func(c *gin.Context) {
		if !s.reg.Ready() {
			v1.WriteError(c, v1.ErrUnavailable, "models not loaded yet")
			return
		}
		if s.opts.Ready != nil && !s.opts.Ready() {
			v1.WriteError(c, v1.ErrUnavailable, "store not open yet")
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", openAPI)
	})
	v1.New(reg, opts.API, logger).Register(e.Group("/v1"))
	s.engine = e
	s.routes = map[string]bool{}
	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Routes lists the registered routes (method and Gin path).
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// methodLabel maps a request method to the closed set of label values: the methods of
// RFC 9110 and PATCH as they are, anything else (the client chooses it freely) "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// routeLabel maps the matched route to the closed set of label values: a registered route
// template, or "unmatched" for an unknown path or a known one with the wrong method.
func (s *Server) routeLabel(c *gin.Context) string {
	if r := c.FullPath(); s.routes[r] {
		return r
	}
	return "unmatched"
}

// observe counts requests and their latency by route template, and logs failures (every
// request with AccessLog). Paths and client addresses are logged only with LogPersonalData.
// Every label value comes from a closed set, so that clients cannot create series: each
// series costs memory for the life of the process and lengthens every scrape.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	s.inFlight.Inc()
	defer s.inFlight.Dec()
	c.Next()
	route := s.routeLabel(c)
	method := methodLabel(c.Request.Method)
	status := c.Writer.Status()
	code := strconv.Itoa(status)
	took := time.Since(start)
	s.requests.WithLabelValues(route, method, code).Inc()
	s.duration.WithLabelValues(route, method, code).Observe(took.Seconds())
	if !s.opts.AccessLog && status < 500 {
		return
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("method", method), slog.String("route", route),
		slog.Int("status", status), slog.Duration("took", took), slog.Int("bytes", c.Writer.Size()),
	}
	if s.opts.LogPersonalData {
		attrs = append(attrs, slog.String("path", c.Request.URL.Path), slog.String("client", c.Request.RemoteAddr))
	}
	if len(c.Errors) > 0 {
		attrs = append(attrs, slog.String("err", c.Errors.Last().Error()))
	}
	s.log.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// recover turns a panic in a handler into a 500 internal error envelope.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if r == http.ErrAbortHandler {
			panic(r)
		}
		s.log.Error("panic while answering a request", "route", c.FullPath(), "panic", fmt.Sprint(r),
			"stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		v1.WriteError(c, v1.ErrInternal, "internal error")
	}()
	c.Next()
}

// Serve answers requests on ln until ctx is done, then shuts down gracefully: it stops
// accepting connections and waits (up to ShutdownTimeout) for in-flight requests to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	writeTimeout := s.opts.API.BatchTimeout
	if writeTimeout <= 0 {
		writeTimeout = 5 * time.Minute
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       writeTimeout,
		WriteTimeout:      writeTimeout + 10*time.Second,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down; finishing in-flight requests", "timeout", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
