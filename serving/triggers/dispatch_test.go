package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeClock is a clock that moves only when told; After channels fire when it passes them.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.waiters = kept
}

// receiver is a webhook endpoint that checks every request's signature against the fake
// clock and answers with the status its respond function picks.
type receiver struct {
	t       *testing.T
	secret  string
	clock   *fakeClock
	respond func(n int) int // status for the n-th request (1-based)

	mu   sync.Mutex
	reqs []received
	got  chan received // when not nil, every request is also sent here
}

type received struct {
	id, signature, trigger string
	body                   []byte
	verr                   error
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rec := received{
		id: req.Header.Get(HeaderDeliveryID), signature: req.Header.Get(HeaderSignature),
		trigger: req.Header.Get(HeaderTrigger), body: body,
		verr: Verify(r.secret, req.Header.Get(HeaderSignature), body, r.clock.Now(), 5*time.Minute),
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		rec.verr = errors.New("not a JSON POST")
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	n := len(r.reqs)
	r.mu.Unlock()
	if r.got != nil {
		r.got <- rec
	}
	w.WriteHeader(r.respond(n))
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func always(status int) func(int) int { return func(int) int { return status } }

// setup starts one receiver per endpoint name and returns a config naming them, with one
// trigger per endpoint.
func setup(t *testing.T, clock *fakeClock, respond map[string]func(int) int, extra string) (*Config, map[string]*receiver) {
	return setupEndpoints(t, clock, respond, "", extra)
}

// setupEndpoints is setup with more keys for every endpoint (epKeys, e.g. ", max_in_flight: 1").
func setupEndpoints(t *testing.T, clock *fakeClock, respond map[string]func(int) int, epKeys, extra string) (*Config, map[string]*receiver) {
	t.Helper()
	recv := map[string]*receiver{}
	var eps, trs strings.Builder
	for _, name := range []string{"crm", "down", "up"} {
		f, ok := respond[name]
		if !ok {
			continue
		}
		r := &receiver{t: t, secret: "secret-" + name, clock: clock, respond: f}
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		recv[name] = r
		eps.WriteString("  - {name: " + name + ", url: '" + srv.URL + "/hook', secret: secret-" + name + ", timeout: 2s" + epKeys + "}\n")
		trs.WriteString("  - {name: to-" + name + ", when: {stage_entered: mql}, endpoints: " + name + "}\n")
	}
	c, err := ParseEnv([]byte("endpoints:\n"+eps.String()+"triggers:\n"+trs.String()+extra), "test.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	return c, recv
}

func newDispatcher(t *testing.T, c *Config, ob Outbox, clock *fakeClock, reg prometheus.Registerer) *Dispatcher {
	return NewDispatcher(c, ob, DispatcherOptions{
		Now: clock.Now, After: clock.After, Rand: mrand.NewPCG(1, 2), Registerer: reg,
	})
}

// enqueue makes one mql transition of contact into deliveries, one per trigger endpoint.
func enqueue(t *testing.T, c *Config, ob *MemOutbox, clock *fakeClock, contact string) []Delivery {
	t.Helper()
	ds := c.NewDeliveries(contact, c.Evaluate(rules("lead", 20), rules("mql", 40)),
		json.RawMessage(`{"contact_id":"`+contact+`","rules":{"total":40,"contributions":[{"rule":"directions-page","points":20}]}}`), clock.Now())
	ob.Add(ds...)
	return ds
}

func get(t *testing.T, ob Outbox, id string) Delivery {
	t.Helper()
	d, ok, err := ob.Get(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("Get(%s): %v, %v", id, ok, err)
	}
	return d
}

func deliverDue(t *testing.T, d *Dispatcher) int {
	t.Helper()
	n, err := d.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetryAfterBackoff: a receiver that fails at first gets the delivery after back-off,
// every attempt carries the same delivery id and a valid signature, and each result is
// persisted.
func TestRetryAfterBackoff(t *testing.T) {
	clock := newClock()
	c, recv := setup(t, clock, map[string]func(int) int{"crm": func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}}, "delivery: {base_backoff: 10s, max_backoff: 1m, pause_after: 10}\n")
	ob := &MemOutbox{}
	reg := prometheus.NewPedanticRegistry()
	d := newDispatcher(t, c, ob, clock, reg)
	rec := enqueue(t, c, ob, clock, "c-1")[0]

	if n := deliverDue(t, d); n != 1 {
		t.Fatalf("first round: %d attempts", n)
	}
	r := get(t, ob, rec.ID)
	if r.State != StatePending || r.Attempts != 1 || !strings.Contains(r.LastError, "500") {
		t.Fatalf("after a 500: %+v", r)
	}
	// Equal jitter: the first wait is between half the base back-off and all of it.
	if wait := r.NextAttempt.Sub(clock.Now()); wait < 5*time.Second || wait > 10*time.Second {
		t.Errorf("first back-off %v, want 5s..10s", wait)
	}
	if n := deliverDue(t, d); n != 0 {
		t.Errorf("a round before the back-off made %d attempts", n)
	}
	clock.Advance(10 * time.Second)
	deliverDue(t, d)
	r = get(t, ob, rec.ID)
	if r.State != StatePending || r.Attempts != 2 {
		t.Fatalf("after the second 500: %+v", r)
	}
	if wait := r.NextAttempt.Sub(clock.Now()); wait < 10*time.Second || wait > 20*time.Second {
		t.Errorf("second back-off %v, want 10s..20s", wait)
	}
	clock.Advance(20 * time.Second)
	deliverDue(t, d)
	r = get(t, ob, rec.ID)
	if r.State != StateDelivered || r.Attempts != 3 || r.LastError != "" || !r.DeliveredAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after the 204: %+v", r)
	}
	reqs := recv["crm"].requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, q := range reqs {
		if q.id != rec.ID || string(q.body) != string(rec.Body) || q.trigger != "to-crm" || q.verr != nil {
			t.Errorf("request %d: id %s trigger %s signature %v", i, q.id, q.trigger, q.verr)
		}
	}
	if !strings.Contains(string(reqs[2].body), `"contributions":[{"rule":"directions-page","points":20}]`) {
		t.Errorf("body lacks the contributions: %s", reqs[2].body)
	}
	clock.Advance(time.Hour)
	if n := deliverDue(t, d); n != 0 {
		t.Errorf("a delivered record was attempted again (%d)", n)
	}
	if got := testutil.ToFloat64(d.deliveries.WithLabelValues(OutcomeDelivered)); got != 1 {
		t.Errorf("delivered count %v", got)
	}
	if got := testutil.ToFloat64(d.deliveries.WithLabelValues(OutcomeFailed)); got != 2 {
		t.Errorf("failed count %v", got)
	}
	if got := testutil.ToFloat64(d.depth); got != 0 {
		t.Errorf("outbox depth %v", got)
	}
	// The latency is measured from creation to delivery on the dispatcher's clock: 30s.
	if n, err := testutil.GatherAndCount(reg, "propensity_trigger_delivery_latency_seconds"); err != nil || n != 1 {
		t.Errorf("latency histogram: %d, %v", n, err)
	}
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP propensity_trigger_delivery_latency_seconds Time from an outbox record's creation to its delivery.
# TYPE propensity_trigger_delivery_latency_seconds histogram
propensity_trigger_delivery_latency_seconds_bucket{le="0.01"} 0
propensity_trigger_delivery_latency_seconds_bucket{le="0.04"} 0
propensity_trigger_delivery_latency_seconds_bucket{le="0.16"} 0
propensity_trigger_delivery_latency_seconds_bucket{le="0.64"} 0
propensity_trigger_delivery_latency_seconds_bucket{le="2.56"} 0
propensity_trigger_delivery_latency_seconds_bucket{le="10.24"} 0
propensity_trigger_delivery_latency_seconds_bucket{le="40.96"} 1
propensity_trigger_delivery_latency_seconds_bucket{le="163.84"} 1
propensity_trigger_delivery_latency_seconds_bucket{le="655.36"} 1
propensity_trigger_delivery_latency_seconds_bucket{le="2621.44"} 1
propensity_trigger_delivery_latency_seconds_bucket{le="+Inf"} 1
propensity_trigger_delivery_latency_seconds_sum 30
propensity_trigger_delivery_latency_seconds_count 1
`), "propensity_trigger_delivery_latency_seconds")
	if err != nil {
		t.Error(err)
	}
}

// TestDeadAfterMaxAttempts: a receiver that always fails ends in the dead state after
// MaxAttempts attempts, and is not called again.
func TestDeadAfterMaxAttempts(t *testing.T) {
	clock := newClock()
	c, recv := setup(t, clock, map[string]func(int) int{"down": always(http.StatusServiceUnavailable)},
		"delivery: {max_attempts: 4, base_backoff: 1s, max_backoff: 4s, pause_after: 100}\n")
	ob := &MemOutbox{}
	d := newDispatcher(t, c, ob, clock, prometheus.NewRegistry())
	rec := enqueue(t, c, ob, clock, "c-1")[0]
	for range 10 {
		deliverDue(t, d)
		clock.Advance(4 * time.Second)
	}
	r := get(t, ob, rec.ID)
	if r.State != StateDead || r.Attempts != 4 || !strings.Contains(r.LastError, "503") {
		t.Fatalf("record %+v, want dead after 4 attempts", r)
	}
	if n := len(recv["down"].requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	if got := testutil.ToFloat64(d.deliveries.WithLabelValues(OutcomeDead)); got != 1 {
		t.Errorf("dead count %v", got)
	}
	if got := testutil.ToFloat64(d.deliveries.WithLabelValues(OutcomeFailed)); got != 3 {
		t.Errorf("failed count %v", got)
	}
	if dead, _ := ob.List(context.Background(), StateDead, 0); len(dead) != 1 {
		t.Errorf("List(dead) = %d records", len(dead))
	}
}

// TestReplay resends dead records with their ids kept, and unpauses their endpoint.
func TestReplay(t *testing.T) {
	clock := newClock()
	healthy := false
	var mu sync.Mutex
	c, recv := setup(t, clock, map[string]func(int) int{"crm": func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return http.StatusOK
		}
		return http.StatusBadGateway
	}}, "delivery: {max_attempts: 1, pause_after: 1, base_backoff: 1h}\n")
	ob := &MemOutbox{}
	d := newDispatcher(t, c, ob, clock, nil)
	first := enqueue(t, c, ob, clock, "c-1")[0]
	deliverDue(t, d)
	second := enqueue(t, c, ob, clock, "c-2")[0]
	deliverDue(t, d) // the endpoint is paused: the second record waits, unattempted
	if r := get(t, ob, first.ID); r.State != StateDead {
		t.Fatalf("first: %+v", r)
	}
	if r := get(t, ob, second.ID); r.State != StatePending || r.Attempts != 0 || !r.NextAttempt.After(clock.Now()) {
		t.Fatalf("second, endpoint paused: %+v", r)
	}
	if _, ok := d.Paused()["crm"]; !ok {
		t.Fatalf("crm not paused: %v", d.Paused())
	}
	mu.Lock()
	healthy = true
	mu.Unlock()

	ctx := context.Background()
	if n, err := d.Replay(ctx, []string{first.ID, "no-such-id"}, StateDelivered); err != nil || n != 0 {
		t.Errorf("Replay of a dead id filtered to delivered: %d, %v", n, err)
	}
	n, err := d.Replay(ctx, nil, "")
	if err != nil || n != 1 {
		t.Fatalf("Replay(dead) = %d, %v", n, err)
	}
	if r := get(t, ob, first.ID); r.State != StatePending || r.Attempts != 0 || r.LastError != "" {
		t.Errorf("replayed: %+v", r)
	}
	if len(d.Paused()) != 0 {
		t.Errorf("still paused after replay: %v", d.Paused())
	}
	deliverDue(t, d)
	if r := get(t, ob, first.ID); r.State != StateDelivered {
		t.Errorf("replayed record: %+v", r)
	}
	reqs := recv["crm"].requests()
	if len(reqs) != 2 || reqs[0].id != first.ID || reqs[1].id != first.ID {
		t.Errorf("requests %+v: want the first record twice, same id", reqs)
	}
	// Replay by id of a delivered record (an operator resending on purpose).
	if n, err := d.Replay(ctx, []string{first.ID}, ""); err != nil || n != 1 {
		t.Errorf("Replay by id: %d, %v", n, err)
	}
	if r := get(t, ob, first.ID); r.State != StatePending {
		t.Errorf("replayed by id: %+v", r)
	}
}

// TestEndpointPause: after PauseAfter consecutive failures an endpoint gets one probe per
// pause, while other endpoints are served; when it recovers, its records go out.
func TestEndpointPause(t *testing.T) {
	clock := newClock()
	var mu sync.Mutex
	downHealthy := false
	// One lane, so that the counts below are exact; lanes are tested in TestLanes.
	c, recv := setupEndpoints(t, clock, map[string]func(int) int{
		"down": func(int) int {
			mu.Lock()
			defer mu.Unlock()
			if downHealthy {
				return http.StatusOK
			}
			return http.StatusInternalServerError
		},
		"up": always(http.StatusOK),
	}, ", max_in_flight: 1", "delivery: {max_attempts: 100, base_backoff: 1m, max_backoff: 10m, pause_after: 2}\n")
	ob := &MemOutbox{}
	d := newDispatcher(t, c, ob, clock, prometheus.NewRegistry())
	var all []Delivery
	for _, contact := range []string{"a", "b", "c", "d", "e"} {
		all = append(all, enqueue(t, c, ob, clock, contact)...) // one to down, one to up each
	}
	deliverDue(t, d)
	if n := len(recv["down"].requests()); n != 2 {
		t.Errorf("down got %d requests before its pause, want 2", n)
	}
	if n := len(recv["up"].requests()); n != 5 {
		t.Errorf("up got %d requests, want 5", n)
	}
	until, ok := d.Paused()["down"]
	if !ok || testutil.ToFloat64(d.paused) != 1 {
		t.Fatalf("down not paused: %v", d.Paused())
	}
	// The failure that paused the endpoint and the records not attempted wait for the pause
	// to end; the first failure keeps its own back-off (and is rescheduled when it falls
	// due during the pause).
	for _, r := range all {
		if got := get(t, ob, r.ID); r.Endpoint == "down" && got.ContactID != "a" && (got.State != StatePending || got.NextAttempt.Before(until)) {
			t.Errorf("record of the paused endpoint due before the pause ends: %s %+v", got.ContactID, got.NextAttempt)
		}
	}
	// Each pause end lets one probe through.
	for i := range 3 {
		clock.Advance(10 * time.Minute)
		before := len(recv["down"].requests())
		deliverDue(t, d)
		if n := len(recv["down"].requests()) - before; n != 1 {
			t.Errorf("pause %d: %d requests, want one probe", i, n)
		}
	}
	mu.Lock()
	downHealthy = true
	mu.Unlock()
	clock.Advance(10 * time.Minute)
	deliverDue(t, d)
	clock.Advance(10 * time.Minute)
	deliverDue(t, d)
	for _, r := range all {
		if got := get(t, ob, r.ID); got.State != StateDelivered {
			t.Errorf("after recovery: %+v", got)
		}
	}
	if len(d.Paused()) != 0 || testutil.ToFloat64(d.paused) != 0 {
		t.Errorf("still paused: %v", d.Paused())
	}
	if got := len(recv["down"].requests()); got != 2+3+5 {
		t.Errorf("down got %d requests in all, want 10 (2 failures, 3 probes, 5 deliveries)", got)
	}
}

// TestFailures: timeouts, redirects and unknown endpoints are failures, not deliveries.
func TestFailures(t *testing.T) {
	clock := newClock()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the dispatcher gave up
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a redirect was followed")
	}))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	c, err := ParseEnv([]byte(`
endpoints:
  - {name: slow, url: "`+slow.URL+`", secret: s, timeout: 1ms}
  - {name: redirect, url: "`+redirect.URL+`", secret: s}
triggers:
  - {name: t, when: {mql: entered}, endpoints: [slow, redirect]}
delivery: {max_attempts: 5}
`), "", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	ob := &MemOutbox{}
	ds := c.NewDeliveries("c-1", c.Evaluate(State{}, State{HasRules: true, MQL: true}), nil, clock.Now())
	ds = append(ds, Delivery{ID: "orphan", Endpoint: "removed", URL: "http://127.0.0.1:1/", State: StatePending, CreatedAt: clock.Now(), NextAttempt: clock.Now()})
	ob.Add(ds...)
	d := newDispatcher(t, c, ob, clock, nil)
	if n := deliverDue(t, d); n != 2 {
		t.Errorf("%d attempts, want 2 (the orphan is not attempted)", n)
	}
	want := map[string]string{"slow": "no answer within 1ms", "redirect": "HTTP 307", "removed": `endpoint "removed" is not in the triggers file`}
	for _, r := range ds {
		got := get(t, ob, r.ID)
		if !strings.Contains(got.LastError, want[r.Endpoint]) || got.State == StateDelivered {
			t.Errorf("%s: %+v, want an error with %q", r.Endpoint, got, want[r.Endpoint])
		}
	}
	if got := get(t, ob, "orphan"); got.State != StateDead || got.Attempts != 0 {
		t.Errorf("orphan: %+v, want dead without an attempt", got)
	}
}

// failingOutbox fails every Update.
type failingOutbox struct{ *MemOutbox }

func (failingOutbox) Update(context.Context, Delivery) error { return errors.New("disk full") }

func TestOutboxError(t *testing.T) {
	clock := newClock()
	c, recv := setupEndpoints(t, clock, map[string]func(int) int{"crm": always(http.StatusOK)}, ", max_in_flight: 1", "")
	mem := &MemOutbox{}
	enqueue(t, c, mem, clock, "c-1")
	enqueue(t, c, mem, clock, "c-2")
	d := newDispatcher(t, c, failingOutbox{mem}, clock, nil)
	_, err := d.DeliverDue(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("DeliverDue = %v, want the outbox error", err)
	}
	// The worker stops at the first unpersisted result: the second record is not sent.
	if n := len(recv["crm"].requests()); n != 1 {
		t.Errorf("%d requests after a failed update, want 1", n)
	}
	if p, _ := mem.List(context.Background(), StatePending, 0); len(p) != 2 {
		t.Errorf("%d pending, want both records still pending (to be sent again)", len(p))
	}
}

// notifyingOutbox reports every Update on a channel.
type notifyingOutbox struct {
	*MemOutbox
	updated chan Delivery
}

func (o notifyingOutbox) Update(ctx context.Context, d Delivery) error {
	err := o.MemOutbox.Update(ctx, d)
	o.updated <- d
	return err
}

// TestRunNotify: Run delivers a record as soon as it is notified, retries when the fake
// clock passes the back-off, and returns when its context ends.
func TestRunNotify(t *testing.T) {
	clock := newClock()
	c, recv := setup(t, clock, map[string]func(int) int{"crm": func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}}, "delivery: {base_backoff: 2s, max_backoff: 2s}\n")
	recv["crm"].got = make(chan received, 10)
	ob := notifyingOutbox{&MemOutbox{}, make(chan Delivery, 10)}
	d := NewDispatcher(c, ob, DispatcherOptions{Now: clock.Now, After: clock.After, Rand: mrand.NewPCG(3, 4), PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()

	rec := enqueue(t, c, ob.MemOutbox, clock, "c-1")[0]
	d.Notify()
	if q := <-recv["crm"].got; q.id != rec.ID {
		t.Errorf("first request id %s", q.id)
	}
	if u := <-ob.updated; u.State != StatePending || u.Attempts != 1 {
		t.Fatalf("after the 500: %+v", u)
	}
	clock.Advance(2 * time.Second) // fires Run's wait for the retry
	if q := <-recv["crm"].got; q.id != rec.ID || q.verr != nil {
		t.Errorf("retry: id %s, signature %v", q.id, q.verr)
	}
	if u := <-ob.updated; u.State != StateDelivered || u.Attempts != 2 {
		t.Errorf("after the retry: %+v", u)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestBackoff(t *testing.T) {
	c := &Config{Delivery: DeliverySettings{BaseBackoff: time.Second, MaxBackoff: time.Minute}.withDefaults()}
	d := NewDispatcher(c, &MemOutbox{}, DispatcherOptions{Rand: mrand.NewPCG(5, 6)})
	for n := 1; n <= 40; n++ {
		full := min(time.Second<<min(n-1, 30), time.Minute)
		seen := map[time.Duration]bool{}
		for range 50 {
			b := d.Backoff(n)
			if b < full/2 || b > full {
				t.Fatalf("Backoff(%d) = %v, want %v..%v", n, b, full/2, full)
			}
			seen[b] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d): %d distinct waits in 50 draws; want jitter", n, len(seen))
		}
	}
	// Options override the file's settings.
	d = NewDispatcher(c, &MemOutbox{}, DispatcherOptions{MaxAttempts: 3, BaseBackoff: 2 * time.Second, MaxBackoff: time.Second, PauseAfter: 7})
	if s := d.Settings(); s != (DeliverySettings{MaxAttempts: 3, BaseBackoff: 2 * time.Second, MaxBackoff: 2 * time.Second, PauseAfter: 7}) {
		t.Errorf("settings %+v", s)
	}
}

// staleOutbox answers Due with a list taken before its records changed.
type staleOutbox struct {
	*MemOutbox
	stale []Delivery
}

func (o staleOutbox) Due(context.Context, time.Time, int) ([]Delivery, error) { return o.stale, nil }

// TestStaleDueList: a record delivered, or erased, after the due list was read is not sent.
func TestStaleDueList(t *testing.T) {
	clock := newClock()
	c, recv := setup(t, clock, map[string]func(int) int{"crm": always(http.StatusOK)}, "")
	mem := &MemOutbox{}
	delivered := enqueue(t, c, mem, clock, "c-1")[0]
	erased := enqueue(t, c, mem, clock, "c-2")[0]
	stale, _ := mem.Due(context.Background(), clock.Now(), 0)
	d := newDispatcher(t, c, mem, clock, nil)
	deliverDue(t, d) // delivers both
	mem.DeleteContact("c-2")
	mem.Add(Delivery{ID: "fresh", Endpoint: "crm", URL: delivered.URL, Body: []byte(`{}`), State: StatePending, CreatedAt: clock.Now(), NextAttempt: clock.Now()})
	fresh, _, _ := mem.Get(context.Background(), "fresh")
	d = newDispatcher(t, c, staleOutbox{mem, append(stale, fresh)}, clock, nil)
	if n := deliverDue(t, d); n != 1 {
		t.Errorf("%d attempts from a stale list, want 1 (only the fresh record)", n)
	}
	if n := len(recv["crm"].requests()); n != 3 {
		t.Errorf("%d requests in all, want 3", n)
	}
	if _, ok, _ := mem.Get(context.Background(), erased.ID); ok {
		t.Error("an erased record came back")
	}
}

// TestLanes: a healthy endpoint gets up to max_in_flight requests at once, and each
// contact's records still arrive in order.
func TestLanes(t *testing.T) {
	clock := newClock()
	var mu sync.Mutex
	var order []string               // contact ids in arrival order
	arrived := map[string][]string{} // delivery ids by contact, in arrival order
	inFlight, most := 0, 0
	both := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b Body
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		order = append(order, b.ContactID)
		arrived[b.ContactID] = append(arrived[b.ContactID], b.DeliveryID)
		inFlight++
		most = max(most, inFlight)
		if inFlight == 2 && most == 2 && len(order) == 2 {
			close(both)
		}
		first := len(order) == 1
		mu.Unlock()
		if first {
			// The first request is answered only once a second one is in flight, which
			// one lane could never do (it would time out and fail).
			select {
			case <-both:
			case <-r.Context().Done():
			}
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	defer srv.Close()
	c, err := ParseEnv([]byte(`
endpoints: [{name: crm, url: "`+srv.URL+`", secret: s, max_in_flight: 2, timeout: 30s}]
triggers: [{name: t, when: {stage_entered: mql}, endpoints: crm}]
`), "", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	// Two contacts that fall in different lanes of two.
	lane := func(id string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(id))
		return h.Sum32() % 2
	}
	a, b := "contact-a", ""
	for i := 0; b == ""; i++ {
		if id := fmt.Sprintf("contact-b%d", i); lane(id) != lane(a) {
			b = id
		}
	}
	ob := &MemOutbox{}
	created := map[string][]string{}
	for _, id := range []string{a, b, a, a, b} {
		created[id] = append(created[id], enqueue(t, c, ob, clock, id)[0].ID)
		clock.Advance(time.Second)
	}
	d := newDispatcher(t, c, ob, clock, nil)
	if n := deliverDue(t, d); n != 5 {
		t.Fatalf("%d attempts, want 5", n)
	}
	if l, _ := ob.List(context.Background(), StateDelivered, 0); len(l) != 5 {
		t.Errorf("%d delivered, want 5", len(l))
	}
	if most != 2 {
		t.Errorf("at most %d requests in flight, want 2", most)
	}
	// Each contact's records arrive in the order they were created.
	for contact, want := range created {
		if got := strings.Join(arrived[contact], ","); got != strings.Join(want, ",") {
			t.Errorf("contact %s: arrivals %s, want %s", contact, got, strings.Join(want, ","))
		}
	}
}

// TestSetConfig: after a reload, records of a removed endpoint die without an attempt,
// records of a moved endpoint go to its new URL, and the new delivery settings apply.
func TestSetConfig(t *testing.T) {
	clock := newClock()
	c, recv := setup(t, clock, map[string]func(int) int{"crm": always(http.StatusOK), "up": always(http.StatusOK)}, "")
	ob := &MemOutbox{}
	ds := enqueue(t, c, ob, clock, "c-1") // one to crm, one to up
	d := newDispatcher(t, c, ob, clock, nil)
	moved := &receiver{t: t, secret: "secret-moved", clock: clock, respond: always(http.StatusOK)}
	srv := httptest.NewServer(moved)
	defer srv.Close()
	next, err := ParseEnv([]byte("endpoints: [{name: up, url: '"+srv.URL+"', secret: secret-moved}]\n"+
		"triggers: [{name: t, when: {mql: entered}, endpoints: up}]\ndelivery: {max_attempts: 3}\n"), "", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	d.SetConfig(next)
	if d.Settings().MaxAttempts != 3 {
		t.Errorf("settings after SetConfig: %+v", d.Settings())
	}
	deliverDue(t, d)
	for _, r := range ds {
		got := get(t, ob, r.ID)
		switch r.Endpoint {
		case "crm":
			if got.State != StateDead || got.Attempts != 0 {
				t.Errorf("record of the removed endpoint: %+v", got)
			}
		case "up":
			if got.State != StateDelivered {
				t.Errorf("record of the kept endpoint: %+v", got)
			}
		}
	}
	// The record goes where the file says now, signed with the file's secret now.
	if len(recv["crm"].requests()) != 0 || len(recv["up"].requests()) != 0 {
		t.Errorf("requests to the old endpoints: crm %d, up %d", len(recv["crm"].requests()), len(recv["up"].requests()))
	}
	if q := moved.requests(); len(q) != 1 || q[0].verr != nil {
		t.Errorf("requests to the moved endpoint: %+v", q)
	}
}
