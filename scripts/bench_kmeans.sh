#!/usr/bin/env bash
# Fit time of k-means, propensity vs scikit-learn (KMeans lloyd, n_init 10), on the same
# 1,000,000 x 20 standard normal matrix, k = 8; runs each RUNS times alternately and prints
# the medians and their ratio. Usage: scripts/bench_kmeans.sh [RUNS] [N] [DIM] [K]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; n=${2:-1000000}; dim=${3:-20}; k=${4:-8}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 scripts/bench_kmeans.py gen "$tmp/x.f64" "$n" "$dim"
go build -o "$tmp/bench" scripts/bench_kmeans.go
for i in $(seq "$runs"); do
  "$tmp/bench" "$tmp/x.f64" "$dim" "$k" | tee -a "$tmp/ours.jsonl"
  /usr/bin/python3 scripts/bench_kmeans.py fit "$tmp/x.f64" "$dim" "$k" | tee -a "$tmp/peer.jsonl"
done
/usr/bin/python3 - "$tmp/ours.jsonl" "$tmp/peer.jsonl" <<'PY'
import json, sys, statistics as st
o = [json.loads(l)["fit_s"] for l in open(sys.argv[1])]
p = [json.loads(l)["fit_s"] for l in open(sys.argv[2])]
print(json.dumps({"propensity_median_s": st.median(o), "sklearn_median_s": st.median(p),
                  "ratio": round(st.median(o) / st.median(p), 3)}))
PY
