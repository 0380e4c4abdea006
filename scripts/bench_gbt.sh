#!/usr/bin/env bash
# propensity gbt vs XGBoost (hist), side by side on the same machine in the same run:
#  1. 5-fold CV on Telco churn and Online Shoppers with the folds of
#     ../shared/bench/tabular_baselines.py (written per row by bench_gbt.py folds, the same
#     StratifiedKFold call) and XGBoost's settings there (300 trees, depth 4, lr 0.05,
#     subsample 0.8, colsample 0.8, 2 threads): AUC and fit+predict seconds;
#  2. fit time (300 trees, depth 4, lr 0.05, 2 threads) and predict rows/s on the 1,000,000 x 40
#     table of ../shared/bench/fit_anchors.py.
# Each measurement runs RUNS times, ours and the peer's alternately; prints medians and ratios,
# with the 1-minute load average seen before the runs (the machine is shared: other jobs slow
# both sides, XGBoost's OpenMP threads much more than ours). With GBT_BENCH_IDLE=P, every run
# waits (up to 5 minutes) for a second in which the CPUs were at least P% idle, the same for
# both sides. cv also reports predict rows/s on the CV folds, ours and XGBoost's (one extra
# pass of the peer's model with bench_gbt.py cvpredict, not part of the timed comparison).
# Usage: [GBT_BENCH_IDLE=95] scripts/bench_gbt.sh [RUNS] [cv|synth|all]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; what=${2:-all}
data=../shared/datasets; peer=../shared/bench/tabular_baselines.py
out=${GBT_BENCH_OUT:-$(mktemp -d)}; mkdir -p "$out"; echo "results in $out" >&2
go build -o "$out/gbtbench" ./scripts/gbtbench
py=/usr/bin/python3

# settle waits for an idle moment when GBT_BENCH_IDLE is set, then records the load average.
settle() {
  local want=${GBT_BENCH_IDLE:-0} a b idle tot k i
  for ((i = 0; want > 0 && i < 300; i++)); do
    read -ra a </proc/stat; sleep 1; read -ra b </proc/stat
    idle=$(( b[4] + b[5] - a[4] - a[5] )); tot=0
    for k in 1 2 3 4 5 6 7 8; do tot=$(( tot + b[k] - a[k] )); done
    (( 100 * idle >= want * tot )) && break
  done
  cut -d' ' -f1 /proc/loadavg >>"$out/load"
}

if [[ $what == cv || $what == all ]]; then
  $py scripts/bench_gbt.py folds $data/telco_churn/telco_churn.csv Churn Yes "$out/telco.folds"
  $py scripts/bench_gbt.py folds $data/online_shoppers/online_shoppers_intention.csv Revenue True "$out/shoppers.folds"
  for i in $(seq "$runs"); do
    settle
    "$out/gbtbench" cv -csv $data/telco_churn/telco_churn.csv -label Churn -positive Yes -drop customerID \
      -folds "$out/telco.folds" | sed 's/^{/{"dataset":"telco",/' | tee -a "$out/ours_cv.jsonl"
    settle
    "$out/gbtbench" cv -csv $data/telco_churn/telco_churn.csv -label Churn -positive Yes -drop customerID \
      -folds "$out/telco.folds" -onehot | sed 's/^{/{"dataset":"telco",/' | tee -a "$out/ours_cv.jsonl"
    settle
    $py $peer telco $data/telco_churn/telco_churn.csv Churn Yes , customerID | grep xgboost | tee -a "$out/peer_cv.jsonl"
    settle
    "$out/gbtbench" cv -csv $data/online_shoppers/online_shoppers_intention.csv -label Revenue -positive True \
      -folds "$out/shoppers.folds" | sed 's/^{/{"dataset":"online_shoppers",/' | tee -a "$out/ours_cv.jsonl"
    settle
    "$out/gbtbench" cv -csv $data/online_shoppers/online_shoppers_intention.csv -label Revenue -positive True \
      -folds "$out/shoppers.folds" -onehot | sed 's/^{/{"dataset":"online_shoppers",/' | tee -a "$out/ours_cv.jsonl"
    settle
    $py $peer online_shoppers $data/online_shoppers/online_shoppers_intention.csv Revenue True | grep xgboost | tee -a "$out/peer_cv.jsonl"
  done
  settle
  $py scripts/bench_gbt.py cvpredict $data/telco_churn/telco_churn.csv Churn Yes "$out/telco.folds" customerID \
    | sed 's/^{/{"dataset": "telco", /' | tee -a "$out/peer_cvpredict.jsonl"
  settle
  $py scripts/bench_gbt.py cvpredict $data/online_shoppers/online_shoppers_intention.csv Revenue True "$out/shoppers.folds" \
    | sed 's/^{/{"dataset": "online_shoppers", /' | tee -a "$out/peer_cvpredict.jsonl"
fi

if [[ $what == synth || $what == all ]]; then
  $py scripts/bench_gbt.py gen "$out/x.f64" "$out/y.f64"
  for i in $(seq "$runs"); do
    settle
    "$out/gbtbench" synth -x "$out/x.f64" -y "$out/y.f64" -subsample 1 -colsample 1 | tee -a "$out/ours_synth.jsonl"
    settle
    $py scripts/bench_gbt.py fit "$out/x.f64" "$out/y.f64" 1000000 40 | tee -a "$out/peer_synth.jsonl"
  done
  rm -f "$out/x.f64" "$out/y.f64"
fi

$py - "$out" <<'PY'
import json, os, sys, statistics as st
d = sys.argv[1]
def load(f):
    p = os.path.join(d, f)
    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []
ours, peer, peerpred = load("ours_cv.jsonl"), load("peer_cv.jsonl"), load("peer_cvpredict.jsonl")
loads = [float(l) for l in open(os.path.join(d, "load"))] if os.path.exists(os.path.join(d, "load")) else []
for ds in ("telco", "online_shoppers"):
    pr = [r for r in peer if r["dataset"] == ds]
    if not pr:
        continue
    pt = st.median(r["fit_predict_s"] for r in pr)
    pp = [r["predict_rows_per_s"] for r in peerpred if r["dataset"] == ds]
    for mode in ("native", "onehot"):
        o = [r for r in ours if r["dataset"] == ds and r["categorical"] == mode]
        ot = st.median(r["fit_predict_s"] for r in o)
        print(json.dumps({"dataset": ds, "categorical": mode, "auc": o[0]["auc"], "xgboost_auc": pr[0]["auc"],
                          "auc_diff": round(o[0]["auc"] - pr[0]["auc"], 4), "fit_predict_s": ot,
                          "xgboost_fit_predict_s": pt, "time_ratio": round(ot / pt, 3), "runs": len(o),
                          "predict_rows_per_s": round(st.median(r["predict_rows_per_s"] for r in o)),
                          "xgboost_predict_rows_per_s": round(pp[0]) if pp else None}))
os_, ps = load("ours_synth.jsonl"), load("peer_synth.jsonl")
if os_:
    of, pf = st.median(r["fit_s"] for r in os_), st.median(r["fit_s"] for r in ps)
    oc, pc = st.median(r["fit_cpu_s"] for r in os_), st.median(r["fit_cpu_s"] for r in ps)
    print(json.dumps({"table": "1000000x40", "fit_s": of, "xgboost_fit_s": pf, "fit_ratio": round(of / pf, 3),
                      "fit_cpu_s": oc, "xgboost_fit_cpu_s": pc, "fit_cpu_ratio": round(oc / pc, 3),
                      "predict_rows_per_s": st.median(r["predict_rows_per_s"] for r in os_),
                      "xgboost_predict_rows_per_s": st.median(r["predict_rows_per_s"] for r in ps),
                      "train_auc": os_[0]["train_auc"], "runs": len(os_)}))
if loads:
    print(json.dumps({"load_1min_before_runs": {"min": min(loads), "median": st.median(loads), "max": max(loads)},
                      "idle_wait_pct": int(os.environ.get("GBT_BENCH_IDLE", "0") or 0)}))
PY
