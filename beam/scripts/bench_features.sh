#!/usr/bin/env bash
# Times `propensity features` (embedded) and `propensity-beam features` (Prism, in process)
# on one history, one process per run, with /usr/bin/time: wall seconds and peak RSS.
#   bench_features.sh PROPENSITY PROPENSITY_BEAM HISTORY_DIR RUN...
# each RUN is embedded:K or prism:K, K the GOMAXPROCS (cores) the process gets. Run it under
# `flock /work/measure.lock` on a shared machine. docs/scale-out.md has the results.
set -euo pipefail
emb=$1 pb=$2 dir=$3; shift 3
for run in "$@"; do
  mode=${run%%:*} procs=${run##*:}
  out=$(mktemp -d)/out
  case $mode in
    embedded) cmd=("$emb" features --data "$dir" --as-of 2026-01-01 --horizon 90d --out "$out.parquet") ;;
    prism)    cmd=("$pb" features --data "$dir" --as-of 2026-01-01 --horizon 90d --shards 8 --out "$out") ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  load=$(cut -d' ' -f1 /proc/loadavg)
  t=$( { GOMAXPROCS=$procs /usr/bin/time -f '%e %M' "${cmd[@]}" >/dev/null 2>"$out.log"; } 2>&1 || true)
  res=$(tail -1 "$out.log")
  echo "$(date -u +%H:%M:%S) $(basename "$dir") $mode gomaxprocs=$procs load=$load seconds_rssKB=[$res]"
  rm -rf "$(dirname "$out")"
done
