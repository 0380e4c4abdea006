package web_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/serving"
	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/servingtest"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/web"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

const profileJSON = `{
  "contact_id": "c-1",
  "as_of": "2026-03-10T00:00:00Z",
  "attributes": {"age": 62, "occupation": "retired", "net_worth": 2500000},
  "events": [
    {"type": "form_submit", "ts": "2026-03-01T10:00:00Z", "page": "/models/suv-x"},
    {"type": "email_open",  "ts": "2026-03-02T08:00:00Z"},
    {"type": "email_click", "ts": "2026-03-02T08:01:00Z"},
    {"type": "page_view",   "ts": "2026-03-05T19:00:00Z", "page": "/directions"}
  ],
  "transactions": [{"ts": "2025-11-02T12:00:00Z", "amount": 129.5, "product": "service"},
                   {"ts": "2026-01-02T12:00:00Z", "amount": 40}]
}`

// testServer is a running server on a free loopback port.
type testServer struct {
	url       string
	modelsDir string
	reg       *serving.Registry
	prom      *prometheus.Registry
	srv       *web.Server
}

type setup struct {
	opts   web.Options
	loader func(dir string) *serving.Loader
	noLoad bool
}

func start(t testing.TB, su setup) *testServer {
	t.Helper()
	dir := t.TempDir()
	if err := servingtest.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	if su.loader == nil {
		su.loader = servingtest.Loader
	}
	prom := prometheus.NewRegistry()
	reg := serving.NewRegistry(su.loader(dir).Load, nil, prom)
	if !su.noLoad {
		if _, err := reg.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	su.opts.Registerer, su.opts.Gatherer = prom, prom
	srv := web.New(reg, su.opts, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testServer{url: "http://" + ln.Addr().String(), modelsDir: dir, reg: reg, prom: prom, srv: srv}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errType() string {
	var e v1.ErrorBody
	_ = json.Unmarshal(a.body, &e)
	return string(e.Error.Type)
}

func (a answer) errMessage() string {
	var e v1.ErrorBody
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Message
}

func do(t testing.TB, method, url string, body io.Reader, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func score(t testing.TB, ts *testServer, header ...string) answer {
	return do(t, "POST", ts.url+"/v1/score", strings.NewReader(profileJSON), header...)
}

func TestScoreEndToEnd(t *testing.T) {
	ts := start(t, setup{})
	a := score(t, ts)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var r map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"contact_id", "as_of", "rules", "conversion", "churn", "ltv", "persona", "unavailable"} {
		if _, ok := r[k]; !ok {
			t.Errorf("response has no %q: %s", k, a.body)
		}
	}
	if string(r["unavailable"]) != "[]" || string(r["as_of"]) != `"2026-03-10T00:00:00Z"` {
		t.Errorf("unavailable %s, as_of %s", r["unavailable"], r["as_of"])
	}
	var rules serving.Rules
	_ = json.Unmarshal(r["rules"], &rules)
	sum := 0
	for _, c := range rules.Contributions {
		sum += c.Points
	}
	if rules.Total != 40 || sum != rules.Total || rules.Fit+rules.Engagement+rules.Lifecycle != rules.Total {
		t.Errorf("rules %+v", rules)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
}

func TestBadRequests(t *testing.T) {
	ts := start(t, setup{opts: web.Options{API: v1.Options{MaxBodyBytes: 4096}}})
	big := `{"contact_id": "` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		typ                      string
		msg                      string // the message must contain it
	}{
		{"malformed JSON", "POST", "/v1/score", `{"contact_id": "c-1",`, 400, "bad_data", ""},
		{"not an object", "POST", "/v1/score", `[1,2]`, 400, "bad_data", ""},
		{"empty body", "POST", "/v1/score", ``, 400, "bad_data", ""},
		{"wrong type", "POST", "/v1/score", `{"contact_id": 5}`, 400, "bad_data", "contact_id"},
		{"wrong nested type", "POST", "/v1/score", `{"events": [{"type": "x", "ts": 5}]}`, 400, "bad_data", "ts"},
		{"unknown field", "POST", "/v1/score", `{"contact_id": "c", "emial": "a@b"}`, 400, "bad_data", "emial"},
		{"bad time", "POST", "/v1/score", `{"as_of": "yesterday"}`, 400, "bad_data", "as_of"},
		{"trailing data", "POST", "/v1/score", `{} {}`, 400, "bad_data", ""},
		{"oversized body", "POST", "/v1/score", big, 413, "bad_data", "4096"},
		{"unknown query parameter", "POST", "/v1/score?foo=1", `{}`, 400, "bad_data", "foo"},
		{"unknown scorecard", "POST", "/v1/score?scorecard=nope", `{"contact_id": "c"}`, 400, "bad_data", "nope"},
		{"no such route", "GET", "/v2/score", ``, 404, "not_found", ""},
		{"wrong method", "GET", "/v1/score", ``, 405, "bad_data", ""},
		{"no score file", "GET", "/v1/contacts/c-1", ``, 404, "not_found", ""},
		{"empty batch", "POST", "/v1/score/batch", "  ", 400, "bad_data", ""},
		// issue 17, defect 11: accepted silently before.
		{"duplicate attribute key", "POST", "/v1/score", `{"contact_id": "a", "attributes": {"age": 40, "age": 41}}`, 400, "bad_data", "attributes.age"},
		{"duplicate key", "POST", "/v1/score", `{"contact_id": "a", "contact_id": "b"}`, 400, "bad_data", "contact_id"},
		{"null body", "POST", "/v1/score", `null`, 400, "bad_data", "null"},
		{"no contact_id", "POST", "/v1/score", `{}`, 400, "bad_data", "contact_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, tt.method, ts.url+tt.path, strings.NewReader(tt.body), "Content-Type", "application/json")
			if a.status != tt.status || a.errType() != tt.typ {
				t.Errorf("got %d %q (%s), want %d %q", a.status, a.errType(), a.body, tt.status, tt.typ)
			}
			if !strings.Contains(a.errMessage(), tt.msg) {
				t.Errorf("message %q does not name %q", a.errMessage(), tt.msg)
			}
			if a := score(t, ts); a.status != 200 {
				t.Errorf("server stopped serving: %d %s", a.status, a.body)
			}
		})
	}
}

func hash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

func TestAPIKeys(t *testing.T) {
	ts := start(t, setup{opts: web.Options{API: v1.Options{
		APIKeySHA256:   [][32]byte{hash("k1"), hash("k2")},
		AdminKeySHA256: [][32]byte{hash("admin")},
	}}})
	tests := []struct {
		name, method, path string
		header             []string
		status             int
	}{
		{"missing key", "POST", "/v1/score", nil, 401},
		{"wrong key", "POST", "/v1/score", []string{"Authorization", "Bearer k3"}, 401},
		{"empty bearer", "POST", "/v1/score", []string{"Authorization", "Bearer "}, 401},
		{"bearer key", "POST", "/v1/score", []string{"Authorization", "Bearer k1"}, 200},
		{"header key", "POST", "/v1/score", []string{"X-API-Key", "k2"}, 200},
		{"admin key is not an API key", "GET", "/v1/models", []string{"X-API-Key", "admin"}, 401},
		{"API key is not an admin key", "POST", "/v1/admin/reload", []string{"X-API-Key", "k1"}, 401},
		{"admin key", "POST", "/v1/admin/reload", []string{"X-API-Key", "admin"}, 200},
		{"health needs no key", "GET", "/healthz", nil, 200},
		{"readiness needs no key", "GET", "/readyz", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := io.Reader(nil)
			if tt.method == "POST" {
				body = strings.NewReader(profileJSON)
			}
			a := do(t, tt.method, ts.url+tt.path, body, tt.header...)
			if a.status != tt.status {
				t.Fatalf("got %d (%s), want %d", a.status, a.body, tt.status)
			}
			if tt.status == 401 && a.errType() != "unauthorized" {
				t.Errorf("type %q", a.errType())
			}
		})
	}
}

func modelVersions(t *testing.T, ts *testServer) map[string]string {
	a := do(t, "GET", ts.url+"/v1/models", nil)
	if a.status != 200 {
		t.Fatalf("models: %d %s", a.status, a.body)
	}
	var m v1.ModelsResponse
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, art := range m.Artifacts {
		out[art.Kind] = art.Manifest.Version
	}
	return out
}

func TestReloadCorruptArtifact(t *testing.T) {
	ts := start(t, setup{})
	before := modelVersions(t, ts)
	if len(before) != 5 { // conversion, churn, ltv, personas, uplift
		t.Fatalf("artifacts %v", before)
	}
	if err := servingtest.Corrupt(ts.modelsDir, artifact.KindConversion); err != nil {
		t.Fatal(err)
	}
	a := do(t, "POST", ts.url+"/v1/admin/reload", nil)
	if a.status != 503 || a.errType() != "unavailable" || !strings.Contains(a.errMessage(), "checksum") {
		t.Fatalf("reload of a corrupt artifact: %d %s", a.status, a.body)
	}
	if a := score(t, ts); a.status != 200 {
		t.Fatalf("not serving after a refused reload: %d %s", a.status, a.body)
	}
	if after := modelVersions(t, ts); !equalMaps(before, after) {
		t.Errorf("versions changed on a refused reload: %v → %v", before, after)
	}
	// A good artifact is picked up.
	man, err := servingtest.Write(ts.modelsDir, artifact.KindConversion, servingtest.Payload{Bias: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a := do(t, "POST", ts.url+"/v1/admin/reload", nil); a.status != 200 {
		t.Fatalf("reload: %d %s", a.status, a.body)
	}
	if v := modelVersions(t, ts)[artifact.KindConversion]; v != man.Version {
		t.Errorf("conversion version %s, want %s", v, man.Version)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestReloadUnderLoad hammers /v1/score from a bounded number of goroutines while the models
// are reloaded several times, with new and with refused artifacts: every request must be 200.
func TestReloadUnderLoad(t *testing.T) {
	ts := start(t, setup{})
	const workers, perWorker, reloads = 8, 60, 6
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	failures := make(chan string, workers*perWorker)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				resp, err := http.Post(ts.url+"/v1/score", "application/json", strings.NewReader(profileJSON))
				if err != nil {
					failures <- err.Error()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"conversion"`)) {
					failures <- fmt.Sprintf("%d %s", resp.StatusCode, b)
				}
				once.Do(func() { close(started) })
			}
		}()
	}
	<-started
	for i := range reloads {
		if i%3 == 2 { // a refused reload in between
			if err := servingtest.Corrupt(ts.modelsDir, artifact.KindChurn); err != nil {
				t.Fatal(err)
			}
		} else if _, err := servingtest.Write(ts.modelsDir, artifact.KindChurn, servingtest.Payload{Bias: float64(i)}); err != nil {
			t.Fatal(err)
		}
		a := do(t, "POST", ts.url+"/v1/admin/reload", nil)
		if want := map[bool]int{true: 503, false: 200}[i%3 == 2]; a.status != want {
			t.Errorf("reload %d: %d %s", i, a.status, a.body)
		}
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
}

func TestNotReady(t *testing.T) {
	ts := start(t, setup{noLoad: true})
	for _, path := range []string{"/readyz", "/v1/models", "/v1/scorecards"} {
		if a := do(t, "GET", ts.url+path, nil); a.status != 503 || a.errType() != "unavailable" {
			t.Errorf("%s: %d %s", path, a.status, a.body)
		}
	}
	if a := score(t, ts); a.status != 503 || a.errType() != "unavailable" {
		t.Errorf("score: %d %s", a.status, a.body)
	}
	if a := do(t, "GET", ts.url+"/healthz", nil); a.status != 200 {
		t.Errorf("healthz: %d", a.status)
	}
}

func TestListings(t *testing.T) {
	ts := start(t, setup{})
	a := do(t, "GET", ts.url+"/v1/personas", nil)
	var p v1.PersonasResponse
	if err := json.Unmarshal(a.body, &p); err != nil || a.status != 200 || len(p.Personas) != 2 || p.ModelVersion == "" {
		t.Errorf("personas: %d %s", a.status, a.body)
	}
	a = do(t, "GET", ts.url+"/v1/scorecards", nil)
	var s v1.ScorecardsResponse
	if err := json.Unmarshal(a.body, &s); err != nil || a.status != 200 || len(s.Scorecards) != 1 || s.Scorecards[0].Name != "test" {
		t.Errorf("scorecards: %d %s", a.status, a.body)
	}
	if err := os.RemoveAll(filepath.Join(ts.modelsDir, artifact.KindPersonas)); err != nil {
		t.Fatal(err)
	}
	if a := do(t, "POST", ts.url+"/v1/admin/reload", nil); a.status != 200 {
		t.Fatalf("reload: %d %s", a.status, a.body)
	}
	if a := do(t, "GET", ts.url+"/v1/personas", nil); a.status != 503 || a.errType() != "unavailable" {
		t.Errorf("personas without a model: %d %s", a.status, a.body)
	}
	a = score(t, ts)
	if !bytes.Contains(a.body, []byte(`"unavailable":["persona"]`)) || bytes.Contains(a.body, []byte(`"persona":{`)) {
		t.Errorf("score without personas: %s", a.body)
	}
}

func TestBatch(t *testing.T) {
	ts := start(t, setup{})
	one := score(t, ts).body
	compact := func(s string) string {
		var b bytes.Buffer
		_ = json.Compact(&b, []byte(s))
		return b.String()
	}
	p := compact(profileJSON)
	for _, tt := range []struct{ name, body string }{
		{"array", "[" + p + "," + p + "]"},
		{"ndjson", p + "\n\n" + p + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "POST", ts.url+"/v1/score/batch", strings.NewReader(tt.body))
			if a.status != 200 || a.header.Get("Content-Type") != v1.MediaNDJSON {
				t.Fatalf("%d %s %s", a.status, a.header.Get("Content-Type"), a.body)
			}
			lines := strings.Split(strings.TrimSpace(string(a.body)), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines", len(lines))
			}
			for _, l := range lines {
				if compact(l) != compact(string(one)) {
					t.Errorf("batch line differs from /v1/score:\n%s\n%s", l, one)
				}
			}
		})
	}
	t.Run("arrow", func(t *testing.T) {
		var in bytes.Buffer
		schema := v1.ArrowInputSchema()
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for _, id := range []string{"c-1", "c-2", "c-3"} {
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).(*array.TimestampBuilder).AppendTime(mustTime("2026-03-10T00:00:00Z"))
			b.Field(2).(*array.StringBuilder).Append(`{"age": 62}`)
			b.Field(3).(*array.StringBuilder).Append(`[{"type": "email_open", "ts": "2026-03-02T08:00:00Z"}]`)
			if id == "c-3" {
				b.Field(4).AppendNull()
			} else {
				b.Field(4).(*array.StringBuilder).Append(`[{"ts": "2025-11-02T12:00:00Z", "amount": 10}]`)
			}
		}
		rec := b.NewRecordBatch()
		w := ipc.NewWriter(&in, ipc.WithSchema(schema))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		_ = w.Close()
		a := do(t, "POST", ts.url+"/v1/score/batch", &in, "Content-Type", v1.MediaArrowStream, "Accept", v1.MediaArrowStream)
		if a.status != 200 || a.header.Get("Content-Type") != v1.MediaArrowStream {
			t.Fatalf("%d %s", a.status, a.body)
		}
		rd, err := ipc.NewReader(bytes.NewReader(a.body))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		if !rd.Schema().Equal(v1.ArrowOutputSchema()) {
			t.Errorf("schema %v", rd.Schema())
		}
		var ids []string
		for rd.Next() {
			r := rd.RecordBatch()
			for i := range int(r.NumRows()) {
				ids = append(ids, r.Column(0).(*array.String).Value(i))
				if r.Column(7).IsNull(i) {
					t.Errorf("row %d: no conversion probability", i)
				}
				ltvNull := r.Column(10).IsNull(i)
				if ltvNull != (i == 2) {
					t.Errorf("row %d: ltv null = %v", i, ltvNull)
				}
			}
		}
		if !slices.Equal(ids, []string{"c-1", "c-2", "c-3"}) {
			t.Errorf("ids %v", ids)
		}
	})
	t.Run("arrow unknown column", func(t *testing.T) {
		var in bytes.Buffer
		schema := arrow.NewSchema([]arrow.Field{{Name: "contact_id", Type: arrow.BinaryTypes.String}, {Name: "emial", Type: arrow.BinaryTypes.String}}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		b.Field(0).(*array.StringBuilder).Append("c")
		b.Field(1).(*array.StringBuilder).Append("x")
		rec := b.NewRecordBatch()
		w := ipc.NewWriter(&in, ipc.WithSchema(schema))
		_ = w.Write(rec)
		_ = w.Close()
		a := do(t, "POST", ts.url+"/v1/score/batch", &in, "Content-Type", v1.MediaArrowStream)
		if a.status != 400 || !strings.Contains(a.errMessage(), "emial") {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
}

func TestMetrics(t *testing.T) {
	ts := start(t, setup{})
	score(t, ts)
	do(t, "POST", ts.url+"/v1/score", strings.NewReader("{"))
	a := do(t, "GET", ts.url+"/metrics", nil)
	for _, want := range []string{
		`propensity_http_requests_total{code="200",method="POST",route="/v1/score"} 1`,
		`propensity_http_requests_total{code="400",method="POST",route="/v1/score"} 1`,
		`propensity_http_request_duration_seconds_bucket{code="200",method="POST",route="/v1/score",le="+Inf"} 1`,
		`propensity_model_info{kind="conversion",model="fake"`,
		`propensity_model_reloads_total{result="success"} 1`,
	} {
		if !bytes.Contains(a.body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestOpenAPIDocumentsEveryRoute keeps openapi.json true: every Gin route is documented with
// its method, and every documented operation is a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	// With a live store, so that the live routes are registered too.
	st, err := store.Open("db", store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := live.New(st, serving.Static{}, live.Options{})
	ts := start(t, setup{opts: web.Options{API: v1.Options{Live: v1.LiveOptions{Service: svc}}}})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	a := do(t, "GET", ts.url+"/openapi.json", nil)
	if err := json.Unmarshal(a.body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %v %s", err, doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routes := map[string]bool{}
	for _, r := range ts.srv.Routes() {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = "{" + s[1:] + "}"
			}
		}
		routes[r.Method+" "+strings.Join(segs, "/")] = true
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("openapi.json documents %s, which is not a route", d)
		}
	}
}

// panicky is a classifier that panics, to check recovery.
type panicky struct{}

func (panicky) Predict(*serving.Input) (*serving.Prediction, error) { panic("boom") }

func TestRecovery(t *testing.T) {
	ts := start(t, setup{loader: func(dir string) *serving.Loader {
		l := servingtest.Loader(dir)
		l.Churn = func(dir string) (serving.Classifier, artifact.Manifest, error) {
			m, err := artifact.ReadManifest(dir)
			return panicky{}, m, err
		}
		return l
	}})
	a := score(t, ts)
	if a.status != 500 || a.errType() != "internal" {
		t.Errorf("%d %s", a.status, a.body)
	}
	if a := do(t, "GET", ts.url+"/healthz", nil); a.status != 200 {
		t.Errorf("not serving after a panic: %d", a.status)
	}
}

// blocking is a classifier that waits until released, to hold a request in flight.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (b blocking) Predict(*serving.Input) (*serving.Prediction, error) {
	b.entered <- struct{}{}
	<-b.release
	return &serving.Prediction{Probability: 0.5, ModelVersion: "b", Reasons: []serving.Reason{}}, nil
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	b := blocking{entered: make(chan struct{}), release: make(chan struct{})}
	dir := t.TempDir()
	if err := servingtest.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	l := servingtest.Loader(dir)
	l.Churn = func(dir string) (serving.Classifier, artifact.Manifest, error) {
		m, err := artifact.ReadManifest(dir)
		return b, m, err
	}
	reg := serving.NewRegistry(l.Load, nil, nil)
	if _, err := reg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := web.New(reg, web.Options{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/v1/score", "application/json", strings.NewReader(profileJSON))
		if err != nil {
			got <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- answer{status: resp.StatusCode, body: body}
	}()
	<-b.entered // the request is in flight
	cancel()    // shutdown begins
	close(b.release)
	if a := <-got; a.status != 200 {
		t.Errorf("in-flight request: %d %s", a.status, a.body)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestContactsFromScoreFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "scores.parquet")
	writeScores(t, file)
	ts := start(t, setup{loader: func(dir string) *serving.Loader {
		l := servingtest.Loader(dir)
		l.ScoresFile = file
		return l
	}})
	a := do(t, "GET", ts.url+"/v1/contacts/c-2", nil)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var row map[string]any
	if err := json.Unmarshal(a.body, &row); err != nil || row["contact_id"] != "c-2" || row["rules_total"] != 20.0 || row["conversion_probability"] != nil {
		t.Errorf("row %s", a.body)
	}
	if a := do(t, "GET", ts.url+"/v1/contacts/nobody", nil); a.status != 404 || a.errType() != "not_found" {
		t.Errorf("unknown contact: %d %s", a.status, a.body)
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// writeScores writes a small batch score file: contact_id, rules_total, conversion_probability
// (null for c-2), scored_at.
func writeScores(t *testing.T, path string) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "contact_id", Type: arrow.BinaryTypes.String},
		{Name: "rules_total", Type: arrow.PrimitiveTypes.Int64},
		{Name: "conversion_probability", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "as_of", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	file := servingtest.ArrowParquet(t, schema, nil, func(b *array.RecordBuilder) {
		for i, id := range []string{"c-1", "c-2", "c-3"} {
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).(*array.Int64Builder).Append(int64(10 * (i + 1)))
			if id == "c-2" {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Float64Builder).Append(0.25)
			}
			b.Field(3).(*array.TimestampBuilder).AppendTime(mustTime("2026-03-10T00:00:00Z"))
		}
	})
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAlsoBatchBadRecordsDoNotSinkTheBatch (issue 17, "Also" and defect 11): bad records of
// a JSON or NDJSON batch are answered in their place with their NDJSON line number or array
// index, and the good ones are scored. null, {}, two objects on one line and a duplicate key
// are bad records, not empty profiles.
func TestAlsoBatchBadRecordsDoNotSinkTheBatch(t *testing.T) {
	ts := start(t, setup{})
	good := func(id string) string { return `{"contact_id":"` + id + `","as_of":"2026-03-10T00:00:00Z"}` }
	type want struct {
		id          string // a score response for this contact
		line, index int    // or a record error at this line / index (-1: none)
		msg         string // naming this
	}
	for _, tt := range []struct {
		name, body string
		want       []want
	}{
		{"ndjson", good("c-1") + "\n" +
			`{"contact_id":"c-x","emial":"a@b"}` + "\n" +
			"\n" + // blank lines are skipped but counted
			"null\n" +
			"{}\n" +
			good("c-2") + " " + good("c-3") + "\n" +
			`{"contact_id":"c-4","contact_id":"c-5"}` + "\r\n" +
			good("c-6"), // no final newline
			[]want{{id: "c-1"}, {line: 2, index: -1, msg: "emial"}, {line: 4, index: -1, msg: "null"},
				{line: 5, index: -1, msg: "contact_id"}, {line: 6, index: -1, msg: "data after"},
				{line: 7, index: -1, msg: "twice"}, {id: "c-6"}}},
		{"array", "[" + good("c-1") + `, null, {"contact_id": 5},` + good("c-2") + "]",
			[]want{{id: "c-1"}, {index: 1, msg: "null"}, {index: 2, msg: "contact_id"}, {id: "c-2"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "POST", ts.url+"/v1/score/batch", strings.NewReader(tt.body))
			if a.status != 200 || a.header.Get("Content-Type") != v1.MediaNDJSON {
				t.Fatalf("%d %s", a.status, a.body)
			}
			lines := strings.Split(strings.TrimSpace(string(a.body)), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d answer lines, want %d:\n%s", len(lines), len(tt.want), a.body)
			}
			for i, w := range tt.want {
				var got struct {
					ContactID   string          `json:"contact_id"`
					Line        int             `json:"line"`
					Index       *int            `json:"index"`
					Error       *v1.ErrorDetail `json:"error"`
					Unavailable []string        `json:"unavailable"`
				}
				if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
				if w.id != "" {
					if got.Error != nil || got.ContactID != w.id || got.Unavailable == nil {
						t.Errorf("answer %d: %s, want the score of %s", i, lines[i], w.id)
					}
					continue
				}
				idx := -1
				if got.Index != nil {
					idx = *got.Index
				}
				if got.Error == nil || got.Error.Type != v1.ErrBadData || got.Line != w.line || idx != w.index ||
					!strings.Contains(got.Error.Message, w.msg) {
					t.Errorf("answer %d: %s, want a bad_data error at line %d / index %d naming %q", i, lines[i], w.line, w.index, w.msg)
				}
			}
		})
	}
	// A broken array cannot be read past the break: the answer ends with the error envelope.
	a := do(t, "POST", ts.url+"/v1/score/batch", strings.NewReader("["+good("c-1")+", {nope"))
	lines := strings.Split(strings.TrimSpace(string(a.body)), "\n")
	if a.status != 200 || len(lines) != 2 || !strings.Contains(lines[1], `{"error":{"type":"bad_data","message":"index 1: `) {
		t.Errorf("broken array: %d %s", a.status, a.body)
	}
}

// TestDefect7BatchIsStreamed (issue 17, defect 7): an NDJSON batch is answered record by
// record while its body is still arriving, so that memory holds one record at a time, not
// the batch.
func TestDefect7BatchIsStreamed(t *testing.T) {
	ts := start(t, setup{})
	pr, pw := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against a hang, not a timing check
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", ts.url+"/v1/score/batch", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", v1.MediaNDJSON)
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- result{resp, err}
	}()
	if _, err := io.WriteString(pw, `{"contact_id":"c-1","as_of":"2026-03-10T00:00:00Z"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	r := <-got // the answer starts before the body ends
	if r.err != nil {
		t.Fatalf("no answer before the body ended: %v", r.err)
	}
	defer r.resp.Body.Close()
	rd := bufio.NewReader(r.resp.Body)
	first, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(first, `"contact_id":"c-1"`) {
		t.Fatalf("first answer line %q: %v", first, err)
	}
	_, _ = io.WriteString(pw, `{"contact_id":"c-2","as_of":"2026-03-10T00:00:00Z"}`+"\n")
	pw.Close()
	second, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(second, `"contact_id":"c-2"`) {
		t.Fatalf("second answer line %q: %v", second, err)
	}
}

// TestDefect7ConcurrentBatchesAreCapped (issue 17, defect 7): past max_concurrent_batches
// batches in progress, one more is refused at once with 503 and Retry-After; single scores
// still go through, and the batch is accepted again once one finishes.
func TestDefect7ConcurrentBatchesAreCapped(t *testing.T) {
	b := blocking{entered: make(chan struct{}, 1), release: make(chan struct{})}
	ts := start(t, setup{opts: web.Options{API: v1.Options{MaxConcurrentBatches: 1}}, loader: func(dir string) *serving.Loader {
		l := servingtest.Loader(dir)
		l.Churn = func(dir string) (serving.Classifier, artifact.Manifest, error) {
			m, err := artifact.ReadManifest(dir)
			return b, m, err
		}
		return l
	}})
	var c bytes.Buffer
	_ = json.Compact(&c, []byte(profileJSON))
	one := c.String() // one NDJSON line
	first := make(chan answer, 1)
	go func() {
		first <- do(t, "POST", ts.url+"/v1/score/batch", strings.NewReader(one))
	}()
	<-b.entered // the first batch holds the only slot
	a := do(t, "POST", ts.url+"/v1/score/batch", strings.NewReader(one))
	if a.status != 503 || a.errType() != "unavailable" || a.header.Get("Retry-After") == "" ||
		!strings.Contains(a.errMessage(), "max_concurrent_batches") {
		t.Errorf("second batch: %d %v %s", a.status, a.header, a.body)
	}
	close(b.release)
	if a := <-first; a.status != 200 {
		t.Fatalf("first batch: %d %s", a.status, a.body)
	}
	if a := do(t, "POST", ts.url+"/v1/score/batch", strings.NewReader(one)); a.status != 200 {
		t.Errorf("batch after the first finished: %d %s", a.status, a.body)
	}
}

// TestOpenAPIDocumentsResponseFields keeps the response shapes of openapi.json true: every
// JSON field of a score response and of a batch record error is documented, and nothing
// else (issue 17: warnings, unavailable_reasons and the batch record errors are in it).
func TestOpenAPIDocumentsResponseFields(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		schema string
		typ    reflect.Type
	}{
		{"ScoreResponse", reflect.TypeFor[serving.Response]()},
		{"BatchRecordError", reflect.TypeFor[v1.BatchRecordError]()},
	} {
		var fields []string
		for i := range c.typ.NumField() {
			name, _, _ := strings.Cut(c.typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
		}
		var documented []string
		for k := range doc.Components.Schemas[c.schema].Properties {
			documented = append(documented, k)
		}
		slices.Sort(fields)
		slices.Sort(documented)
		if !slices.Equal(fields, documented) {
			t.Errorf("%s: fields %v, openapi.json documents %v", c.schema, fields, documented)
		}
	}
}
