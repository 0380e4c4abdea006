#!/usr/bin/python3
"""Helpers for scripts/bench_gbt.sh (propensity gbt vs XGBoost hist).

  bench_gbt.py folds CSV LABEL POSITIVE OUT [SEP]
      writes the fold (0-4) of every row, one per line: the StratifiedKFold(5, shuffle=True,
      random_state=0) split of ../shared/bench/tabular_baselines.py, which depends only on the
      labels, computed from the labels the same way.
  bench_gbt.py gen X.f64 Y.f64 [N] [D]
      writes the random table of ../shared/bench/fit_anchors.py (numpy seed 0, N x D standard
      normal, logistic labels with an x0*x1 interaction) as little-endian float64, row-major.
  bench_gbt.py fit X.f64 Y.f64 N D [TREES] [DEPTH]
      times XGBoost (hist, lr 0.05, 2 threads, as fit_anchors.py) on that table; prints JSON.
"""
import json, sys, time
import numpy as np

cmd = sys.argv[1]
if cmd == "folds":
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold
    path, label, positive, out = sys.argv[2:6]
    sep = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else ","
    df = pd.read_csv(path, sep=sep)
    y = (df[label].astype(str).str.strip() == positive).astype(int).values
    fold = np.zeros(len(y), dtype=int)
    for k, (_, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros((len(y), 1)), y)):
        fold[te] = k
    np.savetxt(out, fold, fmt="%d")
elif cmd == "gen":
    xp, yp = sys.argv[2:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    d = int(sys.argv[5]) if len(sys.argv) > 5 else 40
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) * 0.3
    z = X @ w + 0.5 * X[:, 0] * X[:, 1] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    X.astype("<f8").tofile(xp)
    y.astype("<f8").tofile(yp)
elif cmd == "fit":
    import xgboost as xgb
    xp, yp, n, d = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    trees = int(sys.argv[6]) if len(sys.argv) > 6 else 300
    depth = int(sys.argv[7]) if len(sys.argv) > 7 else 4
    X = np.fromfile(xp, dtype="<f8").reshape(n, d)
    y = np.fromfile(yp, dtype="<f8")
    t, c = time.perf_counter(), time.process_time()
    g = xgb.XGBClassifier(n_estimators=trees, max_depth=depth, learning_rate=0.05, tree_method="hist", n_jobs=2).fit(X, y)
    fit_s, fit_cpu_s = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    g.predict_proba(X)
    pred_s = time.perf_counter() - t
    print(json.dumps({"peer": "xgboost_hist", "rows": n, "features": d, "fit_s": round(fit_s, 3), "fit_cpu_s": round(fit_cpu_s, 3),
                      "predict_rows_per_s": round(n / pred_s)}))
else:
    sys.exit(__doc__)
