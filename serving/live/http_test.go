package live_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/web"
)

// TestBadInput posts batches that mix good and bad records: each bad one is refused with its
// documented reason and position, the good ones are kept.
func TestBadInput(t *testing.T) {
	h := newHarness(t, rulesSet(t), live.Options{}, nil)
	long := strings.Repeat("x", store.MaxIDBytes+1)
	good := `{"contact_id":"c1","type":"page_view","ts":"2025-06-01T10:00:00Z"}`
	for _, tc := range []struct {
		name, kind, bad, want string
	}{
		{"malformed", "events", `{"contact_id":"c1","type":`, "line 2 is not a JSON object"},
		{"unknown-field", "events", `{"contact_id":"c1","type":"x","ts":"2025-06-01","colour":"red"}`, "colour: unknown field"},
		{"wrong-type", "events", `{"contact_id":"c1","type":"x","ts":20250601}`, "ts: expected a string"},
		{"non-finite", "events", `{"contact_id":"c1","type":"x","ts":"2025-06-01","value":1e999}`, "value: 1e999 is not a finite number"},
		{"too-early", "events", `{"contact_id":"c1","type":"x","ts":"1899-12-31"}`, "ts: 1899-12-31T00:00:00Z is outside 1900-01-01..2200-12-31"},
		{"too-late", "transactions", `{"contact_id":"c1","ts":"2201-01-01","amount":3}`, "ts: 2201-01-01T00:00:00Z is outside"},
		{"bad-time", "events", `{"contact_id":"c1","type":"x","ts":"yesterday"}`, `ts: "yesterday" is not a time`},
		{"no-id", "events", `{"type":"x","ts":"2025-06-01"}`, "contact_id: an event needs contact_id, anonymous_id or email"},
		{"id-too-long", "events", `{"contact_id":"` + long + `","type":"x","ts":"2025-06-01"}`, "contact_id: longer than 256 bytes"},
		{"nul-in-id", "identities", `{"id_a":"a\u0000b","id_b":"c"}`, "id_a: contains a NUL character"},
		{"invalid-utf8", "events", "{\"contact_id\":\"c\xff\",\"type\":\"x\",\"ts\":\"2025-06-01\"}", "not valid UTF-8"},
		{"no-amount", "transactions", `{"contact_id":"c1","ts":"2025-06-01"}`, "amount: required"},
		{"fractional-quantity", "transactions", `{"contact_id":"c1","ts":"2025-06-01","amount":1,"quantity":1.5}`, "quantity: 1.5 is not an integer"},
		{"nested-attribute", "contacts", `{"contact_id":"c1","tags":["a"]}`, "tags: expected a number, string, boolean or null"},
		{"no-contact-id", "contacts", `{"email":"a@example.com"}`, "contact_id: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goodRec := good
			switch tc.kind {
			case "transactions":
				goodRec = `{"contact_id":"c1","ts":"2025-06-01","amount":12.5}`
			case "identities":
				goodRec = `{"id_a":"c1","id_b":"crm-1"}`
			case "contacts":
				goodRec = `{"contact_id":"c1","created_at":"2025-01-01","age":41}`
			}
			body := goodRec + "\n" + tc.bad + "\n" + goodRec + "\n"
			w := h.do(http.MethodPost, "/v1/"+tc.kind, []byte(body))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var res live.BatchResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Refused != 1 || res.Accepted+res.Duplicates != 2 || len(res.Results) != 3 {
				t.Fatalf("result %+v, want one refused and two kept", res)
			}
			r := res.Results[1]
			if r.Status != "refused" || r.Line != 2 || r.Index != 1 || !strings.Contains(r.Error, tc.want) {
				t.Fatalf("bad record's result %+v, want refused at line 2 with %q", r, tc.want)
			}
		})
	}
	t.Run("all-refused", func(t *testing.T) {
		w := h.do(http.MethodPost, "/v1/events", []byte(`[{"type":"x"}]`))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"type":"bad_data"`) ||
			!strings.Contains(w.Body.String(), `"status":"refused"`) {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	for _, body := range []string{"", "hello", `"a string"`, `[1,`} {
		w := h.do(http.MethodPost, "/v1/events", []byte(body))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"bad_data"`) {
			t.Errorf("body %q: %d %s", body, w.Code, w.Body)
		}
	}
	w := h.do(http.MethodGet, "/v1/contacts/c1/score?as_of=never", nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "as_of") {
		t.Errorf("bad as_of: %d %s", w.Code, w.Body)
	}
	if w := h.do(http.MethodGet, "/v1/contacts/nobody/score", nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown contact: %d %s", w.Code, w.Body)
	}
}

// TestErasure erases a person by their anonymous id: afterwards no id of theirs finds
// anything, and an export holds none of their rows, while the other person is untouched.
func TestErasure(t *testing.T) {
	h := newHarness(t, rulesSet(t), live.Options{}, nil)
	for _, p := range []struct{ kind, body string }{
		{"contacts", `[{"contact_id":"c1","created_at":"2025-01-01","email":"one@example.com"},{"contact_id":"c2","created_at":"2025-01-02"}]`},
		{"events", "{\"anonymous_id\":\"anon-1\",\"email\":\"one@example.com\",\"type\":\"page_view\",\"ts\":\"2025-03-01\",\"event_id\":\"e1\"}\n" +
			"{\"contact_id\":\"c2\",\"type\":\"page_view\",\"ts\":\"2025-03-02\"}"},
		{"transactions", `{"contact_id":"c1","ts":"2025-03-03","amount":99}`},
		{"identities", `{"id_a":"c1","id_b":"crm-77"}`},
	} {
		if w := h.do(http.MethodPost, "/v1/"+p.kind, []byte(p.body)); w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", p.kind, w.Code, w.Body)
		}
	}
	if w := h.do(http.MethodGet, "/v1/contacts/crm-77", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"contact_id":"c1"`) {
		t.Fatalf("profile by linked id before erasure: %d %s", w.Code, w.Body)
	}
	w := h.do(http.MethodDelete, "/v1/contacts/anon-1", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"events":1`) || !strings.Contains(w.Body.String(), `"transactions":1`) {
		t.Fatalf("erase: %d %s", w.Code, w.Body)
	}
	for _, id := range []string{"c1", "one@example.com", "anon-1", "crm-77"} {
		for _, path := range []string{"/v1/contacts/" + id, "/v1/contacts/" + id + "/score"} {
			if w := h.do(http.MethodGet, path, nil); w.Code != http.StatusNotFound {
				t.Errorf("GET %s after erasure: %d %s", path, w.Code, w.Body)
			}
		}
	}
	if w := h.do(http.MethodGet, "/v1/contacts/c2/score", nil); w.Code != http.StatusOK {
		t.Errorf("the other person: %d %s", w.Code, w.Body)
	}
	if w := h.do(http.MethodDelete, "/v1/contacts/anon-1", nil); w.Code != http.StatusNotFound {
		t.Errorf("second erasure: %d %s", w.Code, w.Body)
	}
	out := filepath.Join(t.TempDir(), "export")
	if _, err := live.Export(context.Background(), h.st, out); err != nil {
		t.Fatal(err)
	}
	var found []string
	note := func(ids ...string) {
		for _, id := range ids {
			switch id {
			case "c1", "one@example.com", "anon-1", "crm-77", "e1":
				found = append(found, id)
			}
		}
	}
	_, err := history.ReadRows(context.Background(), out, features.Mapping{}, history.RowVisitor{
		Contact:     func(r history.ContactRow) error { note(r.ContactID, r.Email); return nil },
		Event:       func(r history.EventRow) error { note(r.ContactID, r.AnonymousID, r.Email, r.EventID); return nil },
		Transaction: func(r history.CustomerTransaction) error { note(r.Customer); return nil },
		Identity:    func(r history.IdentityRow) error { note(r.IDA, r.IDB); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Fatalf("erased identifiers in the export: %v", found)
	}
}

// TestScopedKeys: an ingest key posts records but reads no scores; a read key reads scores
// but posts nothing; only the admin key erases and manages triggers.
func TestScopedKeys(t *testing.T) {
	st, err := store.Open("db", store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := staticRegistry{rulesSet(t)}
	svc := live.New(st, reg, live.Options{})
	hash := func(k string) [32]byte { return sha256.Sum256([]byte(k)) }
	srv := web.New(reg, web.Options{API: v1.Options{
		APIKeySHA256:   [][32]byte{hash("read-key")},
		AdminKeySHA256: [][32]byte{hash("admin-key")},
		Live:           v1.LiveOptions{Service: svc, IngestKeySHA256: [][32]byte{hash("ingest-key")}},
	}}, slog.New(slog.DiscardHandler))
	do := func(method, path, key, body string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w.Code
	}
	ev := `{"contact_id":"c1","type":"page_view","ts":"2025-06-01"}`
	ct := `{"contact_id":"c1","created_at":"2025-01-01"}`
	for _, tc := range []struct {
		method, path, key, body string
		want                    int
	}{
		{"POST", "/v1/contacts", "ingest-key", ct, 200},
		{"POST", "/v1/events", "ingest-key", ev, 200},
		{"POST", "/v1/events", "read-key", ev, 401},
		{"POST", "/v1/events", "", ev, 401},
		{"POST", "/v1/events", "admin-key", ev, 200},
		{"GET", "/v1/contacts/c1/score", "ingest-key", "", 401},
		{"GET", "/v1/contacts/c1", "ingest-key", "", 401},
		{"GET", "/v1/contacts/c1/score", "read-key", "", 200},
		{"GET", "/v1/contacts/c1", "read-key", "", 200},
		{"GET", "/v1/admin/triggers", "read-key", "", 401},
		{"GET", "/v1/admin/triggers", "ingest-key", "", 401},
		{"GET", "/v1/admin/triggers", "admin-key", "", 200},
		{"DELETE", "/v1/contacts/c1", "read-key", "", 401},
		{"DELETE", "/v1/contacts/c1", "ingest-key", "", 401},
		{"DELETE", "/v1/contacts/c1", "admin-key", "", 200},
	} {
		if got := do(tc.method, tc.path, tc.key, tc.body); got != tc.want {
			t.Errorf("%s %s with %q: %d, want %d", tc.method, tc.path, tc.key, got, tc.want)
		}
	}
}
