#!/usr/bin/env bash
# Times `propensity features` (full feature set) against the DuckDB reference
# (../shared/bench/duckdb_features.mjs, canonical columns, 2 threads) on the same history, side by
# side, and checks the canonical columns cell by cell. Also measures peak memory per million
# people and per million events (the same people with every event read twice).
#
# Usage: scripts/bench_features.sh [HISTORY_DIR] [AS_OF] [RUNS]
#   HISTORY_DIR defaults to /tmp/hist1m (create it with
#   `go run ./cmd/propensity generate --out /tmp/hist1m --contacts 1000000`).
#   BENCH_DIR: folder with duckdb_features.mjs and node_modules (default /tmp/bench, then ../shared/bench).
#   BIN: a propensity binary built beforehand (built here when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
hist=${1:-/tmp/hist1m}
asof=${2:-2026-01-01}
runs=${3:-3}
horizon_days=90
bench=${BENCH_DIR:-}
if [[ -z $bench ]]; then
  for d in /tmp/bench ../shared/bench; do
    if [[ -f $d/duckdb_features.mjs && -d $d/node_modules/@duckdb ]]; then bench=$d; break; fi
  done
fi
[[ -n $bench ]] || { echo "no DuckDB reference with node_modules found (set BENCH_DIR)" >&2; exit 2; }
[[ -d $hist ]] || { echo "no history at $hist" >&2; exit 2; }

source scripts/bench_common.sh

: >"$work/duck.txt"; : >"$work/ours.txt"
for i in $(seq "$runs"); do
  /usr/bin/time -f "%e %M %U %S" -o "$work/t" node "$bench/duckdb_features.mjs" "$hist" "$asof" "$work/duck.parquet" 2 "$horizon_days" >"$work/duck.json"
  cat "$work/t" >>"$work/duck.txt"
  /usr/bin/time -f "%e %M %U %S" -o "$work/t" "$bin" features --data "$hist" --as-of "$asof" \
    --horizon "${horizon_days}d" --out "$work/ours.parquet" --json >"$work/ours.json" 2>"$work/ours.log"
  cat "$work/t" >>"$work/ours.txt"
  echo "run $i: duckdb (s, KB, user, sys) $(tail -1 "$work/duck.txt"); propensity $(tail -1 "$work/ours.txt")" >&2
done
dmed=$(cut -d' ' -f1 "$work/duck.txt" | median)
omed=$(cut -d' ' -f1 "$work/ours.txt" | median)
dmem=$(cut -d' ' -f2 "$work/duck.txt" | median)
dcpu=$(awk '{print $3+$4}' "$work/duck.txt" | median)
ocpu=$(awk '{print $3+$4}' "$work/ours.txt" | median)
omem=$(cut -d' ' -f2 "$work/ours.txt" | median)
people=$(python3 -c "import json;print(json.load(open('$work/ours.json'))['people'])")
events=$(python3 -c "import json;print(json.load(open('$work/ours.json'))['events'])")
cols=$(python3 -c "import json;print(json.load(open('$work/ours.json'))['columns'])")

# Same people, twice the events: part files that read events.parquet twice.
h2="$work/hist2x"; mkdir -p "$h2/events.parquet"
for f in contacts transactions identities; do [[ -e $hist/$f.parquet ]] && ln -s "$(realpath "$hist/$f.parquet")" "$h2/$f.parquet"; done
if [[ -d $hist/events.parquet ]]; then
  for p in "$hist"/events.parquet/*.parquet; do
    ln -s "$(realpath "$p")" "$h2/events.parquet/a-$(basename "$p")"; ln -s "$(realpath "$p")" "$h2/events.parquet/b-$(basename "$p")"
  done
else
  ln -s "$(realpath "$hist/events.parquet")" "$h2/events.parquet/part-0.parquet"
  ln -s "$(realpath "$hist/events.parquet")" "$h2/events.parquet/part-1.parquet"
fi
/usr/bin/time -f "%e %M" -o "$work/t2" "$bin" features --data "$h2" --as-of "$asof" --out "$work/ours2.parquet" 2>/dev/null
omem2=$(cut -d' ' -f2 "$work/t2")

echo "== cell-by-cell comparison of the canonical columns ==" >&2
PROPENSITY_COMPARE="$work/ours.parquet,$work/duck.parquet" go test ./features/history -run TestCompareFiles -count=1 -v 2>&1 | tail -3 >&2

python3 - "$dmed" "$omed" "$dmem" "$omem" "$omem2" "$people" "$events" "$cols" "$runs" "$dcpu" "$ocpu" <<'PY'
import sys
dmed, omed, dmem, omem, omem2 = map(float, sys.argv[1:6])
people, events, cols, runs = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
dcpu, ocpu = float(sys.argv[10]), float(sys.argv[11])
print(f"history: {people:,} people, {events:,} events; medians of {runs} runs, side by side")
print(f"DuckDB (canonical columns, 2 threads): {dmed:.2f} s, peak {dmem/1024:.0f} MB")
print(f"propensity (all {cols} columns):        {omed:.2f} s, peak {omem/1024:.0f} MB")
print(f"time ratio propensity/DuckDB: {omed/dmed:.3f} (CPU seconds user+sys: {ocpu:.1f} vs {dcpu:.1f}, ratio {ocpu/dcpu:.3f})")
print(f"peak memory per million people: {omem/1024/(people/1e6):.0f} MB")
extra = (omem2 - omem) / 1024
print(f"peak memory with every event read twice: {omem2/1024:.0f} MB -> {extra/(events/1e6):+.1f} MB per million extra events")
PY
