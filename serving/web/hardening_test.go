package web_test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/internal/arrowipc/arrowipctest"
	"github.com/propensity-dev/propensity/serving/servingtest"
)

// TestArrowSchemaAttacksAnswer400 is issue 17, defects 1 and 2, over HTTP: the shared-table
// schemas (608 bytes standing for 8^9 fields; 40^8 paths with an invalid leaf) are answered
// 400 bad_data, with the server's heap held under a limit and little allocated.
func TestArrowSchemaAttacksAnswer400(t *testing.T) {
	ts := start(t, setup{})
	for _, tt := range []struct {
		name   string
		stream []byte
	}{
		{"defect 1: fan-out 8, 9 levels, utf8 leaf", arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8)},
		{"defect 2: fan-out 40, 8 levels, invalid leaf", arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			allocated := servingtest.UnderMemoryLimit(t, 256<<20, func() {
				a = do(t, "POST", ts.url+"/v1/score/batch", bytes.NewReader(tt.stream), "Content-Type", v1.MediaArrowStream)
			})
			if a.status != http.StatusBadRequest || a.errType() != "bad_data" || !strings.Contains(a.errMessage(), "more than 1024 fields") {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if allocated > 4<<20 {
				t.Errorf("answering a %d-byte stream allocated %d bytes", len(tt.stream), allocated)
			}
		})
	}
}

// TestMetricLabelsAreClosedSet is issue 17, defect 3: a client choosing the method and path
// must not create metric series. Invented methods (short and 30 KB long), on known and
// unknown paths, end up in a handful of series labelled "other" and "unmatched".
func TestMetricLabelsAreClosedSet(t *testing.T) {
	ts := start(t, setup{})
	rng := rand.New(rand.NewPCG(17, 3))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rng.IntN(26)]
		}
		return string(b)
	}
	paths := []string{"/healthz", "/v1/score", "/v1/contacts/c-1", "/metrics"}
	const requests = 300
	for i := range requests {
		method := word(3 + rng.IntN(12))
		if i%100 == 0 {
			method = word(30 << 10)
		}
		path := paths[rng.IntN(len(paths))]
		if i%2 == 0 {
			path = "/" + strings.ToLower(word(8)) + "/" + strings.ToLower(word(5))
		}
		do(t, method, ts.url+path, nil)
	}
	do(t, "GET", ts.url+"/healthz", nil)
	do(t, "PATCH", ts.url+"/nowhere", nil)

	routes := map[string]bool{"unmatched": true}
	for _, r := range ts.srv.Routes() {
		routes[r.Path] = true
	}
	methods := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
		"DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true, "other": true}
	mfs, err := ts.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		name := mf.GetName()
		if name != "propensity_http_requests_total" && name != "propensity_http_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			series[name]++
			for _, l := range m.GetLabel() {
				switch v := l.GetValue(); l.GetName() {
				case "method":
					if !methods[v] {
						t.Errorf("%s: method label %.40q is not in the closed set", name, v)
					}
				case "route":
					if !routes[v] {
						t.Errorf("%s: route label %.40q is not a route template", name, v)
					}
				}
			}
		}
	}
	// other × {404, 405} × unmatched, GET /healthz 200, PATCH unmatched 404.
	for name, n := range series {
		if n > 4 {
			t.Errorf("%s: %d series after %d requests with invented methods, want at most 4", name, n, requests)
		}
	}
	if series["propensity_http_requests_total"] == 0 {
		t.Error("no request was counted")
	}
}

// BenchmarkArrowSchemaAttack measures the answer to the defect 1 and 2 streams over
// loopback HTTP, from sending the request to reading the 400.
func BenchmarkArrowSchemaAttack(b *testing.B) {
	ts := start(b, setup{})
	for _, bb := range []struct {
		name   string
		stream []byte
	}{
		{"fanout8x9", arrowipctest.SharedSchemaStream(8, 9, arrowipctest.ArrowTypeUtf8)},
		{"fanout40x8", arrowipctest.SharedSchemaStream(40, 8, arrowipctest.ArrowTypeInvalid)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if a := do(b, "POST", ts.url+"/v1/score/batch", bytes.NewReader(bb.stream), "Content-Type", v1.MediaArrowStream); a.status != http.StatusBadRequest {
					b.Fatalf("%d %s", a.status, a.body)
				}
			}
		})
	}
}
