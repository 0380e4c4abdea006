package v1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/triggers"
)

// LiveOptions configure the live contact routes (present when Options.Live is set).
type LiveOptions struct {
	// Service is the live contacts service; nil: the live routes are not mounted and
	// GET /v1/contacts/{id} answers rows of the batch score file.
	Service *live.Service
	// IngestKeySHA256 holds the SHA-256 of each ingest key, which may post records but not
	// read scores. Admin keys may post records too. With neither ingest nor admin keys,
	// the API keys may post records.
	IngestKeySHA256 [][32]byte
	// MaxIngestBodyBytes caps the body of an ingestion request (default 16 MiB).
	MaxIngestBodyBytes int64
	// CheckpointDir is where POST /v1/admin/checkpoint writes store checkpoints ("":
	// the route answers unavailable).
	CheckpointDir string
}

// registerLive mounts the live routes: ingestion under the ingest keys, score and profile
// by id under the API (read) keys, erasure and trigger administration under the admin keys.
func (a *API) registerLive(g *gin.RouterGroup, read, admin gin.HandlerFunc) {
	lo := &a.opts.Live
	if lo.MaxIngestBodyBytes <= 0 {
		lo.MaxIngestBodyBytes = 16 << 20
	}
	ingestKeys := append(append([][32]byte{}, lo.IngestKeySHA256...), a.opts.AdminKeySHA256...)
	if len(ingestKeys) == 0 {
		ingestKeys = a.opts.APIKeySHA256
	}
	ing := g.Group("", requireKey(ingestKeys))
	for _, kind := range []string{live.KindEvents, live.KindContacts, live.KindTransactions, live.KindIdentities} {
		ing.POST("/"+kind, a.ingest(kind))
	}
	g.Group("", read).GET("/contacts/:id/score", a.liveScore)
	adm := g.Group("", admin)
	adm.DELETE("/contacts/:id", a.erase)
	adm.GET("/admin/triggers", a.triggersList)
	adm.POST("/admin/triggers/replay", a.triggersReplay)
	adm.POST("/admin/checkpoint", a.checkpoint)
}

func (a *API) ingest(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !limitBody(c, a.opts.Live.MaxIngestBodyBytes, a.opts.BatchTimeout) {
			return
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				WriteErrorStatus(c, http.StatusRequestEntityTooLarge, ErrBadData,
					fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
				return
			}
			WriteError(c, ErrBadData, "reading the body: "+err.Error())
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), a.opts.BatchTimeout)
		defer cancel()
		res, err := a.opts.Live.Service.Ingest(ctx, kind, body)
		if errors.Is(err, live.ErrBadBody) {
			WriteError(c, ErrBadData, err.Error())
			return
		}
		if err != nil {
			writeErr(c, err)
			return
		}
		if res.Accepted+res.Duplicates == 0 && res.Refused > 0 {
			c.JSON(http.StatusBadRequest, ingestRefused{
				BatchResult: res,
				Error:       ErrorDetail{Type: ErrBadData, Message: "every record was refused; see results"},
			})
			return
		}
		c.JSON(http.StatusOK, res)
	}
}

// ingestRefused is the answer when no record of a request was kept: the per-record results
// and the error envelope's field.
type ingestRefused struct {
	live.BatchResult
	Error ErrorDetail `json:"error"`
}

// liveScore answers GET /v1/contacts/{id}/score[?as_of=...&scorecard=...].
func (a *API) liveScore(c *gin.Context) {
	var opts serving.Options
	var asOf time.Time
	for k, v := range c.Request.URL.Query() {
		switch k {
		case "scorecard":
			opts.Scorecard = v[0]
		case "as_of":
			t, err := parseAsOf(v[0])
			if err != nil {
				WriteError(c, ErrBadData, "as_of: "+err.Error())
				return
			}
			asOf = t
		default:
			WriteError(c, ErrBadData, fmt.Sprintf("unknown query parameter %q", k))
			return
		}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.opts.RequestTimeout)
	defer cancel()
	resp, err := a.opts.Live.Service.Score(ctx, c.Param("id"), asOf, opts)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(c, ErrNotFound, "no stored contact has this id, email or anonymous id")
		return
	}
	if err != nil {
		writeErr(c, err)
		return
	}
	a.writeResponse(c, &resp)
}

func parseAsOf(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339 or YYYY-MM-DD)", s)
}

// liveContact answers GET /v1/contacts/{id} from the store.
func (a *API) liveContact(c *gin.Context) {
	sum, err := a.opts.Live.Service.Summary(c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		WriteError(c, ErrNotFound, "no stored contact has this id, email or anonymous id")
		return
	}
	if err != nil {
		writeErr(c, err)
		return
	}
	c.JSON(http.StatusOK, sum)
}

func (a *API) erase(c *gin.Context) {
	e, err := a.opts.Live.Service.Erase(c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		WriteError(c, ErrNotFound, "no stored contact has this id, email or anonymous id")
		return
	}
	if err != nil {
		writeErr(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"erased": e})
}

// DeliveryView is one outbox record as GET /v1/admin/triggers shows it (the body as JSON).
type DeliveryView struct {
	triggers.Delivery
	Body json.RawMessage `json:"body"`
}

// TriggersResponse is the answer of GET /v1/admin/triggers.
type TriggersResponse struct {
	// Source is the triggers file ("" when none is loaded).
	Source   string             `json:"source"`
	Triggers []triggers.Trigger `json:"triggers"`
	// Counts holds the number of deliveries by state.
	Counts map[string]int `json:"counts"`
	// Paused maps paused endpoints to when they resume.
	Paused     map[string]time.Time `json:"paused"`
	Deliveries []DeliveryView       `json:"deliveries"`
	// Next is the cursor of the next page of a listing by state (pass it as after); absent
	// after the last page.
	Next string `json:"next,omitempty"`
}

func (a *API) triggersList(c *gin.Context) {
	state, after, limit := "", "", 100
	for k, v := range c.Request.URL.Query() {
		switch k {
		case "state":
			state = v[0]
			if state != triggers.StatePending && state != triggers.StateDelivered && state != triggers.StateDead {
				WriteError(c, ErrBadData, "state: want pending, delivered or dead")
				return
			}
		case "after":
			after = v[0]
		case "limit":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > 10000 {
				WriteError(c, ErrBadData, "limit: want an integer in 1..10000")
				return
			}
			limit = n
		default:
			WriteError(c, ErrBadData, fmt.Sprintf("unknown query parameter %q", k))
			return
		}
	}
	svc := a.opts.Live.Service
	st := svc.Store()
	ctx := c.Request.Context()
	r := TriggersResponse{Triggers: []triggers.Trigger{}, Counts: map[string]int{}, Paused: map[string]time.Time{}, Deliveries: []DeliveryView{}}
	if cfg := svc.Triggers(); cfg != nil {
		r.Source, r.Triggers = cfg.Source, cfg.Triggers
	}
	if d := svc.Dispatcher(); d != nil {
		r.Paused = d.Paused()
	}
	for _, s := range []string{triggers.StatePending, triggers.StateDelivered, triggers.StateDead} {
		n, err := st.Count(ctx, s)
		if err != nil {
			writeErr(c, err)
			return
		}
		r.Counts[s] = n
	}
	if after != "" && state == "" {
		WriteError(c, ErrBadData, "after: pages need a state")
		return
	}
	var ds []triggers.Delivery
	var err error
	if state != "" {
		// Read through the outbox-by-state index: a page costs its own deliveries.
		ds, r.Next, err = st.Page(ctx, state, after, limit)
		if errors.Is(err, store.ErrBadCursor) {
			WriteError(c, ErrBadData, "after: not a cursor of this listing (pass the last answer's next)")
			return
		}
	} else {
		ds, err = st.List(ctx, state, limit)
	}
	if err != nil {
		writeErr(c, err)
		return
	}
	for _, d := range ds {
		v := DeliveryView{Delivery: d, Body: d.Body}
		if !json.Valid(d.Body) {
			v.Body = json.RawMessage("null")
		}
		r.Deliveries = append(r.Deliveries, v)
	}
	c.JSON(http.StatusOK, r)
}

// ReplayRequest is the body of POST /v1/admin/triggers/replay.
type ReplayRequest struct {
	// IDs names the deliveries to resend; empty: every delivery in State.
	IDs []string `json:"ids"`
	// State restricts the replay to deliveries in that state; "" means dead when IDs is
	// empty, any state otherwise.
	State string `json:"state"`
}

func (a *API) triggersReplay(c *gin.Context) {
	d := a.opts.Live.Service.Dispatcher()
	if d == nil {
		WriteError(c, ErrUnavailable, "no triggers file loaded (--triggers)")
		return
	}
	if !limitBody(c, a.opts.MaxBodyBytes, a.opts.RequestTimeout) {
		return
	}
	var req ReplayRequest
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		WriteError(c, ErrBadData, "reading the body: "+err.Error())
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			WriteError(c, ErrBadData, "replay request: "+err.Error())
			return
		}
	}
	switch req.State {
	case "", triggers.StatePending, triggers.StateDelivered, triggers.StateDead:
	default:
		WriteError(c, ErrBadData, "state: want pending, delivered or dead")
		return
	}
	n, err := d.Replay(c.Request.Context(), req.IDs, req.State)
	if err != nil {
		writeErr(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"replayed": n})
}

// checkpoint answers POST /v1/admin/checkpoint: a consistent copy of the store in a new
// directory under LiveOptions.CheckpointDir, named by the time.
func (a *API) checkpoint(c *gin.Context) {
	base := a.opts.Live.CheckpointDir
	if base == "" {
		WriteError(c, ErrUnavailable, "no checkpoint directory configured (checkpoint_dir)")
		return
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		writeErr(c, err)
		return
	}
	dir := filepath.Join(base, "checkpoint-"+a.opts.Now().UTC().Format("20060102T150405.000000000Z"))
	start := time.Now()
	if err := a.opts.Live.Service.Store().Checkpoint(dir); err != nil {
		writeErr(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"dir": dir, "seconds": time.Since(start).Seconds()})
}
