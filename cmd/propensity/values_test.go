package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/servingtest"
	"github.com/propensity-dev/propensity/serving/web"
)

// edgeScorecard compares a numeric attribute, so that text such as "Infinity" meets a number.
const edgeScorecard = `name: edge
version: '1'
rules:
  - {name: senior, points: 5, when: 'age >= 60'}
  - {name: opened, points: 3, event: {type: email_open}}
`

// TestEdgeProfilesSameVerdict: a profile at the edges of the accepted values (years 1899,
// 1900, 2200, 2201 and 9999; 1e308, "Infinity" and "NaN"; text that is not UTF-8) gets the
// same verdict from `propensity score --profile` and from POST /v1/score on the router
// `propensity serve` runs, over the same models and scorecard, and a refusal names the same
// field (issue 17, defects 4, 5 and 9).
func TestEdgeProfilesSameVerdict(t *testing.T) {
	models := t.TempDir()
	if _, err := servingtest.WriteLTV(models); err != nil {
		t.Fatal(err)
	}
	card := scoreWriteFile(t, "edge.yaml", edgeScorecard)
	env := newEnv(io.Discard, io.Discard)
	reg := serving.NewRegistry(newModelLoader(env.log, models, card).Load, env.log, nil)
	if _, err := reg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := web.New(reg, web.Options{}, nil)

	event := func(ts string) string {
		return `{"contact_id":"c","as_of":"2026-01-01","events":[{"type":"email_open","ts":"` + ts + `"}]}`
	}
	tx := func(ts, amount string) string {
		return `{"contact_id":"c","as_of":"2026-01-01","transactions":[{"ts":"` + ts + `","amount":` + amount + `}]}`
	}
	attr := func(k, v string) string {
		return `{"contact_id":"c","as_of":"2026-01-01","attributes":{"` + k + `":` + v + `}}`
	}
	cases := []struct {
		name, body string
		field      string // "" when accepted
	}{
		{"event 1899", event("1899-12-31T23:59:59Z"), "events[0].ts"},
		{"event 1900", event("1900-01-01"), ""},
		{"event 2200", event("2200-12-31T23:59:59Z"), ""},
		{"event 2201", event("2201-01-01"), "events[0].ts"},
		{"event 9999", event("9999-12-31"), "events[0].ts"},
		{"as_of 1899", `{"contact_id":"c","as_of":"1899-06-01"}`, "as_of"},
		{"as_of 1900", `{"contact_id":"c","as_of":"1900-01-01"}`, ""},
		{"as_of 2200", `{"contact_id":"c","as_of":"2200-12-31"}`, ""},
		{"as_of 2201", `{"contact_id":"c","as_of":"2201-01-01"}`, "as_of"},
		{"as_of 9999", `{"contact_id":"c","as_of":"9999-12-31"}`, "as_of"},
		{"transaction 9999", tx("9999-12-31", "5"), "transactions[0].ts"},
		{"transaction 1900", tx("1900-01-01", "5"), ""},
		{"created_at 1899", attr("created_at", `"1899-01-01"`), "attributes.created_at"},
		{"created_at 2200", attr("created_at", `"2200-01-01"`), ""},
		{"amount 1e308", tx("2025-01-01", "1e308"), "transactions[0].amount"},
		{"two amounts 1e308", `{"contact_id":"c","as_of":"2026-01-01","transactions":[{"ts":"2025-01-01","amount":1e308},{"ts":"2025-02-01","amount":1e308}]}`, "transactions[0].amount"},
		{"amount 1e15", tx("2025-01-01", "1e15"), ""},
		{"value 1e308", `{"contact_id":"c","as_of":"2026-01-01","events":[{"type":"survey","ts":"2025-01-01","value":1e308}]}`, "events[0].value"},
		{"age 1e308", attr("age", "1e308"), ""},
		{"age \"1e308\"", attr("age", `"1e308"`), ""},
		{"age \"Infinity\"", attr("age", `"Infinity"`), "age"},
		{"age \"-inf\"", attr("age", `"-inf"`), "age"},
		{"age \"NaN\"", attr("age", `"NaN"`), "age"},
		{"plan \"Infinity\"", attr("plan", `"Infinity"`), ""}, // text, compared with nothing
		{"contact_id not UTF-8", "{\"contact_id\":\"c\xff\",\"as_of\":\"2026-01-01\"}", "contact_id"},
		{"contact_id lone surrogate", `{"contact_id":"c\udc00","as_of":"2026-01-01"}`, "contact_id"},
		{"page not UTF-8", "{\"contact_id\":\"c\",\"as_of\":\"2026-01-01\",\"events\":[{\"type\":\"page_view\",\"ts\":\"2025-01-01\",\"page\":\"/\xe2\x82\"}]}", "events[0].page"},
		{"emoji", `{"contact_id":"c \ud83d\ude00","as_of":"2026-01-01"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := scoreRunCLI(t, "score", "--scorecard", card, "--models", models, "--json",
				"--profile", scoreWriteFile(t, "p.json", c.body))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/v1/score", strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			srv.ServeHTTP(rec, req)
			body := rec.Body.String()
			if c.field == "" {
				if code != exitOK || rec.Code != http.StatusOK {
					t.Fatalf("want accepted: CLI exit %d (%s), HTTP %d (%s)", code, stderr, rec.Code, body)
				}
				if !strings.Contains(stdout, `"contact_id"`) {
					t.Errorf("CLI printed no response: %s", stdout)
				}
				return
			}
			if code != exitUsage || rec.Code != http.StatusBadRequest {
				t.Fatalf("want refused: CLI exit %d (%s), HTTP %d (%s)", code, stderr, rec.Code, body)
			}
			if !strings.Contains(stderr, c.field) || !strings.Contains(body, c.field) || !strings.Contains(body, `"bad_data"`) {
				t.Errorf("want both naming %s: CLI %q, HTTP %q", c.field, stderr, body)
			}
		})
	}
}

// TestDateFlagsOutOfRange: --as-of 1600 counted every purchase as before T and 3000 counted
// nothing (issue 17, defect 4); every date flag now refuses a date outside the accepted
// range, exit 2 naming the flag, before reading any data.
func TestDateFlagsOutOfRange(t *testing.T) {
	dir := t.TempDir()
	profile := scoreWriteFile(t, "p.json", scoreContractProfile)
	for _, c := range []struct {
		flag string
		args []string
	}{
		{"--as-of", []string{"features", "--data", dir, "--as-of", "1600-01-01", "--out", dir + "/f.parquet"}},
		{"--as-of", []string{"features", "--data", dir, "--as-of", "3000-01-01", "--out", dir + "/f.parquet"}},
		{"--as-of", []string{"score", "--data", dir, "--as-of", "1899-12-31T23:59:59Z", "--out", dir + "/s.parquet"}},
		{"--as-of", []string{"score", "--profile", profile, "--as-of", "2201-01-01"}},
		{"--calibration-end", []string{"ltv", "--transactions", dir + "/tx.csv", "--calibration-end", "3000-01-01"}},
		{"--holdout-end", []string{"ltv", "--transactions", dir + "/tx.csv", "--calibration-end", "2020-01-01", "--holdout-end", "9999-12-31"}},
	} {
		code, stdout, stderr := scoreRunCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.flag+": ") || !strings.Contains(stderr, "outside the accepted range") || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", c.args, code, stderr, c.flag)
		}
	}
}

// TestFeaturesCommandOutOfRange: events at 2300 and 9999 crashed `propensity features` or
// counted as past events (issue 17, defect 4). They are bad rows, logged with the column;
// an as-of far after the data is warned about.
func TestFeaturesCommandOutOfRange(t *testing.T) {
	dir := t.TempDir()
	writeParquetRows(t, filepath.Join(dir, "contacts.parquet"), []featContact{{"c1", 1_700_000_000_000_000}})
	writeParquetRows(t, filepath.Join(dir, "events.parquet"), []featEvent{
		{1_760_000_000_000_000, "email_open", "c1"}, // 2025-10-09
		{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), "email_open", "c1"},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).UnixMicro(), "email_open", "c1"},
	})
	for _, c := range []struct {
		asOf, warn string
		events     float64
	}{
		{"2026-01-01", "", 1},
		{"2150-01-01", "more than 90 days after the history's last event", 1},
	} {
		out := filepath.Join(t.TempDir(), "f.parquet")
		code, _, stderr := scoreRunCLI(t, "features", "--data", dir, "--as-of", c.asOf, "--out", out)
		if code != exitOK {
			t.Fatalf("as-of %s: exit %d: %s", c.asOf, code, stderr)
		}
		if !strings.Contains(stderr, `reason="out-of-range ts" rows=2`) {
			t.Errorf("as-of %s: bad rows not logged: %s", c.asOf, stderr)
		}
		if c.warn != "" && !strings.Contains(stderr, c.warn) {
			t.Errorf("as-of %s: no warning %q: %s", c.asOf, c.warn, stderr)
		}
		if c.warn == "" && strings.Contains(stderr, "after the history's last") {
			t.Errorf("as-of %s: unexpected warning: %s", c.asOf, stderr)
		}
		table, err := history.ReadParquet(out)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := table.Float64s("n_events_total"); n[0] != c.events {
			t.Errorf("as-of %s: n_events_total %v, want %v", c.asOf, n[0], c.events)
		}
		table.Release()
	}
}
