#!/usr/bin/env bash
# Measures `propensity generate`: wall time, CPU time, events/s and peak RSS.
# Usage: scripts/bench_generate.sh [CONTACTS] [OUT_DIR]
# Defaults: 1,000,000 contacts into a temporary directory (removed afterwards).
set -euo pipefail
n=${1:-1000000}
out=${2:-}
keep=1
if [[ -z "$out" ]]; then
	out=$(mktemp -d)
	keep=0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp -d)/propensity
(cd "$root" && go build -o "$bin" ./cmd/propensity)
log=$(mktemp)
/usr/bin/time -v "$bin" generate --out "$out" --contacts "$n" --json >"$log.json" 2>"$log"
python3 - "$log" "$log.json" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read()
s = json.load(open(sys.argv[2]))
def field(name):
    m = re.search(re.escape(name) + r":\s*(.+)", t)
    return m.group(1).strip() if m else "?"
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
print(json.dumps({"contacts": s["people"], "events": s["events"], "transactions": s["transactions"],
    "seconds": round(s["seconds"], 2), "events_per_s": round(s["events_per_second"]),
    "cpu_seconds": round(cpu, 2), "events_per_cpu_s": round(s["events"] / cpu),
    "peak_rss_mb": round(int(field("Maximum resident set size (kbytes)")) / 1024)}))
PY
rm -f "$log" "$log.json" "$bin"
if [[ $keep == 0 ]]; then rm -rf "$out"; fi
