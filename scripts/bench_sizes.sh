#!/usr/bin/env bash
# How the batch jobs grow with the history (docs/operations.md, "Scaling"): times `features`
# and `score --data` on a small and a large history (by default 1M and 10M contacts), in
# alternating order (small, large, small, large, ...), and prints each job's medians, the
# large/small ratio (the goal is at most 11 for ten times the contacts), the peak resident
# memory of the large runs (goal at most 6 GB at the default budget) and the temporary disk
# they used at their fullest.
#
# Usage: scripts/bench_sizes.sh SMALL_HISTORY LARGE_HISTORY [RUNS]
#   The histories come from `propensity generate --out DIR --contacts N --seed 7`.
#   RUNS defaults to 3. BIN: a propensity binary built beforehand (built here when unset).
#   JOBS: the jobs to time (default "features score"). MODELS: a models directory; when set,
#   `score --data` also gets `--models MODELS`. TMP: the folder for `--tmp` (default: a new
#   one under ${TMPDIR:-/tmp}); it must be empty after every run, and the script checks.
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:?usage: scripts/bench_sizes.sh SMALL_HISTORY LARGE_HISTORY [RUNS]}
large=${2:?usage: scripts/bench_sizes.sh SMALL_HISTORY LARGE_HISTORY [RUNS]}
runs=${3:-3}
jobs=${JOBS:-features score}
asof=2026-01-01
for h in "$small" "$large"; do
	[[ -f $h/events.parquet ]] || { echo "bench_sizes: $h has no events.parquet (generate it first)" >&2; exit 2; }
done
source scripts/bench_common.sh
tmp=${TMP:-$work/spill}
mkdir -p "$tmp"
models=()
[[ -n ${MODELS:-} ]] && models=(--models "$MODELS")

# watch_tmp FILE: records the largest size of $tmp (KiB) into FILE until killed.
watch_tmp() {
	local most=0 now
	while :; do
		now=$(du -sk "$tmp" 2>/dev/null | cut -f1)
		((now > most)) && most=$now && echo "$most" >"$1"
		sleep 1
	done
}

# run JOB SIZE HISTORY: one timed run; appends "seconds peak_kib tmp_kib" to $work/JOB.SIZE.
run() {
	local job=$1 size=$2 hist=$3 w
	echo 0 >"$work/tmpmax"
	watch_tmp "$work/tmpmax" &
	w=$!
	case $job in
	features) /usr/bin/time -f '%e %M' -o "$work/t" "$bin" features --data "$hist" --as-of $asof \
		--horizon 90d --out "$work/out.parquet" --tmp "$tmp" >"$work/log" 2>&1 ;;
	score) /usr/bin/time -f '%e %M' -o "$work/t" "$bin" score --data "$hist" --as-of $asof \
		"${models[@]}" --out "$work/out.parquet" --tmp "$tmp" >"$work/log" 2>&1 ;;
	esac || { cat "$work/log" >&2; kill $w; exit 1; }
	kill $w
	wait $w 2>/dev/null || true
	if [[ -n $(ls -A "$tmp") ]]; then
		echo "bench_sizes: $job left files in $tmp" >&2
		exit 1
	fi
	read -r secs kib <"$work/t"
	echo "$secs $kib $(cat "$work/tmpmax")" >>"$work/$job.$size"
	printf '%s %-8s %-5s %8.2f s  peak %9d KiB  tmp %8d KiB\n' "$(date -u +%H:%M:%S)" "$job" "$size" "$secs" "$kib" "$(cat "$work/tmpmax")"
	rm -f "$work/out.parquet"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); small=$small large=$large runs=$runs"
for ((i = 1; i <= runs; i++)); do
	for job in $jobs; do
		run "$job" small "$small"
		run "$job" large "$large"
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for job in $jobs; do
	s=$(cut -d' ' -f1 "$work/$job.small" | median)
	l=$(cut -d' ' -f1 "$work/$job.large" | median)
	peak=$(cut -d' ' -f2 "$work/$job.large" | sort -g | tail -1)
	disk=$(cut -d' ' -f3 "$work/$job.large" | sort -g | tail -1)
	pairs=$(paste -d' ' "$work/$job.small" "$work/$job.large" | awk '{printf "%s%.2f", (NR>1?", ":""), $4/$1}')
	printf '%-8s small %8.2f s  large %8.2f s  large/small %.2f (pairs %s)  large peak %d KiB  tmp %d MiB\n' \
		"$job" "$s" "$l" "$(awk -v l="$l" -v s="$s" 'BEGIN {print l / s}')" "$pairs" "$peak" $((disk / 1024))
done
