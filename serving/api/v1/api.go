// Package v1 is version 1 of propensity's HTTP API, mounted under /v1: scoring, contact
// lookup, model listings and reload. Parameters are validated here, at the edge, and every
// error answers one JSON envelope (see ErrorBody).
package v1

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/serving"
)

// Registry is what the API needs of a model registry (*serving.Registry).
type Registry interface {
	serving.Source
	Reload(ctx context.Context) (*serving.ModelSet, error)
}

// Options configure the API. Zero values mean the defaults written in the comments.
type Options struct {
	// APIKeySHA256 holds the SHA-256 of each accepted API key; empty: /v1 is open.
	APIKeySHA256 [][32]byte
	// AdminKeySHA256 holds the SHA-256 of each admin key; empty: reload takes an API key.
	AdminKeySHA256 [][32]byte
	// MaxBodyBytes caps a request body (default 1 MiB); MaxBatchBodyBytes a batch body
	// (default 64 MiB). Larger bodies are answered 413 bad_data.
	MaxBodyBytes, MaxBatchBodyBytes int64
	// MaxBatchRows caps the profiles of one batch (default 100000).
	MaxBatchRows int
	// MaxConcurrentBatches caps the batch requests handled at once (default
	// DefaultMaxConcurrentBatches); one more is answered 503 unavailable with Retry-After.
	MaxConcurrentBatches int
	// RequestTimeout bounds a request (default 10s); BatchTimeout a batch (default 5m).
	RequestTimeout, BatchTimeout time.Duration
	// Now gives the default as-of time of profiles without one; nil means time.Now.
	Now func() time.Time
	// Live configures the live contact routes (ingestion, score by id, erasure, triggers).
	Live LiveOptions
}

// DefaultMaxConcurrentBatches is the default of Options.MaxConcurrentBatches.
const DefaultMaxConcurrentBatches = 4

// ParseKeyHashes decodes hex SHA-256 strings (as stored in the config file).
func ParseKeyHashes(hexes []string) ([][32]byte, error) {
	out := make([][32]byte, 0, len(hexes))
	for i, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("key hash %d: not a hex SHA-256", i)
		}
		out = append(out, [32]byte(b))
	}
	return out, nil
}

// API serves /v1.
type API struct {
	reg    Registry
	scorer *serving.Scorer
	opts   Options
	log    *slog.Logger
	bufs   sync.Pool // request body buffers
	enc    *serving.JSONEncoder
	out    sync.Pool // response buffers (*[]byte)
	// batches holds a token per batch request in progress (MaxConcurrentBatches).
	batches chan struct{}
}

// New returns the API over reg.
func New(reg Registry, opts Options, logger *slog.Logger) *API {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.MaxBatchBodyBytes <= 0 {
		opts.MaxBatchBodyBytes = 64 << 20
	}
	if opts.MaxBatchRows <= 0 {
		opts.MaxBatchRows = 100000
	}
	if opts.MaxConcurrentBatches <= 0 {
		opts.MaxConcurrentBatches = DefaultMaxConcurrentBatches
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &API{reg: reg, scorer: serving.NewScorer(reg, opts.Now), opts: opts, log: logger, enc: serving.NewJSONEncoder(),
		batches: make(chan struct{}, opts.MaxConcurrentBatches)}
}

// Register mounts the API's routes on g (the /v1 group).
func (a *API) Register(g *gin.RouterGroup) {
	read := requireKey(a.opts.APIKeySHA256)
	api := g.Group("", read)
	api.POST("/score", a.score)
	api.POST("/score/batch", a.scoreBatch)
	api.GET("/contacts/:id", a.contact)
	api.GET("/models", a.models)
	api.GET("/personas", a.personas)
	api.GET("/scorecards", a.scorecards)

	adminKeys := a.opts.AdminKeySHA256
	if len(adminKeys) == 0 {
		adminKeys = a.opts.APIKeySHA256
	}
	admin := g.Group("/admin", requireKey(adminKeys))
	admin.POST("/reload", a.reload)
	if a.opts.Live.Service != nil {
		a.registerLive(g, read, requireKey(adminKeys))
	}
}

// requireKey refuses requests without one of the keys whose hashes are given (none: open).
// Keys come as "Authorization: Bearer KEY" or "X-API-Key: KEY"; the hash of the given key is
// compared with every stored hash in constant time.
func requireKey(hashes [][32]byte) gin.HandlerFunc {
	if len(hashes) == 0 {
		return func(*gin.Context) {}
	}
	return func(c *gin.Context) {
		key := c.GetHeader("X-API-Key")
		if key == "" {
			if auth := c.GetHeader("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
				key = strings.TrimSpace(auth[7:])
			}
		}
		if key == "" {
			c.Header("WWW-Authenticate", `Bearer realm="propensity"`)
			WriteError(c, ErrUnauthorized, "missing API key (Authorization: Bearer KEY or X-API-Key: KEY)")
			return
		}
		sum := sha256.Sum256([]byte(key))
		match := 0
		for i := range hashes {
			match |= subtle.ConstantTimeCompare(sum[:], hashes[i][:])
		}
		if match != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="propensity", error="invalid_token"`)
			WriteError(c, ErrUnauthorized, "invalid API key")
			return
		}
		c.Next()
	}
}

// limitBody caps the request body at n bytes, refusing at once a declared larger length,
// and gives the client until timeout to send it (a slow body cannot hold a connection for
// the server-wide read timeout).
func limitBody(c *gin.Context, n int64, timeout time.Duration) bool {
	if c.Request.ContentLength > n {
		WriteErrorStatus(c, http.StatusRequestEntityTooLarge, ErrBadData,
			fmt.Sprintf("request body larger than %d bytes", n))
		return false
	}
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(timeout)) // unsupported writers (tests): no deadline
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
	return true
}

// scoreOptions validates the query parameters of the score routes.
func scoreOptions(c *gin.Context) (serving.Options, error) {
	var o serving.Options
	if c.Request.URL.RawQuery == "" {
		return o, nil
	}
	for k := range c.Request.URL.Query() {
		if k != "scorecard" {
			return o, badData(fmt.Sprintf("unknown query parameter %q", k))
		}
	}
	o.Scorecard = c.Query("scorecard")
	return o, nil
}

func (a *API) score(c *gin.Context) {
	opts, err := scoreOptions(c)
	if err != nil {
		writeErr(c, err)
		return
	}
	if !limitBody(c, a.opts.MaxBodyBytes, a.opts.RequestTimeout) {
		return
	}
	set := a.reg.Current()
	if set == nil {
		writeErr(c, serving.ErrNotReady)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.opts.RequestTimeout)
	defer cancel()
	p, err := decodeOne(&a.bufs, c.Request.Body, a.opts.Now())
	if err != nil {
		writeErr(c, err)
		return
	}
	resp, err := a.scorer.ScoreWith(ctx, set, &p, opts)
	if err != nil {
		writeErr(c, err)
		return
	}
	a.writeResponse(c, &resp)
}

// writeResponse answers resp, as c.JSON would but through the faster encoder when it can.
func (a *API) writeResponse(c *gin.Context, resp *serving.Response) {
	buf, _ := a.out.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	b, ok := a.enc.Append((*buf)[:0], resp)
	if !ok {
		a.out.Put(buf)
		c.JSON(http.StatusOK, resp)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
	if cap(b) <= 64<<10 {
		*buf = b
		a.out.Put(buf)
	}
}

func (a *API) contact(c *gin.Context) {
	if a.opts.Live.Service != nil {
		a.liveContact(c)
		return
	}
	set := a.reg.Current()
	if set == nil {
		writeErr(c, serving.ErrNotReady)
		return
	}
	if set.Contacts == nil {
		WriteError(c, ErrNotFound, "no batch score file configured (scores_file)")
		return
	}
	row, ok := set.Contacts.Lookup(c.Param("id"))
	if !ok {
		WriteError(c, ErrNotFound, "contact not in the batch score file")
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", row)
}

// ModelsResponse is the answer of GET /v1/models.
type ModelsResponse struct {
	LoadedAt   time.Time               `json:"loaded_at"`
	Artifacts  []serving.Artifact      `json:"artifacts"`
	Scorecards []serving.ScorecardInfo `json:"scorecards"`
	// Unavailable names the blocks no loaded model provides.
	Unavailable []string `json:"unavailable"`
	// ScoresFile describes the batch score file behind /v1/contacts, when configured.
	ScoresFile *ScoresFileInfo `json:"scores_file,omitempty"`
}

// ScoresFileInfo describes the loaded batch score file.
type ScoresFileInfo struct {
	Path     string    `json:"path"`
	ModTime  time.Time `json:"mod_time"`
	Contacts int       `json:"contacts"`
}

func modelsOf(set *serving.ModelSet) ModelsResponse {
	r := ModelsResponse{LoadedAt: set.LoadedAt, Artifacts: set.Artifacts, Scorecards: []serving.ScorecardInfo{}, Unavailable: []string{}}
	if r.Artifacts == nil {
		r.Artifacts = []serving.Artifact{}
	}
	if set.Rules != nil {
		for _, i := range set.Rules.Scorecards() {
			i.Detail = nil
			r.Scorecards = append(r.Scorecards, i)
		}
	}
	for _, b := range []struct {
		name    string
		missing bool
	}{
		{serving.BlockRules, set.Rules == nil}, {serving.BlockConversion, set.Conversion == nil},
		{serving.BlockChurn, set.Churn == nil}, {serving.BlockLTV, set.LTV == nil}, {serving.BlockPersona, set.Personas == nil},
	} {
		if b.missing {
			r.Unavailable = append(r.Unavailable, b.name)
		}
	}
	if cs := set.Contacts; cs != nil {
		r.ScoresFile = &ScoresFileInfo{Path: cs.Path, ModTime: cs.ModTime, Contacts: cs.Len()}
	}
	return r
}

func (a *API) models(c *gin.Context) {
	set := a.reg.Current()
	if set == nil {
		writeErr(c, serving.ErrNotReady)
		return
	}
	c.JSON(http.StatusOK, modelsOf(set))
}

// PersonasResponse is the answer of GET /v1/personas.
type PersonasResponse struct {
	ModelVersion string                `json:"model_version"`
	Personas     []serving.PersonaInfo `json:"personas"`
}

func (a *API) personas(c *gin.Context) {
	set := a.reg.Current()
	if set == nil {
		writeErr(c, serving.ErrNotReady)
		return
	}
	if set.Personas == nil {
		WriteError(c, ErrUnavailable, "no personas model loaded")
		return
	}
	r := PersonasResponse{Personas: set.Personas.Personas()}
	for _, art := range set.Artifacts {
		if art.Kind == "personas" {
			r.ModelVersion = art.Manifest.Version
		}
	}
	if r.Personas == nil {
		r.Personas = []serving.PersonaInfo{}
	}
	sort.Slice(r.Personas, func(i, j int) bool { return r.Personas[i].ID < r.Personas[j].ID })
	c.JSON(http.StatusOK, r)
}

// ScorecardsResponse is the answer of GET /v1/scorecards, in the order audiences are tried.
type ScorecardsResponse struct {
	Scorecards []serving.ScorecardInfo `json:"scorecards"`
}

func (a *API) scorecards(c *gin.Context) {
	set := a.reg.Current()
	if set == nil {
		writeErr(c, serving.ErrNotReady)
		return
	}
	r := ScorecardsResponse{Scorecards: []serving.ScorecardInfo{}}
	if set.Rules != nil {
		r.Scorecards = append(r.Scorecards, set.Rules.Scorecards()...)
	}
	c.JSON(http.StatusOK, r)
}

func (a *API) reload(c *gin.Context) {
	set, err := a.reg.Reload(c.Request.Context())
	if err != nil {
		WriteError(c, ErrUnavailable, "reload refused, the previous models keep serving: "+err.Error())
		return
	}
	c.JSON(http.StatusOK, modelsOf(set))
}
