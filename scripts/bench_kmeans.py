#!/usr/bin/python3
"""Peer side of scripts/bench_kmeans.sh: writes (gen) or fits (fit) the benchmark matrix.
  bench_kmeans.py gen FILE [N] [D]   1,000,000 x 20 standard normal float64, little-endian,
                                     row-major, from numpy default_rng(0) (as fit_anchors.py)
  bench_kmeans.py fit FILE D K       scikit-learn KMeans(K, n_init=10, lloyd) fit seconds"""
import sys, time, json
import numpy as np
if sys.argv[1] == "gen":
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    d = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    np.random.default_rng(0).standard_normal((n, d)).astype("<f8").tofile(sys.argv[2])
else:
    from sklearn.cluster import KMeans
    d, k = int(sys.argv[3]), int(sys.argv[4])
    X = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, d)
    t = time.perf_counter()
    km = KMeans(k, n_init=10, random_state=0, algorithm="lloyd").fit(X)
    print(json.dumps({"peer": "sklearn", "fit_s": round(time.perf_counter() - t, 3),
                      "inertia": float(km.inertia_), "iter": int(km.n_iter_)}))
