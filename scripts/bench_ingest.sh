#!/usr/bin/env bash
# Measures the live store's ingest goals (docs/operations.md, "Sizing") on a small store, each
# run RUNS times (default 3; quote the medians), with the load average before each run:
#   1. one event per request at a fixed rate (open loop, default 5,000/s): p99 latency;
#   2. NDJSON batches of 500 events, 4 clients, closed loop: events/s (durable: acknowledged
#      means synced);
#   3. event to webhook at 10,000 events/s (NDJSON batches of 100), one new lead in 100 crossing
#      the MQL line, the other events page views that earn no points (no re-score needed);
#   4. the same with the other events on /careers, which every scorecard scores: each event
#      re-scores its person (the worst case).
# The server runs with scripts/liveload/webhook-triggers.yaml loaded in every run.
# Usage: scripts/bench_ingest.sh [CONTACTS] [WORK_DIR]
# Defaults: 20,000 contacts (--seed 5) in a temporary directory (removed afterwards).
# Environment: RUNS (3), SECONDS_PER_RUN (8), SINGLE_RATE (5000), EVENT_RATE (10000),
# HISTORY (an existing history directory to use instead of generating one).
set -euo pipefail
n=${1:-20000}
work=${2:-}
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-8}
single_rate=${SINGLE_RATE:-5000}
event_rate=${EVENT_RATE:-10000}
# shellcheck source=scripts/live_setup.sh
source "$(dirname "$0")/live_setup.sh"
rm -rf "$work/store"
/usr/bin/time -f "ingest_wall_s=%e peak_rss_kb=%M" "$bin" ingest --data "$hist" --store "$work/store" 2>&1 |
	grep -E "ingest_wall_s|ingested history" | sed 's/^.*msg=//'
LIVELOAD_SECRET=bench "$bin" serve --models "$work/models" --store "$work/store" --addr 127.0.0.1:18750 \
	--triggers "$root/scripts/liveload/webhook-triggers.yaml" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -sf http://127.0.0.1:18750/readyz >/dev/null 2>&1 && break
	sleep 0.2
done
curl -sf http://127.0.0.1:18750/readyz >/dev/null || { echo "serve did not become ready" >&2; cat "$work/serve.log" >&2; exit 1; }
load() { "$work/liveload" -addr 127.0.0.1:18750 -ids-from "$hist" -duration "${secs}s" "$@"; }
for i in $(seq "$runs"); do
	echo "# run $i, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "## one event per request, $single_rate/s"
	load -mode single -rate "$single_rate"
	echo "## NDJSON batches of 500, 4 clients"
	load -mode batch -batch 500
	echo "## event to webhook, $event_rate events/s, other events earn nothing"
	load -mode webhook -rate "$event_rate" -batch 100 -drain 5s
	echo "## event to webhook, $event_rate events/s, other events on /careers (each re-scores)"
	load -mode webhook -rate "$event_rate" -batch 100 -drain 5s -page /careers
done
echo "serve_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
