// Command liveload drives a running `propensity serve --store` and reports throughput and
// latency percentiles of its live routes (docs/operations.md, "Sizing the live store"):
//
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode batch  -batch 500 -clients 4 -duration 20s
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode single -clients 32 -duration 20s
//	go run ./scripts/liveload -addr 127.0.0.1:8080 -mode score  -ids-from HISTORY -clients 32 -duration 20s
//
// batch posts NDJSON batches of new events (each with an event_id), single posts one event
// per request, score asks GET /v1/contacts/{id}/score for the contact ids of a history
// directory (-ids-from) or of a file (-ids, one a line).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	mode := flag.String("mode", "batch", "batch, single or score")
	batch := flag.Int("batch", 500, "events per request (batch mode)")
	clients := flag.Int("clients", 4, "concurrent clients")
	duration := flag.Duration("duration", 20*time.Second, "how long to run")
	contacts := flag.Int("contacts", 10000, "events go to contact ids c-0 .. c-(N-1)")
	idsFile := flag.String("ids", "", "file of contact ids to score (score mode)")
	idsFrom := flag.String("ids-from", "", "history directory whose contact ids to score (score mode)")
	key := flag.String("key", "", "API key (Authorization: Bearer)")
	flag.Parse()
	var ids []string
	if *mode == "score" && *idsFrom != "" {
		_, err := history.ReadRows(context.Background(), *idsFrom, features.Mapping{}, history.RowVisitor{
			Contact: func(r history.ContactRow) error { ids = append(ids, r.ContactID); return nil },
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "liveload: -ids-from:", err)
			os.Exit(2)
		}
	} else if *mode == "score" {
		f, err := os.Open(*idsFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "liveload: -ids:", err)
			os.Exit(2)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if sc.Text() != "" {
				ids = append(ids, sc.Text())
			}
		}
		f.Close()
		if len(ids) == 0 {
			fmt.Fprintln(os.Stderr, "liveload: no ids")
			os.Exit(2)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *clients * 2}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	run := fmt.Sprint(time.Now().UnixNano())
	var mu sync.Mutex
	var lat []time.Duration
	var events, failures int
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			var local []time.Duration
			n, bad := 0, 0
			for seq := 0; time.Now().Before(deadline); seq++ {
				var req *http.Request
				k := 1
				switch *mode {
				case "score":
					id := ids[rng.IntN(len(ids))]
					req, _ = http.NewRequest(http.MethodGet, "http://"+*addr+"/v1/contacts/"+url.PathEscape(id)+"/score", nil)
				default:
					if *mode == "batch" {
						k = *batch
					}
					var b bytes.Buffer
					for j := range k {
						fmt.Fprintf(&b, `{"event_id":"%s-%d-%d-%d","contact_id":"c-%d","type":"page_view","page":"/models/x","ts":"2025-11-%02dT10:00:00Z"}`+"\n",
							run, c, seq, j, rng.IntN(*contacts), 1+rng.IntN(28))
					}
					req, _ = http.NewRequest(http.MethodPost, "http://"+*addr+"/v1/events", &b)
					req.Header.Set("Content-Type", "application/x-ndjson")
				}
				if *key != "" {
					req.Header.Set("Authorization", "Bearer "+*key)
				}
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				local = append(local, time.Since(start))
				if err != nil || resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				n += k
			}
			mu.Lock()
			lat = append(lat, local...)
			events += n
			failures += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	secs := duration.Seconds()
	fmt.Printf("mode=%s clients=%d requests=%d failures=%d req/s=%.0f records/s=%.0f p50=%s p95=%s p99=%s\n",
		*mode, *clients, len(lat), failures, float64(len(lat))/secs, float64(events)/secs,
		pct(0.50).Round(10*time.Microsecond), pct(0.95).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
}
