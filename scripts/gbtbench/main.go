// Command gbtbench measures propensity's gradient-boosted trees (models/gbt) against the
// numbers of the XGBoost peer; scripts/bench_gbt.sh runs both side by side.
//
//	gbtbench cv -csv FILE -label COL -positive VALUE -folds FOLDS [-drop a,b] [-onehot] ...
//	gbtbench synth -x X.f64 -y Y.f64 -rows N -cols D ...
//
// cv runs 5-fold cross-validation on the folds written by `bench_gbt.py folds` (the peer's
// StratifiedKFold) with the features prepared as ../shared/bench/tabular_baselines.py does:
// a text column where more than 95% of values parse as numbers is numeric (the rest missing);
// other text columns are categorical, fed natively or, with -onehot, as pandas.get_dummies
// (dummy_na=True) indicators with numeric gaps filled by the column median; it reports the
// folds' fit + predict seconds and, apart, their predict seconds and rows per second, and can
// write the out-of-fold probabilities (-predictions) and a CPU profile (-cpuprofile). synth
// times Fit and PredictLogOdds on the table written by `bench_gbt.py gen`. Both print one JSON
// line.
package main

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/gbt"
	"github.com/propensity-dev/propensity/models/metrics"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gbtbench cv|synth [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "cv":
		err = cv(os.Args[2:])
	case "synth":
		err = synth(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gbtbench:", err)
		os.Exit(1)
	}
}

func modelFlags(fs *flag.FlagSet) *gbt.Options {
	o := &gbt.Options{}
	fs.IntVar(&o.Trees, "trees", 300, "trees")
	fs.IntVar(&o.MaxDepth, "depth", 4, "max depth")
	fs.IntVar(&o.MaxLeaves, "leaves", 0, "max leaves (0: depth-wise)")
	fs.Float64Var(&o.LearningRate, "lr", 0.05, "learning rate")
	fs.Float64Var(&o.Subsample, "subsample", 0.8, "row subsample")
	fs.Float64Var(&o.ColSample, "colsample", 0.8, "column subsample")
	fs.IntVar(&o.Threads, "threads", 2, "threads")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed")
	fs.IntVar(&o.MaxBins, "bins", 255, "max bins")
	return o
}

func cv(args []string) error {
	fs := flag.NewFlagSet("cv", flag.ExitOnError)
	path := fs.String("csv", "", "CSV file")
	label := fs.String("label", "", "label column")
	positive := fs.String("positive", "", "label value meaning 1 (compared after trimming, case-insensitively)")
	drop := fs.String("drop", "", "comma-separated columns to drop")
	foldsPath := fs.String("folds", "", "file with the fold of every row")
	onehot := fs.Bool("onehot", false, "one-hot categorical columns and fill numeric gaps with medians, as the peer")
	o := modelFlags(fs)
	prof := fs.String("cpuprofile", "", "write a CPU profile of the folds' Fit and Predict here")
	predOut := fs.String("predictions", "", "write every row's out-of-fold probability here, one a line")
	fs.Parse(args)
	X, y, err := readCSV(*path, *label, *positive, strings.Split(*drop, ","), *onehot)
	if err != nil {
		return err
	}
	folds, err := readFolds(*foldsPath, len(y))
	if err != nil {
		return err
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var aucs, lls []float64
	var secs, predSecs float64
	predRows := 0
	oof := make([]float64, len(y))
	for k := 0; k < 5; k++ {
		var tr, te []int
		for i, f := range folds {
			if f == k {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		Xtr, Xte := X.Take(tr), X.Take(te)
		ytr, yte := pick(y, tr), pick(y, te)
		t0 := time.Now()
		m, err := gbt.Fit(Xtr, ytr, nil, *o)
		if err != nil {
			return err
		}
		t1 := time.Now()
		p, err := m.Predict(Xte)
		if err != nil {
			return err
		}
		secs += time.Since(t0).Seconds()
		predSecs += time.Since(t1).Seconds()
		predRows += len(te)
		for i, r := range te {
			oof[r] = p[i]
		}
		aucs = append(aucs, auc(yte, p))
		lls = append(lls, logloss(yte, p))
	}
	if *predOut != "" {
		var b strings.Builder
		for _, p := range oof {
			b.WriteString(strconv.FormatFloat(p, 'g', -1, 64))
			b.WriteByte('\n')
		}
		if err := os.WriteFile(*predOut, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	mode := "native"
	if *onehot {
		mode = "onehot"
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"model": "propensity_gbt", "categorical": mode, "rows": len(y), "features": len(X.Columns),
		"auc": round(mean(aucs), 4), "auc_sd": round(sd(aucs), 4), "logloss": round(mean(lls), 4),
		"fit_predict_s": round(secs, 3), "predict_s": round(predSecs, 3),
		"predict_rows_per_s": math.Round(float64(predRows) / predSecs),
	})
}

func synth(args []string) error {
	fs := flag.NewFlagSet("synth", flag.ExitOnError)
	xp := fs.String("x", "", "row-major little-endian float64 matrix")
	yp := fs.String("y", "", "labels, little-endian float64")
	n := fs.Int("rows", 1_000_000, "rows")
	d := fs.Int("cols", 40, "columns")
	o := modelFlags(fs)
	prof := fs.String("cpuprofile", "", "write a CPU profile of Fit and PredictLogOdds here")
	fs.Parse(args)
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	xs, err := readF64(*xp, *n**d)
	if err != nil {
		return err
	}
	y, err := readF64(*yp, *n)
	if err != nil {
		return err
	}
	X := &frame.Frame{}
	for j := range *d {
		c := make([]float64, *n)
		for i := range c {
			c[i] = xs[i**d+j]
		}
		X.AddNumeric(fmt.Sprintf("x%d", j), c)
	}
	xs = nil
	t0, c0 := time.Now(), cpuSeconds()
	m, err := gbt.Fit(X, y, nil, *o)
	if err != nil {
		return err
	}
	fit, fitCPU := time.Since(t0).Seconds(), cpuSeconds()-c0
	t0 = time.Now()
	p, err := m.PredictLogOdds(X)
	if err != nil {
		return err
	}
	pred := time.Since(t0).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"model": "propensity_gbt", "rows": *n, "features": *d, "fit_s": round(fit, 3), "fit_cpu_s": round(fitCPU, 3),
		"predict_rows_per_s": math.Round(float64(*n) / pred), "train_auc": round(auc(y, p), 4),
	})
}

// cpuSeconds is the user and system CPU time of the process so far: on a shared machine it
// is steadier than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func readF64(path string, n int) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != 8*n {
		return nil, fmt.Errorf("%s: %d bytes, want %d", path, len(b), 8*n)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func readFolds(path string, n int) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(b))
	if len(lines) != n {
		return nil, fmt.Errorf("%s: %d folds for %d rows", path, len(lines), n)
	}
	out := make([]int, n)
	for i, l := range lines {
		if out[i], err = strconv.Atoi(l); err != nil || out[i] < 0 || out[i] > 4 {
			return nil, fmt.Errorf("%s line %d: bad fold %q", path, i+1, l)
		}
	}
	return out, nil
}

// readCSV loads a table the way tabular_baselines.py prepares it (see the command doc).
func readCSV(path, label, positive string, drop []string, onehot bool) (*frame.Frame, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, nil, err
	}
	cols := make([][]string, len(header))
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		for j, v := range rec {
			cols[j] = append(cols[j], strings.TrimSpace(v))
		}
	}
	li := slices.Index(header, label)
	if li < 0 {
		return nil, nil, fmt.Errorf("no column %q", label)
	}
	y := make([]float64, len(cols[li]))
	for i, v := range cols[li] {
		if strings.EqualFold(v, positive) {
			y[i] = 1
		}
	}
	X := &frame.Frame{}
	for j, name := range header {
		if j == li || slices.Contains(drop, name) || strings.HasPrefix(name, "Unnamed") {
			continue
		}
		vals := cols[j]
		num := make([]float64, len(vals))
		ok := 0
		for i, v := range vals {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || v == "" {
				num[i] = math.NaN()
				continue
			}
			num[i] = x
			ok++
		}
		isBool := true
		for _, v := range vals {
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				isBool = false
				break
			}
		}
		switch {
		case float64(ok) > 0.95*float64(len(vals)):
			if onehot {
				fillMedian(num)
			}
			X.AddNumeric(name, num)
		case isBool && onehot: // pandas reads TRUE/FALSE as bool, kept as one 0/1 column
			for i, v := range vals {
				num[i] = 0
				if strings.EqualFold(v, "true") {
					num[i] = 1
				}
			}
			X.AddNumeric(name, num)
		case onehot:
			levels := map[string]bool{}
			for _, v := range vals {
				if v != "" {
					levels[v] = true
				}
			}
			names := make([]string, 0, len(levels))
			for l := range levels {
				names = append(names, l)
			}
			slices.Sort(names)
			names = append(names, "")
			for _, l := range names {
				d := make([]float64, len(vals))
				for i, v := range vals {
					if v == l {
						d[i] = 1
					}
				}
				suffix := l
				if l == "" {
					suffix = "nan"
				}
				X.AddNumeric(name+"_"+suffix, d)
			}
		default:
			X.AddCategorical(name, vals)
		}
	}
	return X, y, nil
}

func fillMedian(v []float64) {
	var ok []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			ok = append(ok, x)
		}
	}
	if len(ok) == len(v) || len(ok) == 0 {
		return
	}
	slices.Sort(ok)
	med := ok[len(ok)/2]
	if len(ok)%2 == 0 {
		med = (ok[len(ok)/2-1] + ok[len(ok)/2]) / 2
	}
	for i, x := range v {
		if math.IsNaN(x) {
			v[i] = med
		}
	}
}

func pick(v []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}

// auc is metrics.AUC (ties count half) of unweighted scores.
func auc(y, score []float64) float64 {
	v, err := metrics.AUC(y, score, nil)
	if err != nil {
		panic(err) // one class only: the callers' data always has both
	}
	return v
}

func logloss(y, p []float64) float64 {
	var s float64
	for i := range y {
		q := min(max(p[i], 1e-15), 1-1e-15)
		s -= y[i]*math.Log(q) + (1-y[i])*math.Log(1-q)
	}
	return s / float64(len(y))
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func sd(v []float64) float64 {
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)))
}

func round(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}
