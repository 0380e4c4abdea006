#!/usr/bin/env bash
# Measures how the batch jobs use cores (docs/operations.md, "Cores and memory"):
#   - `features`, `score --data` and `generate` with GOMAXPROCS=2 against GOMAXPROCS=1,
#   - `features` against the DuckDB reference (duckdb_features.mjs) given the same 2 threads.
# Runs alternate (1 core, 2 cores, DuckDB, ...); medians of RUNS runs. Prints the load
# average before and after, since other work on the machine skews the numbers.
#
# Usage: scripts/bench_cores.sh [CONTACTS] [RUNS] [HISTORY_DIR]
#   CONTACTS defaults to 1000000, RUNS to 3. HISTORY_DIR (default /tmp/hist-cores-CONTACTS)
#   is generated when missing and kept; the timed `generate` runs write to a temporary dir.
#   BENCH_DIR: folder with duckdb_features.mjs and node_modules (skipped when absent).
#   BIN: a propensity binary built beforehand (built here when unset; build outside the
#   measurement lock). KEEP: folder where the raw timings accumulate, so that runs split
#   over several lock holds (RUNS=1 each) are summarised together. JOBS: the jobs to time
#   (default "features score generate").
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
hist=${3:-/tmp/hist-cores-$n}
asof=2026-01-01
source scripts/bench_common.sh
keep=${KEEP:-$work}
mkdir -p "$keep"
[[ -d $hist ]] || "$bin" generate --out "$hist" --contacts "$n" --seed 7 >/dev/null
bench=${BENCH_DIR:-}
jobs=${JOBS:-features score generate}
timed() { # name procs command...: appends "seconds peak_kb user_s sys_s" to $work/name-procs
	local name=$1 procs=$2; shift 2
	GOMAXPROCS=$procs /usr/bin/time -f "%e %M %U %S" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	cat "$work/t" >>"$keep/$name-$procs"
}
echo "load before: $(uptime)"
for i in $(seq "$runs"); do
	for p in 1 2; do
		if [[ " $jobs " == *" features "* ]]; then
			timed features $p "$bin" features --data "$hist" --as-of "$asof" --horizon 90d --out "$work/f.parquet"
		fi
		if [[ " $jobs " == *" score "* ]]; then
			timed score $p "$bin" score --data "$hist" --as-of "$asof" --out "$work/s.parquet"
		fi
		if [[ " $jobs " == *" generate "* ]]; then
			rm -rf "$work/gen"
			timed generate $p "$bin" generate --out "$work/gen" --contacts "$n" --seed 7
		fi
	done
	if [[ -n $bench ]]; then
		timed duckdb 2 node "$bench/duckdb_features.mjs" "$hist" "$asof" "$work/d.parquet" 2 90
	fi
	echo "run $i done: $(uptime)" >&2
done
echo "load after:  $(uptime)"
printf "%-10s %10s %10s %8s %12s %12s\n" job "1 core s" "2 cores s" ratio "peak MB (2)" "CPU s (1/2)"
for job in $jobs; do
	one=$(cut -d' ' -f1 "$keep/$job-1" | median)
	two=$(cut -d' ' -f1 "$keep/$job-2" | median)
	mem=$(cut -d' ' -f2 "$keep/$job-2" | median)
	c1=$(awk '{print $3+$4}' "$keep/$job-1" | median)
	c2=$(awk '{print $3+$4}' "$keep/$job-2" | median)
	printf "%-10s %10.2f %10.2f %8.3f %12.0f %6.1f/%.1f\n" "$job" "$one" "$two" "$(echo "$two / $one" | bc -l)" "$(echo "$mem / 1024" | bc -l)" "$c1" "$c2"
done
if [[ -n $bench ]]; then
	d=$(cut -d' ' -f1 "$keep/duckdb-2" | median)
	f=$(cut -d' ' -f1 "$keep/features-2" | median)
	printf "features / DuckDB (2 threads): %.2f s / %.2f s = %.3f\n" "$f" "$d" "$(echo "$f / $d" | bc -l)"
fi
