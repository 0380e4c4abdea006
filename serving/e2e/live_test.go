package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/serving"
	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/batch"
	"github.com/propensity-dev/propensity/serving/live"
	"github.com/propensity-dev/propensity/serving/live/livetest"
	"github.com/propensity-dev/propensity/serving/store"
	"github.com/propensity-dev/propensity/serving/web"
)

// TestLiveMatchesBatch is docs/operations.md's parity promise with every model loaded: a
// history the models never saw is ingested record by record over HTTP, shuffled, one record
// in twenty sent twice; then GET /v1/contacts/{id}/score of 1,000 people drawn at random, as
// of T, gives the row that `propensity score --data` (serving/batch) writes for them, block
// by block: the rules, conversion (gradient boosting, with its TreeSHAP reasons), churn
// (logistic), LTV, persona and uplift. The live side reads everything stored for the
// person, transactions after T included, and must leave out what comes after T as the
// batch walk does.
func TestLiveMatchesBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	ctx := context.Background()
	work := t.TempDir()
	train, hist := filepath.Join(work, "train"), filepath.Join(work, "live")
	asOf := synth.DefaultAsOf()
	if _, err := synth.Generate(ctx, train, synth.Options{Contacts: 2000, Seed: 1, CampaignShare: 0.5}); err != nil {
		t.Fatal(err)
	}
	tr := trainModels(t, ctx, train, filepath.Join(work, "models"), asOf, 90*24*time.Hour)
	// The models as `propensity serve --models` and `score --data --models` load them: the
	// feature options come from the manifests.
	reg, set := tr.registry(t, ctx, features.Options{})
	if set.Conversion == nil || set.Churn == nil || set.LTV == nil || set.Personas == nil || set.Uplift == nil {
		t.Fatalf("a model did not load: %+v", set)
	}

	if _, err := synth.Generate(ctx, hist, synth.Options{Contacts: 1100, Seed: 12, CampaignShare: 0.5}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "scores.parquet")
	if _, err := batch.Score(ctx, set, batch.Options{Dir: hist, AsOf: asOf, Out: out, Scorecards: tr.cards}); err != nil {
		t.Fatal(err)
	}
	rows, err := batch.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	st, err := store.Open("db", store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := live.New(st, reg, live.Options{})
	srv := web.New(reg, web.Options{API: v1.Options{Live: v1.LiveOptions{Service: svc}}}, slog.New(slog.DiscardHandler))
	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(method, path, bytes.NewReader(body)))
		return w
	}
	recs, err := livetest.HistoryRecords(ctx, hist)
	if err != nil {
		t.Fatal(err)
	}
	// Records after T are stored too: the live answer must leave them out as the batch does.
	later := 0
	for _, r := range recs {
		var v struct{ TS time.Time }
		if r.Kind != live.KindContacts && json.Unmarshal(r.Body, &v) == nil && v.TS.After(asOf) {
			later++
		}
	}
	if later == 0 {
		t.Fatal("the history has no record after T")
	}
	for i, r := range livetest.ShuffleResend(recs, rand.New(rand.NewPCG(12, 1))) {
		if w := do(http.MethodPost, r.Path(), r.Body); w.Code != http.StatusOK {
			t.Fatalf("record %d (%s): %d %s", i, r.Kind, w.Code, w.Body)
		}
	}

	// 1,000 people drawn at random (docs/operations.md).
	rand.New(rand.NewPCG(12, 2)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	if len(rows) < 1000 {
		t.Fatalf("%d people in the history, want at least 1,000", len(rows))
	}
	rows = rows[:1000]
	blocks := map[string]int{}
	for _, want := range rows {
		w := do(http.MethodGet, "/v1/contacts/"+url.PathEscape(want.ContactID)+"/score?as_of="+asOf.Format(time.RFC3339), nil)
		if w.Code != http.StatusOK {
			t.Fatalf("score of %s: %d %s", want.ContactID, w.Code, w.Body)
		}
		var resp serving.Response
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		got := batch.NewRow(resp)
		// LTV sums a customer's amounts in map order: the last bits may differ.
		if closeFloat(got.PAlive, want.PAlive) && closeFloat(got.ExpectedPurchases, want.ExpectedPurchases) && closeFloat(got.CLV, want.CLV) {
			got.PAlive, got.ExpectedPurchases, got.CLV = want.PAlive, want.ExpectedPurchases, want.CLV
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s by id:\n%s\nscore --data:\n%s", want.ContactID, rowJSON(got), rowJSON(want))
			continue
		}
		for name, present := range map[string]bool{"conversion reasons": got.ConversionReasons != nil && *got.ConversionReasons != "",
			"churn reasons": got.ChurnReasons != nil && *got.ChurnReasons != "", "ltv": got.CLV != nil,
			"persona": got.PersonaID != nil, "uplift": got.UpliftEffect != nil, "points": got.Total != 0} {
			if present {
				blocks[name]++
			}
		}
	}
	// Every block must be compared for many people, or the equality above says little.
	for _, name := range []string{"conversion reasons", "churn reasons", "ltv", "persona", "uplift", "points"} {
		if blocks[name] < len(rows)/10 {
			t.Errorf("only %d of %d people have %s: the comparison is too thin", blocks[name], len(rows), name)
		}
	}
	t.Logf("%d people compared, %d records after T; people with each block: %v", len(rows), later, blocks)
}

func closeFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return near(*a, *b)
}

func rowJSON(r batch.Row) []byte {
	b, _ := json.Marshal(r)
	return b
}
