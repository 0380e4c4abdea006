//go:build ignore

// bench_logistic times logistic.Fit on the table written by scripts/bench_logistic.py (the
// random 1,000,000 × 40 table of ../shared/bench/fit_anchors.py) and prints one JSON line
// like the Python peer: every fit time, the median, the training AUC.
//
//	/usr/bin/python3 scripts/bench_logistic.py /tmp/lr1m 3
//	go run scripts/bench_logistic.go /tmp/lr1m 3
//
// Both fit the raw (already standard normal) columns with an unpenalised intercept, L2
// penalty 1 (scikit-learn's C=1) and gradient tolerance 1e-4; fit only, reading excluded.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/propensity-dev/propensity/models/logistic"
	"github.com/propensity-dev/propensity/models/metrics"
)

func readF64(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float64", path, len(b))
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/bench_logistic.go DIR [REPEATS]")
		os.Exit(2)
	}
	dir := os.Args[1]
	reps := 3
	if len(os.Args) > 2 {
		if n, err := strconv.Atoi(os.Args[2]); err == nil && n > 0 {
			reps = n
		}
	}
	var shape struct{ Rows, Cols int }
	b, err := os.ReadFile(filepath.Join(dir, "shape.json"))
	if err == nil {
		err = json.Unmarshal(b, &shape)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	x, err := readF64(filepath.Join(dir, "X.f64"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	y, err := readF64(filepath.Join(dir, "y.f64"))
	if err != nil || len(x) != shape.Rows*shape.Cols || len(y) != shape.Rows {
		fmt.Fprintln(os.Stderr, "bad table", err)
		os.Exit(1)
	}
	X := mat.NewDense(shape.Rows, shape.Cols, x)
	var times []float64
	var m *logistic.Model
	for range reps {
		t0 := time.Now()
		m, err = logistic.Fit(X, y, nil, logistic.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		times = append(times, time.Since(t0).Seconds())
	}
	z, err := m.PredictLogOdds(X)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	auc, _ := metrics.AUC(y, z, nil)
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	for i := range times {
		times[i] = math.Round(times[i]*1000) / 1000
	}
	out, _ := json.Marshal(map[string]any{"peer": "propensity_logistic", "fit_s": times,
		"median_s": math.Round(sorted[len(sorted)/2]*1000) / 1000, "auc_train": math.Round(auc*1e5) / 1e5,
		"iterations": m.Iterations})
	fmt.Println(string(out))
}
