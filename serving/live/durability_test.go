package live_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/triggers"
)

// Environment of the child server process of TestDurabilitySIGKILL.
const (
	envChildStore = "PROPENSITY_TEST_CHILD_STORE"
	envChildHook  = "PROPENSITY_TEST_CHILD_HOOK"
)

// TestDurabilityChild is the child server: it runs only when started by
// TestDurabilitySIGKILL, serving a store with triggers until it is killed.
func TestDurabilityChild(t *testing.T) {
	dir := os.Getenv(envChildStore)
	if dir == "" {
		t.Skip("run by TestDurabilitySIGKILL")
	}
	cfg, err := triggers.Parse([]byte(fmt.Sprintf(`
endpoints:
  - {name: sales, url: %q, secret: %q}
triggers:
  - {name: mql-entered, when: {stage_entered: mql}, endpoints: [sales]}
delivery: {base_backoff: 20ms, max_backoff: 100ms, max_attempts: 1000}
`, os.Getenv(envChildHook), secret)), "child.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := triggers.NewDispatcher(cfg, st, triggers.DispatcherOptions{PollInterval: 50 * time.Millisecond})
	reg := staticRegistry{rulesSet(t)}
	svc := live.New(st, reg, live.Options{Triggers: cfg, Dispatcher: d})
	srv := webServer(reg, svc, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.Run(context.Background()) }()
	fmt.Printf("LISTENING %s\n", ln.Addr())
	_ = http.Serve(ln, srv)
}

// child is a running child server.
type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, dir, hook string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.v")
	cmd.Env = append(os.Environ(), envChildStore+"="+dir, envChildHook+"="+hook)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return &child{cmd: cmd, addr: a}
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	t.Fatal("child server did not start")
	return nil
}

func (c *child) kill(t *testing.T) {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// TestDurabilitySIGKILL ingests events from several clients into a child server process,
// kills it with SIGKILL in the middle, restarts it on the same store and checks that every
// acknowledged event is stored exactly once, and that the webhook deliveries pending at the
// kill (the receiver refused them until then) are delivered after the restart.
func TestDurabilitySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := filepath.Join(t.TempDir(), "store")
	var accepting atomic.Bool
	var mu sync.Mutex
	received := map[string]bool{}
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accepting.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		received[r.Header.Get(triggers.HeaderDeliveryID)] = true
		mu.Unlock()
	})}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hook.Serve(hln) }()
	defer hook.Close()

	c := startChild(t, dir, "http://"+hln.Addr().String())
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(addr, kind, body string) (bool, error) {
		resp, err := client.Post("http://"+addr+"/v1/"+kind, "application/x-ndjson", strings.NewReader(body))
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}
	// Leads that cross the MQL line, so that deliveries are pending at the kill.
	now := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for i := range 5 {
		body := fmt.Sprintf(`{"contact_id":"lead-%d","created_at":"2025-01-01"}`, i)
		if ok, err := post(c.addr, "contacts", body); !ok || err != nil {
			t.Fatalf("contact: %v %v", ok, err)
		}
		body = fmt.Sprintf("{\"contact_id\":\"lead-%d\",\"type\":\"form_submit\",\"page\":\"/models/x\",\"ts\":%q}\n"+
			"{\"contact_id\":\"lead-%d\",\"type\":\"page_view\",\"page\":\"/directions\",\"ts\":%q}", i, now, i, now)
		if ok, err := post(c.addr, "events", body); !ok || err != nil {
			t.Fatalf("events: %v %v", ok, err)
		}
	}
	// Sustained ingest from 4 clients, batches of 20 events with ids; killed after enough
	// acknowledgements.
	const clients, batch = 4, 20
	var ackMu sync.Mutex
	acked := map[string]bool{}
	var nAcked atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var b strings.Builder
				ids := make([]string, batch)
				for j := range batch {
					ids[j] = fmt.Sprintf("k%d-%d-%d", k, n, j)
					fmt.Fprintf(&b, "{\"event_id\":%q,\"contact_id\":\"c-%d\",\"type\":\"page_view\",\"ts\":\"2025-05-01T00:00:00Z\"}\n", ids[j], j)
				}
				ok, err := post(c.addr, "events", b.String())
				if err != nil {
					return // the server is gone
				}
				if ok {
					ackMu.Lock()
					for _, id := range ids {
						acked[id] = true
					}
					ackMu.Unlock()
					nAcked.Add(batch)
				}
			}
		}()
	}
	for nAcked.Load() < 2000 {
		time.Sleep(5 * time.Millisecond) // waiting for progress, not timing anything
	}
	c.kill(t)
	close(stop)
	wg.Wait()

	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	if err := st.ForEachEvent(func(e store.Event) error { seen[e.EventID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	pending, err := st.List(context.Background(), triggers.StatePending, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged event %s stored %d times", id, seen[id])
		}
	}
	delete(seen, "") // the leads' events, without ids
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s stored %d times", id, n)
		}
	}
	if len(pending) != 5 {
		t.Fatalf("%d deliveries pending at the kill, want 5 (one per lead)", len(pending))
	}
	t.Logf("%d acknowledged events survived the kill; %d stored in all", len(acked), len(seen))

	accepting.Store(true)
	c = startChild(t, dir, "http://"+hln.Addr().String())
	defer c.kill(t)
	deadline := time.Now().Add(30 * time.Second) // a guard against hanging, not a speed check
	for {
		mu.Lock()
		missing := 0
		for _, d := range pending {
			if !received[d.ID] {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pending deliveries not delivered after the restart", missing, len(pending))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
