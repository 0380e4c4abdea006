package gbt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistPassesAgree checks every histogram pass (the assembly kernels where the platform
// has them, and the Go ones) against a plain per-row sum, bit for bit: over all rows in order
// and over a sorted subset, for each width, for lengths around the kernels' loop ends, and
// with runs of equal bins (the one-hot case) mixed with the full range of bins.
func TestHistPassesAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 3000
	cols := make([][]uint8, 8)
	for i := range cols {
		cols[i] = make([]uint8, n)
		for r := range cols[i] {
			if i%2 == 0 && rng.IntN(10) < 8 {
				continue // bin 0: runs of equal bins
			}
			cols[i][r] = uint8(rng.IntN(256))
		}
	}
	gp := make([]gh, n)
	for r := range gp {
		gp[r] = gh{rng.NormFloat64() * math.Exp(rng.NormFloat64()*5), rng.Float64()}
	}
	var sub []int32
	for r := range int32(n) {
		if rng.IntN(3) == 0 {
			sub = append(sub, r)
		}
	}
	for _, k := range []int{1, 2, 4, 8} {
		for _, m := range []int{0, 1, 2, 3, 5, 64, 999} {
			for _, subset := range []bool{false, true} {
				t.Run(fmt.Sprintf("width=%d/rows=%d/subset=%v", k, m, subset), func(t *testing.T) {
					var rows []int32
					og := gp[:m]
					if subset {
						rows = sub[:min(m, len(sub))]
						og = make([]gh, len(rows))
						for j, r := range rows {
							og[j] = gp[r]
						}
					}
					var want [8][256]gh
					for i := range k {
						for j := range og {
							r := j
							if rows != nil {
								r = int(rows[j])
							}
							b := cols[i][r]
							want[i][b].g += og[j].g
							want[i][b].h += og[j].h
						}
					}
					for _, asm := range []bool{false, true} {
						var got [8][256]gh
						var hs [8]*[256]gh
						var cs [8][]uint8
						for i := range k {
							hs[i] = &got[i]
							cs[i] = cols[i]
							if rows == nil {
								cs[i] = cols[i][:m] // all rows in order: as many bins as pairs
							}
						}
						if asm {
							if !histAsm(k, &hs, &cs, rows, og) {
								continue // no kernel for this width or platform
							}
						} else {
							histGo(k, &hs, &cs, rows, og)
						}
						for i := range k {
							if !slices.Equal(got[i][:], want[i][:]) {
								t.Fatalf("asm=%v: column %d differs from the per-row sum", asm, i)
							}
						}
					}
				})
			}
		}
	}
}

// TestHistBlocks checks that hist gives the same histograms, bit for bit, whatever the node
// size relative to its block and width thresholds: a trainer's histogram over all rows and
// over a subset equals the per-row sum.
func TestHistBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{histBlockRows - 1, histBlockRows + 1, 1<<15 + 3*histBlockRows + 17} {
		X, y := synth(n, uint64(n))
		tr := newTrainer(X, n, Options{Threads: 1}.EnsureDefaults(), rng, 1)
		gp := make([]gh, n)
		for r := range gp {
			gp[r] = gh{rng.NormFloat64() - y[r], rng.Float64()}
		}
		var rows []int32
		for r := range int32(n) {
			if rng.IntN(4) != 0 {
				rows = append(rows, r)
			}
		}
		og := make([]gh, len(rows))
		for j, r := range rows {
			og[j] = gp[r]
		}
		fs := make([]int, len(tr.feats))
		for f := range fs {
			fs[f] = f
		}
		for _, c := range []struct {
			name string
			rows []int32
			og   []gh
		}{{"all", nil, gp}, {"subset", rows, og}} {
			dst := make([]gh, 256*len(fs))
			for i := range dst {
				dst[i] = gh{math.NaN(), math.NaN()} // hist must clear what it uses
			}
			tr.hist(fs, c.rows, c.og, dst)
			for _, f := range fs {
				var want [256]gh
				for j, p := range c.og {
					r := j
					if c.rows != nil {
						r = int(c.rows[j])
					}
					b := tr.bins[f][r]
					want[b].g += p.g
					want[b].h += p.h
				}
				if nb := tr.nb[f] + 1; !slices.Equal(dst[256*f:256*f+nb], want[:nb]) {
					t.Errorf("n=%d %s: feature %d differs from the per-row sum", n, c.name, f)
				}
			}
		}
	}
}

// BenchmarkHistPass times one 4- and one 8-column pass over a block of histBlockRows rows
// (all rows in order, random bins: the root of a numeric table), the Go loop against the
// assembly kernel where there is one, in ns per row and column.
func BenchmarkHistPass(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := histBlockRows
	var cols [8][]uint8
	for i := range cols {
		cols[i] = make([]uint8, n)
		for r := range cols[i] {
			cols[i][r] = uint8(rng.IntN(256))
		}
	}
	og := make([]gh, n)
	for r := range og {
		og[r] = gh{rng.NormFloat64(), rng.Float64()}
	}
	var hists [8][256]gh
	var hs [8]*[256]gh
	for i := range hs {
		hs[i] = &hists[i]
	}
	for _, k := range []int{4, 8} {
		for _, asm := range []bool{false, true} {
			if asm && !histAsm(k, &hs, &cols, nil, og) {
				continue
			}
			b.Run(fmt.Sprintf("width=%d/asm=%v", k, asm), func(b *testing.B) {
				for b.Loop() {
					if !asm || !histAsm(k, &hs, &cols, nil, og) {
						histGo(k, &hs, &cols, nil, og)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*k), "ns/row-col")
			})
		}
	}
}
