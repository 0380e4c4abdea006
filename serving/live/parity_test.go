package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/gin-gonic/gin"

	"github.com/propensity-dev/propensity/data"
	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/scorecard"
	"github.com/propensity-dev/propensity/serving"
	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/live/livetest"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/web"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// staticRegistry serves one model set (web.Registry).
type staticRegistry struct{ set *serving.ModelSet }

func (r staticRegistry) Current() *serving.ModelSet { return r.set }
func (r staticRegistry) Reload(context.Context) (*serving.ModelSet, error) {
	return r.set, nil
}
func (r staticRegistry) Ready() bool { return true }

// rulesSet is the model set of the embedded default scorecard.
func rulesSet(t testing.TB) *serving.ModelSet {
	t.Helper()
	b, err := data.Scorecard(data.DefaultScorecard)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := scorecard.Parse(b, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	return &serving.ModelSet{Rules: serving.NewRules(cards, "embedded")}
}

// harness is a live server over a store in memory.
type harness struct {
	st  *store.Store
	svc *live.Service
	srv *web.Server
}

func newHarness(t testing.TB, set *serving.ModelSet, lo live.Options, fs vfs.FS) *harness {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	st, err := store.Open("db", store.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := staticRegistry{set}
	svc := live.New(st, reg, lo)
	return &harness{st: st, svc: svc, srv: webServer(reg, svc, lo.Now)}
}

func webServer(reg web.Registry, svc *live.Service, now func() time.Time) *web.Server {
	return web.New(reg, web.Options{API: v1.Options{Live: v1.LiveOptions{Service: svc}, Now: now}}, slog.New(slog.DiscardHandler))
}

func (h *harness) do(method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, req)
	return w
}

// TestParity ingests a generated history record by record over HTTP, in shuffled order with
// 5% of the records sent twice, then checks that scores by id equal batch scores of the
// original history at the same as-of, and that the export's feature table equals the
// original's, cell by cell.
func TestParity(t *testing.T) {
	ctx := context.Background()
	hist := filepath.Join(t.TempDir(), "history")
	contacts := 250
	if testing.Short() {
		contacts = 80
	}
	if _, err := synth.Generate(ctx, hist, synth.Options{Contacts: contacts, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	recs, err := livetest.HistoryRecords(ctx, hist)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	recs = livetest.ShuffleResend(recs, rng)

	set := rulesSet(t)
	h := newHarness(t, set, live.Options{}, nil)
	var accepted, dups int
	for i, r := range recs {
		w := h.do(http.MethodPost, r.Path(), r.Body)
		if w.Code != http.StatusOK {
			t.Fatalf("record %d (%s): %d %s", i, r.Kind, w.Code, w.Body)
		}
		var res live.BatchResult
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		accepted += res.Accepted
		dups += res.Duplicates
	}
	if dups < len(recs)/25 {
		t.Fatalf("%d duplicates among %d records with 5%% resent", dups, len(recs))
	}

	asOf := synth.DefaultAsOf()
	scorer := serving.NewScorer(serving.Static{Set: set}, nil)
	batch := map[string][]byte{}
	var ids []string
	_, err = history.ForEachPerson(ctx, hist, features.Options{AsOf: asOf}, func(p *history.Person) error {
		prof := p.Profile(asOf)
		resp, err := scorer.ScoreWith(ctx, set, &prof, serving.Options{})
		if err != nil {
			return err
		}
		b, err := json.Marshal(resp)
		batch[p.ContactID] = b
		ids = append(ids, p.ContactID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sample := ids
	if len(sample) > 1000 {
		rng.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
		sample = sample[:1000]
	}
	for _, id := range sample {
		w := h.do(http.MethodGet, "/v1/contacts/"+url.PathEscape(id)+"/score?as_of="+asOf.Format(time.RFC3339), nil)
		if w.Code != http.StatusOK {
			t.Fatalf("score of %s: %d %s", id, w.Code, w.Body)
		}
		var got serving.Response
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		if !bytes.Equal(b, batch[id]) {
			t.Fatalf("score of %s by id:\n%s\nbatch:\n%s", id, b, batch[id])
		}
	}

	out := filepath.Join(t.TempDir(), "export")
	if _, err := live.Export(ctx, h.st, out); err != nil {
		t.Fatal(err)
	}
	compareFeatureTables(t, hist, out, features.Options{AsOf: asOf, Horizon: 90 * 24 * time.Hour})
}

// compareFeatureTables builds the feature tables of two history directories and checks them
// cell by cell, columns matched by name: the export writes attribute columns in name order,
// where the original may have another order. Floats agree to a relative 1e-12 (decayed sums
// may add in another order).
func compareFeatureTables(t *testing.T, a, b string, opts features.Options) {
	t.Helper()
	ta, _, err := history.Build(context.Background(), a, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Release()
	tb, _, err := history.Build(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Release()
	ca, cb := ta.Schema().Columns, tb.Schema().Columns
	if len(ca) != len(cb) || ta.Len() != tb.Len() {
		t.Fatalf("tables differ in shape: %d×%d vs %d×%d", ta.Len(), len(ca), tb.Len(), len(cb))
	}
	idx := make([]int, len(ca))
	for i, c := range ca {
		idx[i] = tb.Schema().Index(c.Name)
		if idx[i] < 0 || cb[idx[i]].Kind != c.Kind {
			t.Fatalf("column %s (%v) missing or of another kind in the export's table", c.Name, c.Kind)
		}
	}
	for r := range ta.Len() {
		ra, rb := ta.Row(r), tb.Row(r)
		for i, c := range ca {
			j := idx[i]
			if ra.Strs[i] != rb.Strs[j] {
				t.Fatalf("row %d (%s) column %s: %q vs %q", r, ra.Strs[0], c.Name, ra.Strs[i], rb.Strs[j])
			}
			x, y := ra.Nums[i], rb.Nums[j]
			if math.IsNaN(x) != math.IsNaN(y) || !math.IsNaN(x) && math.Abs(x-y) > 1e-12*math.Max(1, math.Abs(x)) {
				t.Fatalf("row %d (%s) column %s: %v vs %v", r, ra.Strs[0], c.Name, x, y)
			}
		}
		if fmt.Sprint(ra.MergedIDs) != fmt.Sprint(rb.MergedIDs) {
			t.Fatalf("row %d merged ids %v vs %v", r, ra.MergedIDs, rb.MergedIDs)
		}
	}
}
