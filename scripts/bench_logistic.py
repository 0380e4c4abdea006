#!/usr/bin/python3
"""Peer side of the logistic fit benchmark (issue 5): scikit-learn LogisticRegression(lbfgs)
on the random 1,000,000 x 40 table of ../shared/bench/fit_anchors.py.

Usage: bench_logistic.py DIR [REPEATS]
Writes DIR/X.f64 (row-major little-endian float64, n*d), DIR/y.f64 and DIR/shape.json once
(same seed, so both sides read one table), times REPEATS fits (default 3) and prints one
JSON line with every fit time, the median, and the training AUC.
scripts/bench_logistic.go reads the same files; run both side by side:
    /usr/bin/python3 scripts/bench_logistic.py /tmp/lr1m && go run scripts/bench_logistic.go /tmp/lr1m

Measured 2026-11-22 on the shared 2-core machine under heavy load (load average ~27), side by
side, medians of 3 fits: scikit-learn 12.68 s / 14.54 s, propensity 4.82 s / 5.27 s (ratio
0.38 / 0.36), training AUC 0.83293 for both.
"""
import json, os, statistics, sys, time
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

out = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
os.makedirs(out, exist_ok=True)
n, d = 1_000_000, 40
if not os.path.exists(os.path.join(out, "shape.json")):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) * 0.3
    z = X @ w + 0.5 * X[:, 0] * X[:, 1] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float64)
    X.astype("<f8").tofile(os.path.join(out, "X.f64"))
    y.astype("<f8").tofile(os.path.join(out, "y.f64"))
    with open(os.path.join(out, "shape.json"), "w") as f:
        json.dump({"rows": n, "cols": d}, f)
X = np.fromfile(os.path.join(out, "X.f64"), dtype="<f8").reshape(n, d)
y = np.fromfile(os.path.join(out, "y.f64"), dtype="<f8").astype(int)
times = []
for _ in range(reps):
    t = time.perf_counter()
    m = LogisticRegression(max_iter=1000).fit(X, y)
    times.append(time.perf_counter() - t)
auc = roc_auc_score(y, m.decision_function(X))
print(json.dumps({"peer": "sklearn_lbfgs", "fit_s": [round(x, 3) for x in times],
                  "median_s": round(statistics.median(times), 3), "auc_train": round(auc, 5),
                  "iterations": int(m.n_iter_[0])}))
