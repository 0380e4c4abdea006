//go:build ignore

// Command bench_kmeans fits propensity's k-means (10 k-means++ restarts, Lloyd) to the
// matrix written by `bench_kmeans.py gen` and prints the fit time as JSON. Run through
// scripts/bench_kmeans.sh, which times scikit-learn on the same file.
//
//	go run scripts/bench_kmeans.go FILE DIM K
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/propensity-dev/propensity/models/kmeans"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench_kmeans FILE DIM K")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dim, _ := strconv.Atoi(os.Args[2])
	k, _ := strconv.Atoi(os.Args[3])
	x := make([]float64, len(raw)/8)
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	start := time.Now()
	r, err := kmeans.Fit(x, dim, k, kmeans.Settings{Restarts: 10}, rand.NewPCG(0, 0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"peer": "propensity", "fit_s": math.Round(time.Since(start).Seconds()*1000) / 1000,
		"inertia": r.Inertia, "iter": r.Iterations,
	})
}
