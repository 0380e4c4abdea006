package gbt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/propensity-dev/propensity/models/frame"
)

func BenchmarkFit(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		X, y := synth(n, 1)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Fit(X, y, nil, Options{Trees: 100, Subsample: 0.8, ColSample: 0.8, Threads: 2}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	X, y := synth(100_000, 1)
	m, err := Fit(X, y, nil, Options{Trees: 300, Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.PredictLogOdds(X); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(X.Rows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkContributions(b *testing.B) {
	X, y := synth(10_000, 1)
	m, err := Fit(X, y, nil, Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	r := 0
	for b.Loop() {
		if _, _, err := m.Contributions(X, r%X.Rows()); err != nil {
			b.Fatal(err)
		}
		r++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// wide is the shape of the peer script fit_anchors.py (docs/performance.md): d standard normal columns and
// logistic labels with an x0·x1 interaction.
func wide(n, d int, seed uint64) (*frame.Frame, []float64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	w := make([]float64, d)
	for j := range w {
		w[j] = 0.3 * rng.NormFloat64()
	}
	X := &frame.Frame{}
	cols := make([][]float64, d)
	for j := range cols {
		cols[j] = make([]float64, n)
		X.AddNumeric(fmt.Sprintf("x%d", j), cols[j])
	}
	y := make([]float64, n)
	for i := range n {
		z := -1.0
		for j := range d {
			v := rng.NormFloat64()
			cols[j][i] = v
			z += w[j] * v
		}
		z += 0.5 * cols[0][i] * cols[1][i]
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return X, y
}

func BenchmarkFitWide(b *testing.B) {
	X, y := wide(200_000, 40, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(X, y, nil, Options{Trees: 50, LearningRate: 0.05, Threads: 2}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(X.Rows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkOnlineShoppers times one fold of scripts/bench_gbt.sh's cross-validation on UCI
// Online Shoppers (categorical columns native): fit on 80% of the rows with the script's
// settings, predict the other 20%.
func BenchmarkOnlineShoppers(b *testing.B) {
	X, y := readCSV(b, filepath.Join(datasets(b), "online_shoppers", "online_shoppers_intention.csv"), "Revenue", "TRUE")
	folds := stratifiedFolds(y, 5, 1)
	var tr, te []int
	for i, f := range folds {
		if f == 0 {
			te = append(te, i)
		} else {
			tr = append(tr, i)
		}
	}
	Xtr, Xte := X.Take(tr), X.Take(te)
	ytr := make([]float64, len(tr))
	for i, r := range tr {
		ytr[i] = y[r]
	}
	o := Options{Trees: 300, MaxDepth: 4, LearningRate: 0.05, Subsample: 0.8, ColSample: 0.8, Threads: 2, Seed: 1}
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("fit/threads=%d", th), func(b *testing.B) {
			o := o
			o.Threads = th
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Fit(Xtr, ytr, nil, o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tr))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	m, err := Fit(Xtr, ytr, nil, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("predict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.PredictLogOdds(Xte); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(te))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkShapTables measures building the TreeSHAP tables of the default model, which the
// first explained row of a model pays for: the per-leaf increments alone, and with the
// grouped tables made from them (what shapTables builds).
func BenchmarkShapTables(b *testing.B) {
	X, y := synth(10_000, 1)
	m, err := Fit(X, y, nil, Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("leaves", func(b *testing.B) {
		for b.Loop() {
			for _, t := range m.trees {
				buildShapTable(&t.tree)
			}
		}
	})
	b.Run("grouped", func(b *testing.B) {
		for b.Loop() {
			for _, t := range m.trees {
				groupShapTable(&t.tree, buildShapTable(&t.tree))
			}
		}
	})
}
