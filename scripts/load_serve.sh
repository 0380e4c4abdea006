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
# GIN_HELLO_SRC (/work/shared/bench/gin-hello), KEEP=1 keeps the work directory,
# PIN=1 runs both servers on CPU 0 and wrk on CPU 1 (taskset), to see latency without the
# load generator competing with the server for the same cores; SERVE_ENV adds environment
# variables to propensity serve only (e.g. SERVE_ENV="GOMAXPROCS=4 GOGC=100").
#
# wrk and the servers share the machine: on a 2-core machine the latency percentiles are as
# much wrk's scheduling as the server's; compare with gin-hello's in the same run, and look
# at the load average printed first and last (other jobs skew both servers). Sharing two
# cores with wrk, SERVE_ENV="GOMAXPROCS=1" cut propensity's p99 from 21 to 6 ms at 0.76 of
# gin-hello's throughput (one server thread for the kernel to schedule beside wrk's two), and
# GOMAXPROCS=4 about halved it; with cores of its own (PIN=1) more Ps than cores cost a fifth
# of the throughput. serve keeps Go's default (docs/operations.md, "CPU").
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
	try "$P" ltv --transactions "$H/transactions.parquet" --calibration-end 2025-12-31 --out "$MODELS"
	try "$P" personas --data "$H" --as-of "$AS_OF" --k 4 --out "$MODELS"
fi
echo "== models: $(cd "$MODELS" && ls -d */ 2>/dev/null | tr -d / | tr '\n' ' ')" >&2

SRV_PIN=()
WRK_PIN=()
if [ "${PIN:-0}" = 1 ]; then
	SRV_PIN=(taskset -c 0)
	WRK_PIN=(taskset -c 1)
fi
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" >&2

PORT_P=$(free_port)
"${SRV_PIN[@]}" env ${SERVE_ENV:-} "$WORK/propensity" serve --models "$MODELS" --addr "127.0.0.1:$PORT_P" 2>"$WORK/serve.log" &
PID_P=$!
PIDS+=("$PID_P")
wait_up "http://127.0.0.1:$PORT_P/readyz" "$PID_P"
PORT_G=$(free_port)
"${SRV_PIN[@]}" "$WORK/gin-hello-bin" "127.0.0.1:$PORT_G" 2>/dev/null &
PID_G=$!
PIDS+=("$PID_G")
wait_up "http://127.0.0.1:$PORT_G/" "$PID_G" || true

IDLE_KB=$(awk '/VmRSS/ {print $2}' "/proc/$PID_P/status")
echo "== one response from propensity:" >&2
curl -s -X POST -H 'Content-Type: application/json' \
	--data "$(sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$LUA")" \
	"http://127.0.0.1:$PORT_P/v1/score" | head -c 1500 >&2
echo >&2

run() { # name port
	"${WRK_PIN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "http://127.0.0.1:$2" |
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
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$WORK/results" "$RSS_KB" "$HWM_KB" "$IDLE_KB" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, *kv = line.split()
    d = dict(x.split("=") for x in kv)
    rows.setdefault(name, []).append({k: float(v) for k, v in d.items()})
med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in rows.items()}
print(f"{'server':<12} {'req/s':>10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'sock err':>8}   (medians of {len(rows['propensity'])} runs)")
for n in ("propensity", "gin-hello"):
    m = med[n]
    print(f"{n:<12} {m['rps']:>10.0f} {m['p50_ms']:>8.2f} {m['p90_ms']:>8.2f} {m['p99_ms']:>8.2f} {m['non2xx']:>8.0f} {m['sockerr']:>8.0f}")
# The ratio of each run (the servers alternate, so a run's pair shares the machine's state),
# and its median.
ratios = [p["rps"] / g["rps"] for p, g in zip(rows["propensity"], rows["gin-hello"])]
print(f"throughput ratio propensity/gin-hello: {med['propensity']['rps'] / med['gin-hello']['rps']:.2f} (of the medians); "
      f"per run {', '.join(f'{r:.2f}' for r in ratios)}, median {statistics.median(ratios):.2f}")
print(f"propensity RSS: {int(sys.argv[4])/1024:.1f} MiB with the models loaded, {int(sys.argv[2])/1024:.1f} MiB after load "
      f"(peak {int(sys.argv[3])/1024:.1f} MiB)")
EOF
