// Package live is the live side of propensity serve: it validates ingested records, writes
// them to the store, keeps each person's scores current with the same feature code as the
// batch jobs, and turns score transitions into webhook deliveries through a transactional
// outbox.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/triggers"
)

// Options configure a Service. Zero values mean the defaults in the comments.
type Options struct {
	// Triggers is the parsed triggers file; nil: no triggers, and ingestion does not re-score.
	Triggers *triggers.Config
	// Dispatcher delivers the outbox (the store); it is notified after deliveries are
	// committed, and replays for the admin route. Nil: deliveries wait in the outbox.
	Dispatcher *triggers.Dispatcher
	// Now is the clock of trigger re-scores and default as-of times (default time.Now).
	Now func() time.Time
	// SweepInterval is how often RunSweep re-scores every person for changes that come with
	// time alone (decay, windows). Default 1h.
	SweepInterval time.Duration
	// Logger (nil: discarded). Contact ids and record contents are never logged.
	Logger *slog.Logger
	// Registerer receives the metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// Service is the live contacts service over one store.
type Service struct {
	st     *store.Store
	src    serving.Source
	scorer *serving.Scorer
	opts   Options
	log    *slog.Logger

	records   *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	rescores  *prometheus.CounterVec
	sweepTime prometheus.Gauge

	sets atomic.Pointer[triggerSets] // the trigger state's model set, per loaded set
}

// New returns the service over st, scoring with the models of src.
func New(st *store.Store, src serving.Source, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: st, src: src, scorer: serving.NewScorer(src, opts.Now), opts: opts, log: opts.Logger,
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "propensity_ingested_records_total",
			Help: "Records posted to the ingestion routes, by kind and result (accepted, duplicate, refused).",
		}, []string{"kind", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "propensity_ingest_refusals_total",
			Help: "Refused records, by kind and the field at fault.",
		}, []string{"kind", "field"}),
		rescores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "propensity_live_rescores_total",
			Help: "Trigger re-scores of people, by cause (ingest, sweep) and result (ok, error).",
		}, []string{"cause", "result"}),
		sweepTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "propensity_live_sweep_last_seconds",
			Help: "Duration of the last trigger sweep over every person.",
		}),
	}
	if r := opts.Registerer; r != nil {
		r.MustRegister(s.records, s.refusals, s.rescores, s.sweepTime,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "propensity_store_disk_bytes",
				Help: "Size of the live store on disk (sstables and WAL).",
			}, func() float64 { return float64(st.DiskBytes()) }))
	}
	return s
}

// Store returns the service's store.
func (s *Service) Store() *store.Store { return s.st }

// Triggers returns the triggers file in use (nil: none).
func (s *Service) Triggers() *triggers.Config { return s.opts.Triggers }

// Dispatcher returns the webhook dispatcher (nil: none).
func (s *Service) Dispatcher() *triggers.Dispatcher { return s.opts.Dispatcher }

// RecordResult is the answer for one record of an ingestion request.
type RecordResult struct {
	// Index is the record's 0-based position in the request.
	Index int `json:"index"`
	// Line is the record's line in an NDJSON body (absent otherwise).
	Line int `json:"line,omitempty"`
	// Status is "accepted" (stored), "duplicate" (already stored; nothing changed) or
	// "refused" (not stored, see Error).
	Status string `json:"status"`
	// Error says why the record was refused.
	Error string `json:"error,omitempty"`
}

// BatchResult is the answer of an ingestion request.
type BatchResult struct {
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Refused    int            `json:"refused"`
	Results    []RecordResult `json:"results"`
}

// ErrBadBody: a request body that is not a JSON object, array or NDJSON.
var ErrBadBody = errors.New("live: bad request body")

// Ingest validates and stores the records of one request body of a kind (KindEvents, ...).
// Each record is one durable change; the method returns once every accepted record is
// synced. A bad record is refused without affecting its neighbours. An error is returned
// for a body that cannot be cut into records (wrapping ErrBadBody), or a store failure.
func (s *Service) Ingest(ctx context.Context, kind string, body []byte) (BatchResult, error) {
	recs, err := splitBody(body)
	if err != nil {
		return BatchResult{}, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	res := BatchResult{Results: make([]RecordResult, len(recs))}
	// Records are decoded first, outside the store's writers' mutex; then the good ones are
	// staged in one batch, and each person they touched is re-scored once, in that batch.
	staged := make([]func(g *store.Group) (store.Result, error), len(recs))
	for i, r := range recs {
		res.Results[i] = RecordResult{Index: r.index, Line: r.line}
		if r.err != nil {
			s.refuse(&res, i, kind, r.err)
			continue
		}
		put, err := s.decode(kind, r.data)
		if err != nil {
			s.refuse(&res, i, kind, err)
			continue
		}
		staged[i] = put
	}
	g := s.st.Batch(s.hook(ctx, "ingest"))
	for i, put := range staged {
		if put == nil {
			continue
		}
		out, err := put(g)
		rr := &res.Results[i]
		switch {
		case err == nil && out.Duplicate:
			rr.Status = "duplicate"
			res.Duplicates++
		case err == nil:
			rr.Status = "accepted"
			res.Accepted++
		case errors.Is(err, ErrBadRecord) || errors.Is(err, store.ErrBadRecord):
			s.refuse(&res, i, kind, err)
		default:
			// A store failure: the batch is abandoned, and no record is acknowledged.
			return BatchResult{}, err
		}
	}
	if err := g.Wait(); err != nil {
		return BatchResult{}, err
	}
	s.records.WithLabelValues(kind, "accepted").Add(float64(res.Accepted))
	s.records.WithLabelValues(kind, "duplicate").Add(float64(res.Duplicates))
	s.records.WithLabelValues(kind, "refused").Add(float64(res.Refused))
	if g.Notified() && s.opts.Dispatcher != nil {
		s.opts.Dispatcher.Notify()
	}
	return res, nil
}

// refuse records the refusal of record i.
func (s *Service) refuse(res *BatchResult, i int, kind string, err error) {
	rr := &res.Results[i]
	rr.Status, rr.Error = "refused", err.Error()
	res.Refused++
	field := ""
	var re *RecordError
	if errors.As(err, &re) {
		field = re.Field
	}
	s.refusals.WithLabelValues(kind, metricField(field)).Inc()
}

// metricField keeps the refusal metric's label set small: known fields by name, attribute
// names of contacts (which are open-ended) as "other".
func metricField(f string) string {
	switch f {
	case "", "ts", "type", "event_id", "contact_id", "anonymous_id", "email", "page", "channel", "campaign",
		"value", "amount", "product", "category", "quantity", "id_a", "id_b", "created_at", "stage", "stage_since":
		return f
	}
	return "other"
}

// decode decodes one record of a kind and returns the write that stages it.
func (s *Service) decode(kind string, data []byte) (func(g *store.Group) (store.Result, error), error) {
	switch kind {
	case KindEvents:
		e, err := DecodeEvent(data)
		if err != nil {
			return nil, err
		}
		if !s.needsRescore(&e) {
			return func(g *store.Group) (store.Result, error) { return g.PutEventUnscored(e) }, nil
		}
		return func(g *store.Group) (store.Result, error) { return g.PutEvent(e, nil) }, nil
	case KindContacts:
		c, err := DecodeContact(data)
		if err != nil {
			return nil, err
		}
		return func(g *store.Group) (store.Result, error) { return g.PutContact(c, nil) }, nil
	case KindTransactions:
		x, err := DecodeTransaction(data)
		if err != nil {
			return nil, err
		}
		return func(g *store.Group) (store.Result, error) { return g.PutTransaction(x, nil) }, nil
	case KindIdentities:
		x, err := DecodeIdentity(data)
		if err != nil {
			return nil, err
		}
		return func(g *store.Group) (store.Result, error) { return g.PutIdentity(x, nil) }, nil
	}
	return nil, fmt.Errorf("live: unknown record kind %q", kind)
}

// Score scores the person that id (a contact id, email or anonymous id) belongs to, from
// everything stored for them, as of asOf (zero: now). store.ErrNotFound when id is unknown.
func (s *Service) Score(ctx context.Context, id string, asOf time.Time, opts serving.Options) (serving.Response, error) {
	set := s.src.Current()
	if set == nil {
		return serving.Response{}, serving.ErrNotReady
	}
	h, err := s.st.ScoreHistory(id)
	if err != nil {
		return serving.Response{}, err
	}
	if asOf.IsZero() {
		asOf = s.opts.Now().UTC()
	}
	p := h.Profile(asOf)
	return s.scorer.ScoreWith(ctx, set, &p, opts)
}

// Summary is the stored profile of a person (GET /v1/contacts/{id} with a store).
type Summary struct {
	// ContactID is the person's key, the surviving contact.
	ContactID string `json:"contact_id"`
	// IDs lists every identifier linked to the person.
	IDs []string `json:"ids"`
	// Contact is the surviving contact's row; MergedContacts the other contact ids.
	Contact        store.Contact `json:"contact"`
	MergedContacts []string      `json:"merged_contacts"`
	Events         int           `json:"events"`
	Transactions   int           `json:"transactions"`
	FirstEventAt   *time.Time    `json:"first_event_at,omitempty"`
	LastEventAt    *time.Time    `json:"last_event_at,omitempty"`
	// EventTypes counts the events by type.
	EventTypes map[string]int `json:"event_types"`
	// Spend is the sum of the transaction amounts.
	Spend float64 `json:"spend"`
}

// Summary returns the stored profile of id's person; store.ErrNotFound when unknown.
func (s *Service) Summary(id string) (Summary, error) {
	h, err := s.st.History(id)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{ContactID: h.Person, IDs: h.IDs, Contact: h.Contact, MergedContacts: []string{},
		Events: len(h.Events), Transactions: len(h.Transactions), EventTypes: map[string]int{}}
	for _, c := range h.Contacts {
		if c.ContactID != h.Person {
			out.MergedContacts = append(out.MergedContacts, c.ContactID)
		}
	}
	for _, e := range h.Events {
		out.EventTypes[e.Type]++
	}
	if n := len(h.Events); n > 0 {
		first, last := h.Events[0].TS, h.Events[n-1].TS
		out.FirstEventAt, out.LastEventAt = &first, &last
	}
	for _, x := range h.Transactions {
		out.Spend += x.Amount
	}
	return out, nil
}

// Erase deletes id's person (see store.Erase).
func (s *Service) Erase(id string) (store.Erased, error) { return s.st.Erase(id) }

// hook returns the store hook that re-scores a person after each change and stages the
// deliveries of its transitions and its new state in the change's batch; nil without
// triggers.
func (s *Service) hook(ctx context.Context, cause string) store.Hook {
	cfg := s.opts.Triggers
	if cfg == nil {
		return nil
	}
	return func(t *store.Txn, id string) error {
		set := s.src.Current()
		if set == nil {
			return nil // no models yet: nothing to compare
		}
		h, err := t.History(id)
		if errors.Is(err, store.ErrNotFound) {
			return nil // not a person (yet)
		}
		if err != nil {
			return err
		}
		now := s.opts.Now().UTC()
		p := h.Profile(now)
		// The state comes from the blocks the triggers look at; the full response, the
		// body of the deliveries, only when something fires.
		resp, err := s.scorer.ScoreWith(ctx, s.stateSet(set), &p, serving.Options{NoWarnings: true})
		if err != nil {
			// A model failing on one person must not refuse the record: it is stored, and
			// the failure is counted and logged (without the person).
			s.rescores.WithLabelValues(cause, "error").Inc()
			s.log.Warn("re-scoring for triggers failed", "err", err)
			return nil
		}
		s.rescores.WithLabelValues(cause, "ok").Inc()
		body, err := json.Marshal(&resp)
		if err != nil {
			return err
		}
		next, err := cfg.State(body)
		if err != nil {
			return err
		}
		var old triggers.State
		raw, err := t.State(id)
		if err != nil {
			return err
		}
		if raw != nil {
			if err := json.Unmarshal(raw, &old); err != nil {
				return fmt.Errorf("live: stored trigger state: %w", err)
			}
		}
		if ts := cfg.Evaluate(old, next); len(ts) > 0 {
			p := h.Profile(now)
			full, err := s.scorer.ScoreWith(ctx, set, &p, serving.Options{})
			if err != nil {
				s.rescores.WithLabelValues(cause, "error").Inc()
				s.log.Warn("re-scoring for triggers failed", "err", err)
				return nil
			}
			if body, err = json.Marshal(&full); err != nil {
				return err
			}
			if err := t.AddDeliveries(cfg.NewDeliveries(h.Person, ts, body, now)); err != nil {
				return err
			}
		}
		if raw == nil || !sameState(old, next) {
			nb, err := json.Marshal(next)
			if err != nil {
				return err
			}
			return t.SetState(id, nb)
		}
		return nil
	}
}

// needsRescore reports whether ingesting e must re-score its person for the triggers. It need
// not when the triggers look at the rules block alone, the scorecards need no event of e's
// type and page (scorecard.Set.Needs: every rules block is the same without it), and e
// carries one identifier (so it merges no people). Such an event, a page view of the blog
// say, changes no trigger state at the time it arrives; what the passing of time changes
// meanwhile (decay, windows) is the sweep's to find, as for a person who sends nothing.
func (s *Service) needsRescore(e *store.Event) bool {
	cfg := s.opts.Triggers
	if cfg == nil {
		return false
	}
	set := s.src.Current()
	if set == nil {
		return true
	}
	if b := cfg.Blocks(); len(b) != 1 || b[0] != serving.BlockRules {
		return true
	}
	n, ok := set.Rules.(serving.EventNeeder)
	if !ok {
		return true
	}
	ids := 0
	for _, id := range []string{e.ContactID, e.AnonymousID, e.Email} {
		if id != "" {
			ids++
		}
	}
	return ids > 1 || n.Needs(e.Type, e.Page)
}

// triggerSets pairs a model set with its copy that holds only the blocks the triggers read.
type triggerSets struct{ full, state *serving.ModelSet }

// stateSet returns the copy of set that the trigger state is computed with (see
// triggers.Config.Blocks), made once per loaded set.
func (s *Service) stateSet(set *serving.ModelSet) *serving.ModelSet {
	if ts := s.sets.Load(); ts != nil && ts.full == set {
		return ts.state
	}
	st := set.Only(s.opts.Triggers.Blocks()...)
	s.sets.Store(&triggerSets{full: set, state: st})
	return st
}

func sameState(a, b triggers.State) bool {
	return a.Stage == b.Stage && a.MQL == b.MQL && a.HasRules == b.HasRules && a.RuleTotal == b.RuleTotal &&
		a.HasConvert == b.HasConvert && a.PConvert == b.PConvert && a.HasChurn == b.HasChurn && a.PChurn == b.PChurn &&
		a.HasSegments == b.HasSegments && slices.Equal(a.Segments, b.Segments) && a.HasLTV == b.HasLTV && a.LTVTier == b.LTVTier
}

// Sweep re-scores every person once, as of now, and commits the transitions that time alone
// caused (decay, windows: "MQL lapsed"). It returns the number of people re-scored.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if s.opts.Triggers == nil {
		return 0, nil
	}
	start := time.Now()
	var people []string
	if err := s.st.People(func(p string) error { people = append(people, p); return ctx.Err() }); err != nil {
		return 0, err
	}
	hook := s.hook(ctx, "sweep")
	n, notify := 0, false
	for _, p := range people {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		wrote, err := s.st.Recheck(p, hook)
		if errors.Is(err, store.ErrNotFound) {
			continue // erased or merged meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
		notify = notify || wrote
	}
	if notify && s.opts.Dispatcher != nil {
		s.opts.Dispatcher.Notify()
	}
	s.sweepTime.Set(time.Since(start).Seconds())
	return n, nil
}

// RunSweep sweeps every SweepInterval until ctx is done.
func (s *Service) RunSweep(ctx context.Context) error {
	if s.opts.Triggers == nil {
		return nil
	}
	tick := time.NewTicker(s.opts.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("trigger sweep failed", "err", err)
			}
		}
	}
}
