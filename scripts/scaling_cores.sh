#!/usr/bin/env bash
# Many-core scaling of the batch engine (docs/operations.md, "Scaling with cores").
#
#   scripts/scaling_cores.sh BINARY OUTDIR [BUDGET_SECONDS]
#
# Runs `generate` and `features` at 1M contacts with GOMAXPROCS 2, 4, 8 and 16, then at 10M
# contacts for as many of 16, 8, 4, 2 as the time budget allows (each step is skipped when
# the previous step's time, scaled by the core ratio, would overrun the budget). Writes one
# TSV line per run to OUTDIR/scaling.tsv: size, job, gomaxprocs, seconds, peak RSS (KiB).
# The generated histories go to a scratch directory that is removed at the end.
set -euo pipefail
bin=$(readlink -f "$1"); out=$2; budget=${3:-480}
mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/scaling.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
start=$(date +%s)
tsv="$out/scaling.tsv"
printf 'contacts\tjob\tgomaxprocs\tseconds\tpeak_rss_kib\n' >"$tsv"
echo "nproc $(nproc); $(uptime)" >"$out/machine.txt"
"$bin" version >>"$out/machine.txt" 2>&1 || true

left() { echo $(( budget - ($(date +%s) - start) )); }

# run CONTACTS JOB PROCS CMD...: times one run and records it.
run() {
  local n=$1 job=$2 p=$3; shift 3
  local t0 t1 rss
  t0=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    GOMAXPROCS=$p /usr/bin/time -f '%M' -o "$scratch/rss" "$@" >"$scratch/log" 2>&1
    rss=$(tail -1 "$scratch/rss")
  else
    GOMAXPROCS=$p "$@" >"$scratch/log" 2>&1
    rss=NA
  fi
  t1=$(date +%s.%N)
  local s; s=$(echo "$t1 - $t0" | bc -l 2>/dev/null || awk "BEGIN{print $t1-$t0}")
  printf '%s\t%s\t%s\t%.2f\t%s\n' "$n" "$job" "$p" "$s" "$rss" | tee -a "$tsv"
  last=$s
}

for n in 1000000 10000000; do
  hist="$scratch/h$n"
  prev=""; prevp=""
  if [ "$n" = 1000000 ]; then procs="2 4 8 16"; else procs="16 8 4 2"; fi
  for job in generate features; do
    prev=""
    for p in $procs; do
      if [ -n "$prev" ]; then
        # predicted time at p cores from the last run, assuming linear scaling
        need=$(awk "BEGIN{printf \"%d\", $prev * $prevp / $p + 5}")
        if [ "$need" -gt "$(left)" ]; then echo "skip $n $job $p: needs ~${need}s, $(left)s left" | tee -a "$out/skipped.txt"; continue; fi
      fi
      case $job in
        generate)
          rm -rf "$hist"
          run "$n" generate "$p" "$bin" generate --contacts "$n" --seed 7 --out "$hist" ;;
        features)
          run "$n" features "$p" "$bin" features --data "$hist" --as-of 2026-01-01 --horizon 90d --out "$scratch/f.parquet"
          rm -f "$scratch/f.parquet" ;;
      esac
      prev=$last; prevp=$p
    done
    # features needs a history: if every generate run at this size was skipped, stop.
    [ -d "$hist" ] || { echo "no $n history within the budget" | tee -a "$out/skipped.txt"; break; }
  done
  rm -rf "$hist"
done
du -sh "$scratch" >>"$out/machine.txt" 2>/dev/null || true
