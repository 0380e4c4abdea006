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
  bench_gbt.py cvpredict CSV LABEL POSITIVE FOLDS [DROP,COLS]
      fits the XGBoost model of ../shared/bench/tabular_baselines.py (same features, settings
      and folds) on every fold and times predict_proba on its held-out rows alone; prints the
      held-out rows per second of prediction, for comparison with gbtbench cv's.
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
elif cmd == "cvpredict":
    import pandas as pd
    import xgboost as xgb
    path, label, positive, folds = sys.argv[2:6]
    drop = [c for c in (sys.argv[6].split(",") if len(sys.argv) > 6 else []) if c]
    # The features exactly as tabular_baselines.py builds them.
    df = pd.read_csv(path)
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    y = (df[label].astype(str).str.strip() == positive).astype(int).values
    X = df.drop(columns=[label] + drop)
    for c in X.columns:
        if X[c].dtype == object:
            num = pd.to_numeric(X[c].str.strip(), errors="coerce")
            if num.notna().mean() > 0.95:
                X[c] = num
    X = pd.get_dummies(X, dummy_na=True).astype(float)
    X = X.fillna(X.median())
    Xv = X.values
    fold = np.loadtxt(folds, dtype=int)
    rows, secs = 0, 0.0
    for k in range(5):
        tr, te = np.where(fold != k)[0], np.where(fold == k)[0]
        m = xgb.XGBClassifier(n_estimators=300, learning_rate=0.05, max_depth=4, subsample=0.8, colsample_bytree=0.8,
                              tree_method="hist", n_jobs=2, eval_metric="logloss").fit(Xv[tr], y[tr])
        t = time.perf_counter()
        m.predict_proba(Xv[te])
        secs += time.perf_counter() - t
        rows += len(te)
    print(json.dumps({"peer": "xgboost_hist", "rows": rows, "predict_s": round(secs, 3), "predict_rows_per_s": round(rows / secs)}))
else:
    sys.exit(__doc__)
