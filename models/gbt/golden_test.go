package gbt

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden_predictions.json")

// TestGoldenPredictions fits a few models on synth data and compares their predictions, bit
// for bit, with testdata/golden_predictions.json. The file was written by the plain
// implementation that preceded the fast paths (binned prediction, the reworked histogram,
// gradient and update passes), so it shows that they change no number; regenerate it with -update only for a
// change meant to change the models. The values are IEEE results of amd64 code: compilers for
// other architectures may fuse a multiply and an add (as the Go spec allows), changing last
// bits, so the comparison runs on amd64 only.
func TestGoldenPredictions(t *testing.T) {
	if runtime.GOARCH != "amd64" && !*update {
		t.Skip("golden values are for amd64")
	}
	X, y := synth(4000, 41)
	Xt, _ := synth(300, 42)
	// Holes and unseen categories beyond synth's.
	rng := rand.New(rand.NewPCG(43, 44))
	for i := range Xt.Rows() {
		switch rng.IntN(6) {
		case 0:
			Xt.Column("b").Num[i] = math.NaN()
		case 1:
			Xt.Column("colour").Cat[i] = "violet"
		case 2:
			Xt.Column("noise").Num[i] = math.Inf(2*rng.IntN(2) - 1)
		}
	}
	w := make([]float64, len(y))
	for i := range w {
		w[i] = 0.25 + rng.Float64()
	}
	Xv, yv := synth(1000, 45)
	cases := []struct {
		name   string
		o      Options
		w      []float64
		shrink int
	}{
		{"defaults", Options{Trees: 50, Seed: 1}, nil, 1},
		{"subsampled", Options{Trees: 50, Subsample: 0.8, ColSample: 0.75, Threads: 2, Seed: 2}, nil, 1},
		{"parallel paths", Options{Trees: 30, Subsample: 0.7, ColSample: 0.75, Threads: 3, Seed: 3}, nil, 1000},
		{"leaf-wise", Options{Trees: 30, MaxDepth: 8, MaxLeaves: 12, Subsample: 0.9, Seed: 4}, nil, 1},
		{"weighted", Options{Trees: 30, MaxBins: 32, L2: 0.3, Seed: 5}, w, 1},
		{"early stopping", Options{Trees: 400, LearningRate: 0.3, MaxDepth: 6, Validation: &Dataset{X: Xv, Y: yv}, Seed: 6}, nil, 1},
	}
	got := map[string][]string{}
	for _, c := range cases {
		m, err := fit(X, y, c.w, c.o, c.shrink)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.PredictLogOdds(Xt)
		if err != nil {
			t.Fatal(err)
		}
		s := make([]string, len(p))
		for i, v := range p {
			s[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		got[c.name] = s
	}
	path := filepath.Join("testdata", "golden_predictions.json")
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		g, w := got[c.name], want[c.name]
		if len(g) != len(w) {
			t.Errorf("%s: %d predictions, golden file has %d", c.name, len(g), len(w))
			continue
		}
		bad := 0
		for i := range g {
			if g[i] != w[i] {
				if bad++; bad <= 3 {
					t.Errorf("%s row %d: log-odds %s, golden %s", c.name, i, g[i], w[i])
				}
			}
		}
		if bad > 3 {
			t.Errorf("%s: %d of %d predictions differ", c.name, bad, len(g))
		}
	}
}
