// Command liveload drives a running `propensity serve --store` and reports throughput and
// latency percentiles of its live routes (docs/operations.md, "Sizing the live store"):
//
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode batch  -batch 500 -clients 4 -duration 20s
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode single -clients 32 -duration 20s
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode score  -ids-from HISTORY -rate 5000 -duration 20s
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode webhook -receiver 127.0.0.1:18700 -rate 10000 -batch 100 -duration 20s
//
// batch posts NDJSON batches of new events (each with an event_id), single posts one event
// per request, score asks GET /v1/contacts/{id}/score for the contact ids of a history
// directory (-ids-from) or of a file (-ids, one a line).
//
// Without -rate, each of -clients clients sends its next request when the last one is
// answered (closed loop: the rate is what the server gives). With -rate N, requests are
// started on a fixed schedule of N per second (N events per second in batch and webhook
// modes) by up to -clients at once, and a request's latency counts from its scheduled
// start, so a server that falls behind is charged for the queue it causes (open loop).
//
// webhook measures event to webhook: it listens on -receiver for the deliveries of a
// triggers file whose endpoint points there (scripts/liveload/webhook-triggers.yaml), and
// posts NDJSON batches of page views of existing contacts in which one event in
// -trigger-every is instead the second event of a new lead (form, then directions page)
// that crosses the dealership scorecard's MQL line; the lead's contact row is posted just
// before. Each webhook's latency runs from the start of the events request that carried its
// crossing event to the webhook's arrival. With -ids-from, the page views go to the
// history's contacts. A page view that no scorecard rule reads (the default -page) is stored
// without re-scoring its person; one that a rule reads (-page /careers) re-scores it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

type config struct {
	addr, mode, key string
	batch, clients  int
	contacts        int
	rate            float64
	duration        time.Duration
	triggerEvery    int
	ids             []string
	run             string
	page            string
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8080", "server address")
	flag.StringVar(&c.mode, "mode", "batch", "batch, single, score or webhook")
	flag.IntVar(&c.batch, "batch", 500, "events per request (batch and webhook modes)")
	flag.IntVar(&c.clients, "clients", 0, "concurrent clients (default 4 closed loop, 256 with -rate)")
	flag.Float64Var(&c.rate, "rate", 0, "open loop: requests per second (events per second in batch and webhook modes); 0: closed loop")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "how long to send")
	flag.IntVar(&c.contacts, "contacts", 10000, "events go to contact ids c-0 .. c-(N-1)")
	flag.IntVar(&c.triggerEvery, "trigger-every", 100, "webhook mode: one event in N crosses the MQL line")
	flag.StringVar(&c.page, "page", "/blog/news", "webhook mode: the page of the other page views (the default earns no points, so the server need not re-score for it; /careers does)")
	idsFile := flag.String("ids", "", "file of contact ids to score, or to send events to (instead of c-0 ..)")
	idsFrom := flag.String("ids-from", "", "history directory whose contact ids to score, or to send events to")
	receiver := flag.String("receiver", "127.0.0.1:18700", "webhook mode: address to receive the webhooks on")
	drain := flag.Duration("drain", 10*time.Second, "webhook mode: how long to wait for the last webhooks")
	flag.StringVar(&c.key, "key", "", "API key (Authorization: Bearer)")
	flag.Parse()
	if c.clients <= 0 {
		c.clients = 4
		if c.rate > 0 {
			c.clients = 256
		}
	}
	c.run = fmt.Sprint(time.Now().UnixNano())
	if c.mode == "score" || *idsFrom != "" || *idsFile != "" {
		var err error
		if c.ids, err = loadIDs(*idsFrom, *idsFile); err != nil {
			fmt.Fprintln(os.Stderr, "liveload:", err)
			os.Exit(2)
		}
	}
	switch c.mode {
	case "batch", "single", "score":
		res := drive(&c, nil)
		res.print(&c)
	case "webhook":
		if err := webhook(&c, *receiver, *drain); err != nil {
			fmt.Fprintln(os.Stderr, "liveload:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "liveload: -mode %q: want batch, single, score or webhook\n", c.mode)
		os.Exit(2)
	}
}

func loadIDs(from, file string) ([]string, error) {
	var ids []string
	if from != "" {
		_, err := history.ReadRows(context.Background(), from, features.Mapping{}, history.RowVisitor{
			Contact: func(r history.ContactRow) error { ids = append(ids, r.ContactID); return nil },
		})
		if err != nil {
			return nil, fmt.Errorf("-ids-from: %w", err)
		}
		return ids, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("-ids: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() != "" {
			ids = append(ids, sc.Text())
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("-ids: no ids in %s", file)
	}
	return ids, sc.Err()
}

type result struct {
	elapsed            time.Duration // from the first start to the last answer
	lat                []time.Duration
	requests, failures int
	records            int
	late               int // open loop: requests started after their schedule had passed by 1 s
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(10 * time.Microsecond)
}

func (r *result) print(c *config) {
	slices.Sort(r.lat)
	// A server that falls behind answers the last requests after the run's duration: the
	// rates are over the whole time.
	secs := max(c.duration, r.elapsed).Seconds()
	loop := "closed"
	if c.rate > 0 {
		loop = fmt.Sprintf("open rate=%.0f", c.rate)
	}
	fmt.Printf("mode=%s loop=%s clients=%d requests=%d failures=%d seconds=%.1f req/s=%.0f records/s=%.0f p50=%s p95=%s p99=%s\n",
		c.mode, loop, c.clients, r.requests, r.failures, secs, float64(r.requests)/secs, float64(r.records)/secs,
		pct(r.lat, 0.50), pct(r.lat, 0.95), pct(r.lat, 0.99))
}

// job is one request to make: its sequence number and scheduled start (zero: now).
type job struct {
	seq   int
	sched time.Time
}

// drive sends requests for c.duration, closed or open loop. sent, when not nil, is called
// with each webhook-mode lead and the request's start before the request is sent.
func drive(c *config, sent func(lead string, start time.Time)) *result {
	var mu sync.Mutex
	total := &result{}
	start := time.Now()
	deadline := start.Add(c.duration)
	jobs := make(chan job, 1<<16)
	if c.rate > 0 {
		per := 1.0
		if c.mode == "batch" || c.mode == "webhook" {
			per = float64(c.batch)
		}
		interval := time.Duration(float64(time.Second) * per / c.rate)
		go func() {
			defer close(jobs)
			for i := 0; ; i++ {
				at := start.Add(time.Duration(i) * interval)
				if !at.Before(deadline) {
					return
				}
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				jobs <- job{seq: i, sched: at}
			}
		}()
	} else {
		go func() {
			defer close(jobs)
			for i := 0; time.Now().Before(deadline); i++ {
				jobs <- job{seq: i}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			conn := &rawConn{addr: c.addr, timeout: 30 * time.Second}
			defer conn.close()
			r := &result{}
			for j := range jobs {
				if c.rate == 0 && !time.Now().Before(deadline) {
					break
				}
				req, k, leads := c.request(rng, j.seq)
				if len(leads) > 0 {
					// The new leads' contact rows go first: a person needs a contact.
					if err := c.postContacts(conn, leads); err != nil {
						r.failures++
						continue
					}
					now := time.Now()
					for _, l := range leads {
						sent(l, now)
					}
				}
				t0 := time.Now()
				if !j.sched.IsZero() {
					if t0.Sub(j.sched) > time.Second {
						r.late++
					}
					t0 = j.sched
				}
				status, err := conn.do(req, c.key)
				r.lat = append(r.lat, time.Since(t0))
				r.requests++
				if err != nil || status != http.StatusOK {
					r.failures++
					continue
				}
				r.records += k
			}
			mu.Lock()
			total.lat = append(total.lat, r.lat...)
			total.requests += r.requests
			total.failures += r.failures
			total.records += r.records
			total.late += r.late
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	if total.late > 0 {
		fmt.Fprintf(os.Stderr, "liveload: %d requests started more than 1 s after their schedule (the clients were all busy)\n", total.late)
	}
	return total
}

// request builds request seq: its record count and, in webhook mode, the leads whose
// crossing event it carries.
func (c *config) request(rng *rand.Rand, seq int) (call, int, []string) {
	var req call
	k := 1
	var leads []string
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	switch c.mode {
	case "score":
		id := c.ids[rng.IntN(len(c.ids))]
		req = call{method: http.MethodGet, path: "/v1/contacts/" + url.PathEscape(id) + "/score"}
	default:
		if c.mode != "single" {
			k = c.batch
		}
		var b bytes.Buffer
		for j := range k {
			if c.mode == "webhook" && (seq*k+j)%c.triggerEvery == 0 {
				// A new lead: the form (+10), then the directions page (+20) crosses 30.
				lead := fmt.Sprintf("w-%s-%d-%d", c.run, seq, j)
				leads = append(leads, lead)
				fmt.Fprintf(&b, `{"event_id":"%s-f","contact_id":"%s","type":"form_submit","page":"/models/suv","ts":"%s"}`+"\n", lead, lead, ts)
				fmt.Fprintf(&b, `{"event_id":"%s-d","contact_id":"%s","type":"page_view","page":"/directions","ts":"%s"}`+"\n", lead, lead, ts)
				continue
			}
			page := "/models/x"
			if c.mode == "webhook" {
				page = c.page // by default no points: no transition
			}
			id := fmt.Sprintf("c-%d", rng.IntN(c.contacts))
			if len(c.ids) > 0 {
				id = c.ids[rng.IntN(len(c.ids))]
			}
			fmt.Fprintf(&b, `{"event_id":"%s-%d-%d","contact_id":"%s","type":"page_view","page":"%s","ts":"%s"}`+"\n",
				c.run, seq, j, id, page, ts)
		}
		req = call{method: http.MethodPost, path: "/v1/events", ctype: "application/x-ndjson", body: b.Bytes()}
	}
	return req, k, leads
}

// postContacts creates the contact rows of new leads.
func (c *config) postContacts(conn *rawConn, leads []string) error {
	var b bytes.Buffer
	for _, l := range leads {
		fmt.Fprintf(&b, `{"contact_id":"%s","created_at":"%s"}`+"\n", l, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	}
	status, err := conn.do(call{method: http.MethodPost, path: "/v1/contacts", ctype: "application/x-ndjson", body: b.Bytes()}, c.key)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("POST /v1/contacts: status %d", status)
	}
	return nil
}

// webhook runs the event-to-webhook measurement.
func webhook(c *config, addr string, drain time.Duration) error {
	var sentAt sync.Map // lead -> time.Time
	var leads atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var unknown, dup atomic.Int64
	seen := sync.Map{}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-receiver: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var body struct {
			ContactID string `json:"contact_id"`
		}
		err := json.NewDecoder(r.Body).Decode(&body)
		w.WriteHeader(http.StatusOK)
		if err != nil {
			unknown.Add(1)
			return
		}
		t, ok := sentAt.Load(body.ContactID)
		if !ok {
			unknown.Add(1)
			return
		}
		if _, again := seen.LoadOrStore(body.ContactID, true); again {
			dup.Add(1) // at least once: a resend is not a second measurement
			return
		}
		mu.Lock()
		lat = append(lat, now.Sub(t.(time.Time)))
		mu.Unlock()
	})}
	go srv.Serve(ln)
	defer srv.Close()
	res := drive(c, func(lead string, start time.Time) {
		sentAt.Store(lead, start)
		leads.Add(1)
	})
	res.print(c)
	// Wait for the last webhooks, up to drain.
	end := time.Now().Add(drain)
	for time.Now().Before(end) {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if int64(n) >= leads.Load() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	fmt.Printf("webhooks: leads=%d received=%d missing=%d resent=%d unknown=%d event-to-webhook p50=%s p95=%s p99=%s max=%s\n",
		leads.Load(), len(lat), leads.Load()-int64(len(lat)), dup.Load(), unknown.Load(),
		pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99), pct(lat, 1))
	return nil
}
