package triggers

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DispatcherOptions configure a Dispatcher; zero fields take the default in their comment.
type DispatcherOptions struct {
	// Client sends the requests; default a client that follows no redirects (a 3xx is a
	// failure, so a signed body never goes to a host the endpoint did not name). Per-attempt
	// timeouts come from Endpoint.Timeout either way.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// After waits for the clock to advance by d; default time.After. Run's waits use it, so a
	// fake clock can drive them.
	After func(d time.Duration) <-chan time.Time
	// Rand draws the back-off jitter; default a generator seeded from crypto/rand. It is
	// used under a lock.
	Rand mrand.Source
	// Logger logs failed attempts, dead records and pauses; default discards. Contact ids
	// and bodies are never logged.
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// MaxAttempts, BaseBackoff, MaxBackoff and PauseAfter override the delivery settings of
	// the triggers file (Config.Delivery).
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	PauseAfter  int
	// PollInterval is the longest Run waits between looks at the outbox when nothing
	// notifies it; default 5s. It bounds how late a retry made due by the clock is sent.
	PollInterval time.Duration
	// BatchSize is the most records one round takes from the outbox; default 256.
	BatchSize int
	// Concurrency is the most endpoints delivered to at once; default 16. Records of one
	// endpoint go one at a time, in order.
	Concurrency int
}

// Dispatcher delivers due outbox records as signed HTTP POSTs, at least once. See Run.
type Dispatcher struct {
	cfg    *Config
	ob     Outbox
	opts   DispatcherOptions
	set    DeliverySettings
	notify chan struct{}

	randMu sync.Mutex
	rnd    *mrand.Rand

	mu        sync.Mutex
	busy      map[string]bool      // endpoints with a worker running
	endpoints map[string]*epHealth // consecutive failures and pauses
	nextWake  time.Time            // earliest retry or pause end scheduled, zero if none
	lastDepth time.Time            // when the depth gauge was last set
	sem       chan struct{}
	wg        sync.WaitGroup

	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	depth      prometheus.Gauge
	paused     prometheus.Gauge
}

type epHealth struct {
	failures    int       // consecutive failed attempts
	pausedUntil time.Time // no attempts before then
}

// Outcomes counted by propensity_trigger_deliveries_total.
const (
	OutcomeDelivered = "delivered" // a 2xx answer
	OutcomeFailed    = "failed"    // a failed attempt that will be retried
	OutcomeDead      = "dead"      // a failed attempt after which the record is dead
)

// NewDispatcher returns a dispatcher of cfg's endpoints that reads and updates ob. It
// registers its metrics with opts.Registerer, and panics if they are registered already.
func NewDispatcher(cfg *Config, ob Outbox, opts DispatcherOptions) *Dispatcher {
	set := settings(cfg, opts)
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Rand == nil {
		var seed [32]byte
		_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (it panics instead)
		opts.Rand = mrand.NewChaCha8(seed)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	d := &Dispatcher{
		cfg: cfg, ob: ob, opts: opts, set: set,
		notify:    make(chan struct{}, 1),
		rnd:       mrand.New(opts.Rand),
		busy:      map[string]bool{},
		endpoints: map[string]*epHealth{},
		sem:       make(chan struct{}, opts.Concurrency),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "propensity_trigger_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered, failed (to be retried) or dead (given up).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "propensity_trigger_delivery_latency_seconds",
			Help:    "Time from an outbox record's creation to its delivery.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "propensity_trigger_outbox_pending",
			Help: "Outbox records waiting for delivery, as of the dispatcher's last round.",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "propensity_trigger_endpoints_paused",
			Help: "Endpoints paused after consecutive failed deliveries.",
		}),
	}
	for _, o := range []string{OutcomeDelivered, OutcomeFailed, OutcomeDead} {
		d.deliveries.WithLabelValues(o)
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(d.deliveries, d.latency, d.depth, d.paused)
	}
	return d
}

// Settings returns the delivery settings in force.
func (d *Dispatcher) Settings() DeliverySettings {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

// SetConfig replaces the triggers file, e.g. after a reload; attempts already started use the
// old one. Records whose endpoint the new file lacks become dead when they fall due, and
// DispatcherOptions still override its delivery settings.
func (d *Dispatcher) SetConfig(cfg *Config) {
	set := settings(cfg, d.opts)
	d.mu.Lock()
	d.cfg, d.set = cfg, set
	d.mu.Unlock()
}

func (d *Dispatcher) config() *Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// failing says whether the endpoint's last attempt failed.
func (d *Dispatcher) failing(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.endpoints[name] != nil
}

// settings merges the file's delivery settings, the options' overrides and the defaults.
func settings(cfg *Config, opts DispatcherOptions) DeliverySettings {
	set := cfg.Delivery
	if opts.MaxAttempts > 0 {
		set.MaxAttempts = opts.MaxAttempts
	}
	if opts.BaseBackoff > 0 {
		set.BaseBackoff = opts.BaseBackoff
	}
	if opts.MaxBackoff > 0 {
		set.MaxBackoff = opts.MaxBackoff
	}
	if opts.PauseAfter > 0 {
		set.PauseAfter = opts.PauseAfter
	}
	set = set.withDefaults()
	set.MaxBackoff = max(set.MaxBackoff, set.BaseBackoff)
	return set
}

// Notify tells the dispatcher that new records were committed; Run looks at the outbox at
// once. It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Run delivers due records until ctx is done, then waits for attempts in flight and returns
// nil. It looks at the outbox when notified, when a worker finishes, when a retry or pause
// it scheduled falls due, and at least every PollInterval. Errors of the outbox are logged
// and retried at the next look.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		if _, err := d.start(ctx, nil); err != nil && ctx.Err() == nil {
			d.opts.Logger.Error("trigger outbox", "err", err)
		}
		wait := d.opts.PollInterval
		d.mu.Lock()
		if !d.nextWake.IsZero() {
			wait = min(wait, max(d.nextWake.Sub(d.opts.Now()), 0))
			d.nextWake = time.Time{}
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return nil
		case <-d.notify:
		case <-d.opts.After(wait):
		}
	}
}

// DeliverDue makes one round: it takes the due records, attempts each once (records of a
// paused endpoint are rescheduled to the end of the pause instead), persists every result,
// and returns the number of attempts made. Endpoints with attempts still in flight from Run
// are skipped. Tests drive the dispatcher with it and a fake clock.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	res, err := d.start(ctx, &wg)
	wg.Wait()
	res.mu.Lock()
	defer res.mu.Unlock()
	return res.attempts, errors.Join(append([]error{err}, res.errs...)...)
}

// round collects the results of one round's workers.
type round struct {
	mu       sync.Mutex
	attempts int
	errs     []error
}

// start takes the due records and starts a worker for each idle endpoint that has some.
// A worker of a round waited for (wg != nil) reports into the round it returns.
func (d *Dispatcher) start(ctx context.Context, wg *sync.WaitGroup) (*round, error) {
	res := &round{}
	due, err := d.ob.Due(ctx, d.opts.Now(), d.opts.BatchSize)
	if err != nil {
		return res, fmt.Errorf("reading due deliveries: %w", err)
	}
	groups := map[string][]Delivery{}
	var order []string
	for _, r := range due {
		if _, ok := groups[r.Endpoint]; !ok {
			order = append(order, r.Endpoint)
		}
		groups[r.Endpoint] = append(groups[r.Endpoint], r)
	}
	for _, ep := range order {
		d.mu.Lock()
		if d.busy[ep] {
			d.mu.Unlock()
			continue
		}
		d.busy[ep] = true
		d.mu.Unlock()
		select {
		case d.sem <- struct{}{}:
		case <-ctx.Done():
			d.mu.Lock()
			d.busy[ep] = false
			d.mu.Unlock()
			return res, nil
		}
		d.wg.Add(1)
		if wg != nil {
			wg.Add(1)
		}
		go func(ep string, rs []Delivery) {
			n, err := d.work(ctx, ep, rs)
			d.mu.Lock()
			d.busy[ep] = false
			d.mu.Unlock()
			<-d.sem
			res.mu.Lock()
			res.attempts += n
			if err != nil {
				res.errs = append(res.errs, err)
			}
			res.mu.Unlock()
			if err == nil && wg == nil {
				d.Notify() // records skipped while this endpoint was busy may be due
			}
			if wg != nil {
				wg.Done()
			}
			d.wg.Done()
		}(ep, groups[ep])
	}
	d.updateDepth(ctx)
	return res, nil
}

// updateDepth sets the outbox depth gauge, at most once a second: counting may mean a scan.
func (d *Dispatcher) updateDepth(ctx context.Context) {
	now := d.opts.Now()
	d.mu.Lock()
	if !d.lastDepth.IsZero() && now.Sub(d.lastDepth) < time.Second {
		d.mu.Unlock()
		return
	}
	d.lastDepth = now
	d.mu.Unlock()
	var n int
	var err error
	if c, ok := d.ob.(Counter); ok {
		n, err = c.Count(ctx, StatePending)
	} else {
		var ds []Delivery
		ds, err = d.ob.List(ctx, StatePending, 0)
		n = len(ds)
	}
	if err == nil {
		d.depth.Set(float64(n))
	}
}

// work attempts the records of one endpoint. A healthy endpoint gets up to MaxInFlight
// lanes, records going to a lane by contact so that each contact's records keep their order;
// an endpoint that has been failing gets one lane, so that a single probe tests it.
func (d *Dispatcher) work(ctx context.Context, name string, rs []Delivery) (int, error) {
	ep, known := d.config().Endpoint(name)
	lanes := 1
	if known && ep.MaxInFlight > 1 && !d.failing(name) {
		lanes = min(ep.MaxInFlight, len(rs))
	}
	if lanes <= 1 {
		return d.lane(ctx, ep, known, name, rs)
	}
	split := make([][]Delivery, lanes)
	for _, r := range rs {
		h := fnv.New32a()
		h.Write([]byte(r.ContactID))
		i := int(h.Sum32() % uint32(lanes))
		split[i] = append(split[i], r)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	attempts := 0
	var errs []error
	for _, part := range split {
		if len(part) == 0 {
			continue
		}
		wg.Go(func() {
			n, err := d.lane(ctx, ep, known, name, part)
			mu.Lock()
			attempts += n
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return attempts, errors.Join(errs...)
}

// lane attempts records in order, persisting each result before the next. It stops at the
// first outbox error, and when ctx is done.
func (d *Dispatcher) lane(ctx context.Context, ep Endpoint, known bool, name string, rs []Delivery) (int, error) {
	attempts := 0
	// A result is persisted even when ctx ends meanwhile: a delivered record must not be
	// sent again after a restart.
	uctx := context.WithoutCancel(ctx)
	for _, r := range rs {
		if ctx.Err() != nil {
			return attempts, nil
		}
		now := d.opts.Now()
		// Re-read the record: the list may be older than a worker that just finished with
		// it, and the contact may have been erased since.
		cur, ok, err := d.ob.Get(ctx, r.ID)
		if err != nil {
			return attempts, fmt.Errorf("reading delivery %s: %w", r.ID, err)
		}
		if !ok || cur.State != StatePending || cur.NextAttempt.After(now) {
			continue
		}
		r = cur
		if !known {
			r.State = StateDead
			r.LastError = fmt.Sprintf("endpoint %q is not in the triggers file", name)
			if err := d.ob.Update(uctx, r); err != nil {
				return attempts, fmt.Errorf("updating delivery %s: %w", r.ID, err)
			}
			d.opts.Logger.Warn("trigger delivery dead", "delivery", r.ID, "endpoint", name, "reason", r.LastError)
			continue
		}
		if until := d.pausedUntil(name, now); !until.IsZero() {
			r.NextAttempt = until
			if err := d.ob.Update(uctx, r); err != nil {
				return attempts, fmt.Errorf("updating delivery %s: %w", r.ID, err)
			}
			continue
		}
		err = d.send(ctx, ep, r)
		if err != nil && ctx.Err() != nil {
			return attempts, nil // shutting down: the record stays pending, to be sent again
		}
		attempts++
		r.Attempts++
		now = d.opts.Now()
		outcome := OutcomeDelivered
		if err == nil {
			r.State, r.LastError, r.DeliveredAt = StateDelivered, "", now
			d.succeeded(name)
		} else {
			r.LastError = truncate(err.Error(), 500)
			pausedUntil := d.failed(name, now)
			if r.Attempts >= d.Settings().MaxAttempts {
				r.State, outcome = StateDead, OutcomeDead
			} else {
				r.NextAttempt, outcome = now.Add(d.Backoff(r.Attempts)), OutcomeFailed
				if r.NextAttempt.Before(pausedUntil) {
					r.NextAttempt = pausedUntil
				}
				d.wakeAt(r.NextAttempt)
			}
		}
		if err := d.ob.Update(uctx, r); err != nil {
			return attempts, fmt.Errorf("updating delivery %s: %w", r.ID, err)
		}
		d.deliveries.WithLabelValues(outcome).Inc()
		switch outcome {
		case OutcomeDelivered:
			d.latency.Observe(max(r.DeliveredAt.Sub(r.CreatedAt), 0).Seconds())
		case OutcomeDead:
			d.opts.Logger.Warn("trigger delivery dead", "delivery", r.ID, "endpoint", name, "attempts", r.Attempts, "err", r.LastError)
		default:
			d.opts.Logger.Info("trigger delivery failed", "delivery", r.ID, "endpoint", name, "attempts", r.Attempts, "next", r.NextAttempt, "err", r.LastError)
		}
	}
	return attempts, nil
}

// send makes one attempt: a POST of the body, signed now, within the endpoint's timeout.
// Anything but a 2xx answer is a failure.
func (d *Dispatcher) send(ctx context.Context, ep Endpoint, r Delivery) error {
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()
	// The endpoint's URL in the file now, not the one stored with the record: a record
	// outlives a file edit, and its signature uses the secret of the file now.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(r.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "propensity-webhooks/1")
	req.Header.Set(HeaderDeliveryID, r.ID)
	req.Header.Set(HeaderTrigger, r.Trigger)
	req.Header.Set(HeaderSignature, Sign(ep.Secret, r.Body, d.opts.Now()))
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %v", ep.Timeout)
		}
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return nil
}

// Backoff returns the wait after a record's n-th failed attempt (n >= 1): BaseBackoff·2^(n-1),
// capped at MaxBackoff, with "equal jitter" (a uniform draw between half that and all of it)
// so that records failed together do not retry together, after Brooker, "Exponential Backoff
// And Jitter", AWS Architecture Blog, 2015.
func (d *Dispatcher) Backoff(n int) time.Duration {
	set := d.Settings()
	b := set.BaseBackoff
	for i := 1; i < n && b < set.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, set.MaxBackoff)
	half := b / 2
	d.randMu.Lock()
	j := time.Duration(d.rnd.Int64N(int64(b-half) + 1))
	d.randMu.Unlock()
	return half + j
}

func (d *Dispatcher) wakeAt(t time.Time) {
	d.mu.Lock()
	if d.nextWake.IsZero() || t.Before(d.nextWake) {
		d.nextWake = t
	}
	d.mu.Unlock()
}

func (d *Dispatcher) pausedUntil(name string, now time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h := d.endpoints[name]; h != nil && now.Before(h.pausedUntil) {
		return h.pausedUntil
	}
	return time.Time{}
}

func (d *Dispatcher) succeeded(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.endpoints, name)
	d.countPaused()
}

// failed counts a failed attempt; from PauseAfter consecutive failures on, the endpoint is
// paused for a back-off that grows with each further failure, and only one probe attempt is
// made at the end of each pause. It returns the end of the pause, zero if none.
func (d *Dispatcher) failed(name string, now time.Time) time.Time {
	d.mu.Lock()
	h := d.endpoints[name]
	if h == nil {
		h = &epHealth{}
		d.endpoints[name] = h
	}
	h.failures++
	failures := h.failures
	n := failures - d.set.PauseAfter + 1
	d.mu.Unlock()
	if n < 1 {
		return time.Time{}
	}
	until := now.Add(d.Backoff(n))
	d.mu.Lock()
	h.pausedUntil = until
	d.countPaused()
	d.mu.Unlock()
	d.wakeAt(until)
	d.opts.Logger.Warn("trigger endpoint paused", "endpoint", name, "consecutive_failures", failures, "until", until)
	return until
}

// countPaused sets the paused gauge; d.mu is held.
func (d *Dispatcher) countPaused() {
	n := 0
	now := d.opts.Now()
	for _, h := range d.endpoints {
		if now.Before(h.pausedUntil) {
			n++
		}
	}
	d.paused.Set(float64(n))
}

// Paused returns the endpoints paused now and the end of each pause.
func (d *Dispatcher) Paused() map[string]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.opts.Now()
	out := map[string]time.Time{}
	for name, h := range d.endpoints {
		if now.Before(h.pausedUntil) {
			out[name] = h.pausedUntil
		}
	}
	return out
}

// Replay makes records pending again, due now, with their attempts reset and their ids kept
// (so a receiver that did get one can drop it). With ids, it replays those records (only
// those in state, if state is not ""); without, every record in state ("" meaning dead). The
// endpoints of replayed records are unpaused. It returns how many records it reset.
func (d *Dispatcher) Replay(ctx context.Context, ids []string, state string) (int, error) {
	var rs []Delivery
	if len(ids) > 0 {
		for _, id := range ids {
			r, ok, err := d.ob.Get(ctx, id)
			if err != nil {
				return 0, fmt.Errorf("reading delivery %s: %w", id, err)
			}
			if ok && (state == "" || r.State == state) {
				rs = append(rs, r)
			}
		}
	} else {
		if state == "" {
			state = StateDead
		}
		var err error
		if rs, err = d.ob.List(ctx, state, 0); err != nil {
			return 0, fmt.Errorf("listing %s deliveries: %w", state, err)
		}
	}
	now := d.opts.Now()
	n := 0
	for _, r := range rs {
		r.State, r.Attempts, r.NextAttempt, r.LastError, r.DeliveredAt = StatePending, 0, now, "", time.Time{}
		if err := d.ob.Update(ctx, r); err != nil {
			return n, fmt.Errorf("updating delivery %s: %w", r.ID, err)
		}
		d.mu.Lock()
		delete(d.endpoints, r.Endpoint)
		d.countPaused()
		d.mu.Unlock()
		n++
	}
	if n > 0 {
		d.Notify()
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n-- // do not cut a UTF-8 sequence
	}
	return s[:n] + "…"
}
