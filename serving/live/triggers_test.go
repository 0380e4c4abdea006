package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/triggers"
)

// receiver records the webhook requests it gets; fail decides, per attempt number (from 1),
// whether to answer 500.
type receiver struct {
	mu   sync.Mutex
	got  []hookRequest
	n    int
	fail func(n int) bool
	srv  *httptest.Server
}

type hookRequest struct {
	id, sig string
	body    []byte
}

func newReceiver(t *testing.T, fail func(int) bool) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.n++
		if r.fail != nil && r.fail(r.n) {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		r.got = append(r.got, hookRequest{req.Header.Get(triggers.HeaderDeliveryID), req.Header.Get(triggers.HeaderSignature), b})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) take() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

const secret = "s3cret-for-tests"

func triggersConfig(t *testing.T, url string) *triggers.Config {
	t.Helper()
	cfg, err := triggers.Parse([]byte(fmt.Sprintf(`
endpoints:
  - {name: sales, url: %q, secret: %q}
triggers:
  - {name: mql-entered, when: {stage_entered: mql}, endpoints: [sales]}
  - {name: mql-left, when: {stage_left: mql}, endpoints: [sales]}
`, url, secret)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// clock is a settable time for the service and the dispatcher.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type triggerHarness struct {
	*harness
	d   *triggers.Dispatcher
	clk *clock
	rcv *receiver
	// tolerance of the signature's time check (0: none)
	tolerance time.Duration
	// contact is the contact the next webhooks are expected for
	contact string
}

func newTriggerHarness(t *testing.T, fail func(int) bool, maxAttempts int) *triggerHarness {
	rcv := newReceiver(t, fail)
	cfg := triggersConfig(t, rcv.srv.URL)
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	th := &triggerHarness{clk: clk, rcv: rcv, tolerance: 5 * time.Minute, contact: "lead-1"}
	// The dispatcher needs the store, which the harness opens: build the service after.
	h := newHarness(t, rulesSet(t), live.Options{}, nil)
	th.d = triggers.NewDispatcher(cfg, h.st, triggers.DispatcherOptions{Now: clk.now, Client: rcv.srv.Client(),
		MaxAttempts: maxAttempts, BaseBackoff: time.Minute, MaxBackoff: time.Hour})
	h2 := rewire(t, h, live.Options{Triggers: cfg, Dispatcher: th.d, Now: clk.now})
	th.harness = h2
	return th
}

// rewire builds a new service and server over the harness's store.
func rewire(t *testing.T, h *harness, lo live.Options) *harness {
	t.Helper()
	reg := staticRegistry{rulesSet(t)}
	svc := live.New(h.st, reg, lo)
	srv := webServer(reg, svc, lo.Now)
	return &harness{st: h.st, svc: svc, srv: srv}
}

func (th *triggerHarness) post(t *testing.T, kind, body string) {
	t.Helper()
	w := th.do(http.MethodPost, "/v1/"+kind, []byte(body))
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"refused":1`) {
		t.Fatalf("POST %s %s: %d %s", kind, body, w.Code, w.Body)
	}
}

func (th *triggerHarness) deliver(t *testing.T) []hookRequest {
	t.Helper()
	if _, err := th.d.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return th.rcv.take()
}

func (th *triggerHarness) event(t *testing.T, typ, page string, ago time.Duration) {
	t.Helper()
	ts := th.clk.now().Add(-ago).Format(time.RFC3339)
	th.post(t, "events", fmt.Sprintf(`{"contact_id":"lead-1","type":%q,"page":%q,"ts":%q}`, typ, page, ts))
}

type hookBody struct {
	ContactID string `json:"contact_id"`
	Trigger   string `json:"trigger"`
	Kind      string `json:"kind"`
	Score     struct {
		Rules struct {
			Total         int               `json:"total"`
			Stage         string            `json:"stage"`
			Contributions []json.RawMessage `json:"contributions"`
		} `json:"rules"`
	} `json:"score"`
}

func (th *triggerHarness) one(t *testing.T, reqs []hookRequest, trigger string) hookBody {
	t.Helper()
	if len(reqs) != 1 {
		t.Fatalf("%d webhooks, want exactly one (%s)", len(reqs), trigger)
	}
	r := reqs[0]
	if err := triggers.Verify(secret, r.sig, r.body, th.clk.now(), th.tolerance); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if r.id == "" {
		t.Fatal("no delivery id header")
	}
	var b hookBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	if b.Trigger != trigger || b.ContactID != th.contact {
		t.Fatalf("webhook for %q of %q, want %q of %s", b.Trigger, b.ContactID, trigger, th.contact)
	}
	return b
}

// TestDealershipStory drives the dealership story event by event: the form, the email open
// and click stay below the MQL threshold of 30; the directions page crosses it and exactly
// one signed "mql-entered" webhook carries the contributions; a careers-page visit (-15)
// brings the total back under 30 and "mql-left" follows. Then time alone: once the 90-day windows
// of the events pass, the sweep lowers the score again.
func TestDealershipStory(t *testing.T) {
	th := newTriggerHarness(t, nil, 5)
	th.post(t, "contacts", `{"contact_id":"lead-1","created_at":"2026-02-01","email":"lead@example.com"}`)
	for _, step := range []struct{ typ, page string }{
		{"form_submit", "/models/suv"}, {"email_open", ""}, {"email_click", ""},
	} {
		th.event(t, step.typ, step.page, time.Hour)
		if got := th.deliver(t); len(got) != 0 {
			t.Fatalf("after %s: %d webhooks, want none below the threshold", step.typ, len(got))
		}
	}
	th.event(t, "page_view", "/directions", time.Hour)
	b := th.one(t, th.deliver(t), "mql-entered")
	if b.Score.Rules.Stage != "mql" || b.Score.Rules.Total < 30 || len(b.Score.Rules.Contributions) < 4 {
		t.Fatalf("entered mql with total %d stage %q and %d contributions", b.Score.Rules.Total, b.Score.Rules.Stage, len(b.Score.Rules.Contributions))
	}
	// Resending an event changes nothing: no second webhook.
	th.event(t, "page_view", "/directions", time.Hour)
	if got := th.deliver(t); len(got) != 0 {
		t.Fatalf("resent event: %d webhooks", len(got))
	}
	// The careers page (-15) takes the lead from 40 back to 25, below the threshold of 30:
	// exactly one "mql-left", with the careers rule among its contributions.
	th.event(t, "page_view", "/careers/jobs", 30*time.Minute)
	left := th.one(t, th.deliver(t), "mql-left")
	if left.Score.Rules.Total >= 30 || left.Score.Rules.Stage == "mql" {
		t.Fatalf("left mql with total %d stage %q", left.Score.Rules.Total, left.Score.Rules.Stage)
	}
	if !slices.ContainsFunc(left.Score.Rules.Contributions, func(c json.RawMessage) bool {
		return strings.Contains(string(c), `"rule":"careers-page"`) && strings.Contains(string(c), `"points":-15`)
	}) {
		t.Fatalf("mql-left contributions %s lack careers-page -15", left.Score.Rules.Contributions)
	}
	// Leaving is not repeated: an unsubscribe lowers the total further, and nothing fires.
	th.event(t, "email_unsubscribe", "", 20*time.Minute)
	if got := th.deliver(t); len(got) != 0 {
		t.Fatalf("unsubscribe below the line: %d webhooks, want none", len(got))
	}

	// Time alone: a fresh lead crosses the line, then its events' 90-day windows lapse
	// and only the sweep can notice.
	th.post(t, "contacts", `{"contact_id":"lead-2","created_at":"2026-02-01"}`)
	for _, e := range []struct{ typ, page string }{{"form_submit", "/models/van"}, {"page_view", "/directions"}} {
		th.post(t, "events", fmt.Sprintf(`{"contact_id":"lead-2","type":%q,"page":%q,"ts":%q}`, e.typ, e.page,
			th.clk.now().Add(-time.Hour).Format(time.RFC3339)))
	}
	th.contact = "lead-2"
	th.one(t, th.deliver(t), "mql-entered")
	if _, err := th.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := th.deliver(t); len(got) != 0 {
		t.Fatalf("sweep without time passing: %d webhooks", len(got))
	}
	th.clk.add(91 * 24 * time.Hour)
	n, err := th.svc.Sweep(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("sweep re-scored %d people (%v), want 2", n, err)
	}
	th.one(t, th.deliver(t), "mql-left")
}

// TestDeliveryRetries: a receiver that fails twice gets the delivery after back-off; one
// that always fails leaves it dead, listed by GET /v1/admin/triggers and resent by replay.
func TestDeliveryRetries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  func(int) bool
		state string
	}{
		{"fails-twice", func(n int) bool { return n <= 2 }, triggers.StateDelivered},
		{"always-fails", func(int) bool { return true }, triggers.StateDead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := newTriggerHarness(t, tc.fail, 3)
			th.post(t, "contacts", `{"contact_id":"lead-1","created_at":"2026-02-01"}`)
			th.post(t, "events", fmt.Sprintf(`[{"contact_id":"lead-1","type":"page_view","page":"/directions","ts":%q},
				{"contact_id":"lead-1","type":"form_submit","page":"/models/x","ts":%q}]`,
				th.clk.now().Add(-time.Hour).Format(time.RFC3339), th.clk.now().Add(-time.Hour).Format(time.RFC3339)))
			var got []hookRequest
			for range 4 {
				got = append(got, th.deliver(t)...)
				th.clk.add(2 * time.Hour) // past any back-off
			}
			w := th.do(http.MethodGet, "/v1/admin/triggers", nil)
			var list v1TriggersResponse
			if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || w.Code != http.StatusOK {
				t.Fatalf("GET /v1/admin/triggers: %d %s", w.Code, w.Body)
			}
			if len(list.Deliveries) != 1 || list.Deliveries[0].State != tc.state || list.Counts[tc.state] != 1 {
				t.Fatalf("deliveries %+v counts %v, want one %s", list.Deliveries, list.Counts, tc.state)
			}
			if tc.state == triggers.StateDelivered {
				th.tolerance = 0 // signed hours ago, on the fake clock
				th.one(t, got, "mql-entered")
				return
			}
			if len(got) != 0 {
				t.Fatalf("always-failing receiver recorded %d", len(got))
			}
			w = th.do(http.MethodPost, "/v1/admin/triggers/replay", []byte(`{}`))
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"replayed":1`) {
				t.Fatalf("replay: %d %s", w.Code, w.Body)
			}
			if d, _ := th.st.List(context.Background(), triggers.StatePending, 0); len(d) != 1 {
				t.Fatalf("%d pending after replay, want 1", len(d))
			}
		})
	}
}

type v1TriggersResponse struct {
	Counts     map[string]int `json:"counts"`
	Deliveries []struct {
		State string `json:"state"`
	} `json:"deliveries"`
}
