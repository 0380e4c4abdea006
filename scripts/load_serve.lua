-- wrk script for scripts/load_serve.sh: POST one ~20-event profile (docs/contract.md §2) to
-- /v1/score, and print a machine-readable summary line when done.
wrk.method = "POST"
wrk.path = "/v1/score"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("PROPENSITY_API_KEY") then
  wrk.headers["X-API-Key"] = os.getenv("PROPENSITY_API_KEY")
end
wrk.body = [[{"contact_id":"c-load","as_of":"2026-03-10T00:00:00Z","attributes":{"age":44,"occupation":"engineer","net_worth":350000},"events":[{"type":"page_view","ts":"2026-02-01T08:00:00Z","page":"/pricing"},{"type":"email_open","ts":"2026-02-02T09:00:00Z","campaign":"spring"},{"type":"email_click","ts":"2026-02-03T10:00:00Z","campaign":"spring"},{"type":"page_view","ts":"2026-02-04T11:00:00Z","page":"/blog/a"},{"type":"form_submit","ts":"2026-02-05T12:00:00Z"},{"type":"page_view","ts":"2026-02-06T13:00:00Z","page":"/docs"},{"type":"download","ts":"2026-02-07T14:00:00Z"},{"type":"email_open","ts":"2026-02-08T15:00:00Z","campaign":"spring"},{"type":"email_click","ts":"2026-02-09T16:00:00Z","campaign":"spring"},{"type":"webinar","ts":"2026-02-10T17:00:00Z"},{"type":"page_view","ts":"2026-02-11T08:00:00Z","page":"/contact"},{"type":"chat","ts":"2026-02-12T09:00:00Z"},{"type":"page_view","ts":"2026-02-13T10:00:00Z","page":"/pricing"},{"type":"email_open","ts":"2026-02-14T11:00:00Z","campaign":"spring"},{"type":"email_click","ts":"2026-02-15T12:00:00Z","campaign":"spring"},{"type":"page_view","ts":"2026-02-16T13:00:00Z","page":"/blog/a"},{"type":"survey","ts":"2026-02-17T14:00:00Z","value":9},{"type":"page_view","ts":"2026-02-18T15:00:00Z","page":"/docs"},{"type":"trial_start","ts":"2026-02-19T16:00:00Z"},{"type":"page_view","ts":"2026-02-20T17:00:00Z","page":"/models/suv-x"}],"transactions":[{"ts":"2025-11-02T12:00:00Z","amount":129.5,"product":"service"},{"ts":"2026-01-15T12:00:00Z","amount":60,"product":"parts"}]}]]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f non2xx=%d sockerr=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout, summary.requests))
end
