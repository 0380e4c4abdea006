#!/usr/bin/env bash
# Measures the live store's speed goals (docs/operations.md, "Sizing"), each run RUNS times
# (default 3; quote the medians), with the load average before each run:
#   1. bulk ingest: `propensity ingest` of a generated history into a new store (wall time,
#      peak RSS), the store's size against the Parquet history's;
#   2. score by id: GET /v1/contacts/{id}/score at a fixed rate (open loop, default 5,000/s)
#      for random contacts of that history, and the server's resident memory afterwards;
#   3. event to webhook: events at a fixed rate (default 10,000/s, NDJSON batches of 100)
#      with one new lead in 100 crossing the MQL line; latency of its webhook to a local
#      receiver.
# Usage: scripts/bench_live.sh [CONTACTS] [WORK_DIR]
# Defaults: 1,000,000 contacts in a temporary directory (removed afterwards; a 1M history
# takes about 1 GB, its store about 5 GB, and the load needs as much again while it runs).
# Environment: RUNS (3), SCORE_RATE (5000), EVENT_RATE (10000), SECONDS_PER_RUN (20),
# HISTORY (an existing history directory to use instead of generating one).
set -euo pipefail
n=${1:-1000000}
work=${2:-}
runs=${RUNS:-3}
score_rate=${SCORE_RATE:-5000}
event_rate=${EVENT_RATE:-10000}
secs=${SECONDS_PER_RUN:-20}
# shellcheck source=scripts/live_setup.sh
source "$(dirname "$0")/live_setup.sh"
echo "# history: $(du -sb "$hist" | cut -f1) bytes of Parquet"
for i in $(seq "$runs"); do
	rm -rf "$work/store"
	echo "# ingest run $i, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	/usr/bin/time -f "ingest_wall_s=%e peak_rss_kb=%M" "$bin" ingest --data "$hist" --store "$work/store" 2>&1 | grep -E "ingest_wall_s|ingested history" | sed 's/^.*msg=//'
	echo "store_bytes=$(du -sb "$work/store" | cut -f1)"
done
serve() {
	"$bin" serve --models "$work/models" --store "$work/store" --addr 127.0.0.1:18750 "$@" >"$work/serve.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		curl -sf http://127.0.0.1:18750/readyz >/dev/null 2>&1 && return
		sleep 0.2
	done
	echo "serve did not become ready" >&2
	cat "$work/serve.log" >&2
	exit 1
}
serve
for i in $(seq "$runs"); do
	echo "# score run $i, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	"$work/liveload" -addr 127.0.0.1:18750 -mode score -ids-from "$hist" -rate "$score_rate" -duration "${secs}s"
done
echo "serve_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
stop
LIVELOAD_SECRET=bench serve --triggers "$root/scripts/liveload/webhook-triggers.yaml"
for i in $(seq "$runs"); do
	echo "# webhook run $i, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	"$work/liveload" -addr 127.0.0.1:18750 -mode webhook -ids-from "$hist" -rate "$event_rate" -batch 100 \
		-receiver 127.0.0.1:18700 -duration "${secs}s"
done
echo "serve_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
