#!/usr/bin/env bash
# Lifetime value, propensity vs the scipy peer (../shared/bench/btyd_scipy.py, the method of
# the lifetimes package), side by side on the same transactions:
#   1. the CDNOW sample (2,357 customers, weekly, calibration to 1997-09-30, holdout to 1998-06-30);
#   2. N simulated BG/NBD customers (default 1,000,000; daily, calibration to 2024-12-31,
#      holdout to 2025-06-30) written by scripts/bench_ltv.go as CSV and Parquet.
# Each run alternates the two tools; medians over RUNS runs are printed with their ratios.
# "fit" is summary + BG/NBD + Gamma-Gamma as each tool reports it; "wall" is the whole
# process (reading, scoring and, for propensity, holdout evaluation and tiers included).
# Usage: scripts/bench_ltv.sh [RUNS] [N] [DIR] [SIM_RUNS]
#   DIR keeps the generated files (default a temp dir); SIM_RUNS (default RUNS) is the number of
#   runs on the simulated file, which takes minutes for the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; n=${2:-1000000}; sim_runs=${4:-$runs}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dir=${3:-$tmp/data}
peer=../shared/bench/btyd_scipy.py
py=/usr/bin/python3

go build -o "$tmp/propensity" ./cmd/propensity
if [ ! -s "$dir/tx.csv" ]; then
  go run scripts/bench_ltv.go "$dir" "$n" 1
fi
# CDNOW_sample.txt: customer id, sample id, YYYYMMDD, CDs, amount.
(echo customer_id,date,amount
 awk '{printf "%d,%s-%s-%s,%s\n",$2,substr($3,1,4),substr($3,5,2),substr($3,7,2),$5}' ../shared/datasets/cdnow/CDNOW_sample.txt) > "$tmp/cdnow.csv"

# record TOOL CASE JSON TIMEFILE: the tool's JSON plus wall and CPU (user+sys) seconds of the
# whole process from /usr/bin/time. On a shared machine CPU seconds are the steadier measure.
record() {
  $py -c 'import json,sys
d = json.load(open(sys.argv[3])); w, u, s = map(float, open(sys.argv[4]).read().split()[-3:])
d.update(tool=sys.argv[1], case=sys.argv[2], wall=w, cpu=u + s); print(json.dumps(d))' "$@" >> "$tmp/runs.jsonl"
}
run() { # name file cal hold period_flag period_days
  local name=$1 file=$2 cal=$3 hold=$4 pflag=$5 pdays=$6
  /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$tmp/propensity" ltv --transactions "$file" \
    --calibration-end "$cal" --holdout-end "$hold" --period "$pflag" --json 2>/dev/null > "$tmp/o.json"
  record propensity "$name" "$tmp/o.json" "$tmp/t"
  /usr/bin/time -f "%e %U %S" -o "$tmp/t" $py "$peer" "$file" "$cal" "$hold" "$pdays" > "$tmp/p.json"
  record scipy "$name" "$tmp/p.json" "$tmp/t"
}
for i in $(seq "$runs"); do
  run cdnow "$tmp/cdnow.csv" 1997-09-30 1998-06-30 week 7
done
for i in $(seq "$sim_runs"); do
  run sim "$dir/tx.csv" 2024-12-31 2025-06-30 day 1
  echo "simulated run $i done" >&2
done
# propensity on the Parquet copy of the simulated file (its native input), for the record.
/usr/bin/time -f "%e %U %S" -o "$tmp/t" "$tmp/propensity" ltv --transactions "$dir/tx.parquet" \
  --calibration-end 2024-12-31 --holdout-end 2025-06-30 --period day --json 2>/dev/null > "$tmp/pq.json"
record propensity sim_parquet "$tmp/pq.json" "$tmp/t"

$py - "$tmp/runs.jsonl" "$dir/generator.json" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
truth = json.load(open(sys.argv[2]))
pq = [d for d in rows if d["case"] == "sim_parquet"][-1]
def fit(d):
    return d["fit_seconds"] if d["tool"] == "propensity" else sum(d["seconds"].values())
out = {}
for case in ("cdnow", "sim"):
    o = [d for d in rows if d["case"] == case and d["tool"] == "propensity"]
    p = [d for d in rows if d["case"] == case and d["tool"] == "scipy"]
    fo, fp = st.median(map(fit, o)), st.median(map(fit, p))
    wo, wp = st.median(d["wall"] for d in o), st.median(d["wall"] for d in p)
    co, cp = st.median(d["cpu"] for d in o), st.median(d["cpu"] for d in p)
    last_o, last_p = o[-1], p[-1]
    out[case] = {
        "customers": last_o["customers"], "runs": len(o),
        "fit_s": {"propensity": round(fo, 3), "scipy": round(fp, 3), "speedup": round(fp / fo, 1)},
        "wall_s": {"propensity": round(wo, 3), "scipy": round(wp, 3), "speedup": round(wp / wo, 1)},
        "process_cpu_s": {"propensity": round(co, 3), "scipy": round(cp, 3), "speedup": round(cp / co, 1)},
        "bgnbd": {k: [round(last_o["bgnbd"][k], 4), round(last_p["bgnbd"][k], 4)] for k in ("r", "alpha", "a", "b", "log_likelihood")},
        "gamma_gamma": {k: [round(last_o["gamma_gamma"][k], 4), round(last_p["gamma_gamma"][k], 4)] for k in ("p", "q", "v")},
        "holdout_predicted": [round(last_o["holdout"]["predicted_repeat_transactions"], 1), round(last_p["holdout"]["predicted_repeat_transactions"], 1)],
        "holdout_actual": [last_o["holdout"]["actual_repeat_transactions"], last_p["holdout"]["actual_repeat_transactions"]],
    }
sim = [d for d in rows if d["case"] == "sim" and d["tool"] == "propensity"][-1]["bgnbd"]
out["sim"]["recovery_z"] = {k: round((sim[k] - truth["bgnbd"][k]) / sim["std_errors"][k], 2) for k in ("r", "alpha", "a", "b")}
out["sim"]["truth"] = truth["bgnbd"]
out["sim_parquet_propensity"] = {"fit_s": round(pq["fit_seconds"], 3), "wall_s": pq["wall"], "process_cpu_s": pq["cpu"], "seconds": pq["seconds"]}
print(json.dumps(out, indent=1))
PY
