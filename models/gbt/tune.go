package gbt

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/propensity-dev/propensity/models/frame"
)

// Grid is the search space of Tune. Nil lists take their defaults.
type Grid struct {
	// Base holds the options not searched (Validation is ignored).
	Base Options
	// MaxDepth values to try. nil means {3, 4, 6}.
	MaxDepth []int
	// LearningRate values to try. nil means {0.025, 0.05, 0.1}.
	LearningRate []float64
}

// TuneScore is the cross-validated score of one grid point.
type TuneScore struct {
	MaxDepth     int     `json:"max_depth"`
	LearningRate float64 `json:"learning_rate"`
	LogLoss      float64 `json:"log_loss"` // weighted mean over the held-out rows of all folds
}

// TuneResult is what Tune found.
type TuneResult struct {
	Best   Options     // Grid.Base with the best depth and learning rate
	Scores []TuneScore // every grid point, in search order
}

// Tune picks the depth and learning rate of the grid with the least cross-validated log-loss
// (the loss Fit minimises), over k stratified folds drawn with seed. Ties go to the earlier
// grid point.
func Tune(X *frame.Frame, y, w []float64, grid Grid, k int, seed uint64) (*TuneResult, error) {
	n, err := checkData(X, y, w)
	if err != nil {
		return nil, err
	}
	if k < 2 || k > n {
		return nil, fmt.Errorf("%w: %d folds for %d rows", ErrOptions, k, n)
	}
	depths, rates := grid.MaxDepth, grid.LearningRate
	if depths == nil {
		depths = []int{3, 4, 6}
	}
	if rates == nil {
		rates = []float64{0.025, 0.05, 0.1}
	}
	base := grid.Base
	base.Validation = nil
	if err := base.EnsureDefaults().Validate(); err != nil {
		return nil, err
	}

	// Stratified folds: shuffle each class, deal its rows round-robin.
	rng := rand.New(rand.NewPCG(seed, 0x7475_6e65))
	fold := make([]int, n)
	for _, positive := range []bool{false, true} {
		var idx []int
		for i, v := range y {
			if (v >= 0.5) == positive {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for j, i := range idx {
			fold[i] = j % k
		}
	}
	type split struct {
		X, Xt  *frame.Frame
		y, w   []float64
		yt, wt []float64
	}
	splits := make([]split, k)
	for f := range k {
		var tr, te []int
		for i, g := range fold {
			if g == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		s := split{X: X.Take(tr), Xt: X.Take(te), y: pick(y, tr), yt: pick(y, te)}
		if w != nil {
			s.w, s.wt = pick(w, tr), pick(w, te)
		}
		splits[f] = s
	}

	res := &TuneResult{}
	best := math.Inf(1)
	for _, d := range depths {
		for _, lr := range rates {
			o := base
			o.MaxDepth, o.LearningRate = d, lr
			var loss, sw float64
			for _, s := range splits {
				m, err := Fit(s.X, s.y, s.w, o)
				if err != nil {
					return nil, fmt.Errorf("depth %d, learning rate %g: %w", d, lr, err)
				}
				F, err := m.PredictLogOdds(s.Xt)
				if err != nil {
					return nil, err
				}
				for i, z := range F {
					wi := 1.0
					if s.wt != nil {
						wi = s.wt[i]
					}
					loss += wi * (max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - s.yt[i]*z)
					sw += wi
				}
			}
			sc := TuneScore{MaxDepth: d, LearningRate: lr, LogLoss: loss / sw}
			res.Scores = append(res.Scores, sc)
			if sc.LogLoss < best {
				best, res.Best = sc.LogLoss, o
			}
		}
	}
	return res, nil
}

func pick(v []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}
