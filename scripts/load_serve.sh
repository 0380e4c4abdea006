#!/usr/bin/env bash
# Load test of `propensity serve` against the gin-hello anchor (../shared/bench/gin-hello),
# on loopback only, alternately, RUNS times each, with wrk -t2 -c32 for DURATION.
#
# Prints, per server, the medians of requests/s, p99 latency and non-2xx responses, the
# throughput ratio propensity / gin-hello, and the RSS of propensity with its models loaded.
#
#   scripts/load_serve.sh                 # trains small models on a generated history
#   MODELS=path/to/models scripts/load_serve.sh
#
# Environment: MODELS (models dir; default: built here with the CLI from a synthetic history
# of CONTACTS contacts), RUNS (3), DURATION (10s), THREADS (2), CONNS (32),
# GIN_HELLO_SRC (/work/shared/bench/gin-hello), KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
CONTACTS=${CONTACTS:-2000}
GIN_HELLO_SRC=${GIN_HELLO_SRC:-/work/shared/bench/gin-hello}
LUA="$ROOT/scripts/load_serve.lua"

command -v wrk >/dev/null || { echo "load_serve: wrk not found (apt-get install wrk)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/load_serve.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "work directory kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_up() { # url pid
	for _ in $(seq 1 200); do
		kill -0 "$2" 2>/dev/null || { echo "load_serve: server exited" >&2; return 1; }
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "load_serve: $1 did not come up" >&2
	return 1
}

echo "== building" >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/propensity" ./cmd/propensity)
cp -r "$GIN_HELLO_SRC" "$WORK/gin-hello"
(cd "$WORK/gin-hello" && go build -o "$WORK/gin-hello-bin" .)

if [ -z "${MODELS:-}" ]; then
	echo "== training small models on a synthetic history ($CONTACTS contacts)" >&2
	MODELS="$WORK/models"
	H="$WORK/history"
	P="$WORK/propensity"
	AS_OF=2026-01-01
	mkdir -p "$MODELS"
	try() { "$@" >"$WORK/step.log" 2>&1 || { echo "   (skipped: $* failed: $(tail -1 "$WORK/step.log"))" >&2; return 0; }; }
	"$P" generate --out "$H" --contacts "$CONTACTS" --seed 1 --as-of "$AS_OF" >/dev/null 2>"$WORK/gen.log" ||
		{ echo "generate failed: $(tail -3 "$WORK/gen.log")" >&2; }
	try "$P" train conversion --data "$H" --as-of "$AS_OF" --horizon 90d --out "$MODELS"
	try "$P" train churn --data "$H" --as-of "$AS_OF" --horizon 90d --out "$MODELS"
	try "$P" ltv --transactions "$H/transactions.parquet" --calibration-end 2025-12-31 --out "$MODELS/ltv"
	try "$P" personas --data "$H" --as-of "$AS_OF" --k 4 --out "$MODELS/personas"
fi
echo "== models: $(cd "$MODELS" && ls -d */ 2>/dev/null | tr -d / | tr '\n' ' ')" >&2

PORT_P=$(free_port)
"$WORK/propensity" serve --models "$MODELS" --addr "127.0.0.1:$PORT_P" 2>"$WORK/serve.log" &
PID_P=$!
PIDS+=("$PID_P")
wait_up "http://127.0.0.1:$PORT_P/readyz" "$PID_P"
PORT_G=$(free_port)
"$WORK/gin-hello-bin" "127.0.0.1:$PORT_G" 2>/dev/null &
PID_G=$!
PIDS+=("$PID_G")
wait_up "http://127.0.0.1:$PORT_G/" "$PID_G" || true

echo "== one response from propensity:" >&2
curl -s -X POST -H 'Content-Type: application/json' \
	--data "$(sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$LUA")" \
	"http://127.0.0.1:$PORT_P/v1/score" | head -c 1500 >&2
echo >&2

run() { # name port
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "http://127.0.0.1:$2" |
		sed -n 's/^RESULT //p' | sed "s/^/$1 /"
}
: >"$WORK/results"
for i in $(seq 1 "$RUNS"); do
	echo "== run $i/$RUNS" >&2
	run propensity "$PORT_P" | tee -a "$WORK/results" >&2
	run gin-hello "$PORT_G" | tee -a "$WORK/results" >&2
done
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$PID_P/status")
HWM_KB=$(awk '/VmHWM/ {print $2}' "/proc/$PID_P/status")

python3 - "$WORK/results" "$RSS_KB" "$HWM_KB" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    rows.setdefault(name, []).append({k: float(v) for k, v in d.items()})
med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in rows.items()}
print(f"{'server':<12} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>8} {'sock err':>8}   (medians of {len(rows['propensity'])} runs)")
for n in ("propensity", "gin-hello"):
    m = med[n]
    print(f"{n:<12} {m['rps']:>10.0f} {m['p99_ms']:>8.2f} {m['non2xx']:>8.0f} {m['sockerr']:>8.0f}")
ratio = med["propensity"]["rps"] / med["gin-hello"]["rps"]
print(f"throughput ratio propensity/gin-hello: {ratio:.2f}")
print(f"propensity RSS after load: {int(sys.argv[2])/1024:.1f} MiB (peak {int(sys.argv[3])/1024:.1f} MiB)")
EOF
