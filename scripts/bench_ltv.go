//go:build ignore

// Command bench_ltv writes a synthetic transactions file for the lifetime-value benchmark:
// N customers whose purchases follow BG/NBD (Fader, Hardie & Lee 2005) in days, with spend
// from Gamma-Gamma (Fader & Hardie 2013). First purchases are uniform over the year before
// the calibration end (2024-12-31); the history runs to 2025-06-30 (holdout). It writes
// DIR/tx.csv (customer_id,date,amount), DIR/tx.parquet (customer_id int64, date DATE,
// amount double) and DIR/generator.json with the true parameters (α in days).
//
//	go run scripts/bench_ltv.go DIR [N] [SEED]
//
// With "synth" it instead checks parameter recovery on the project's generator (data/synth)
// with one BG/NBD parameter set for every persona (weekly; r 0.5, α 6, a 0.7, b 3): it
// generates CONTACTS people into DIR, fits the transactions calibrated to the day before the
// as-of time, and prints estimates, standard errors and z-scores against the truth as JSON.
//
//	go run scripts/bench_ltv.go synth DIR [CONTACTS]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/training/ltv"
)

type row struct {
	Customer int64   `parquet:"customer_id"`
	Date     int32   `parquet:"date,date"`
	Amount   float64 `parquet:"amount"`
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "synth" {
		synthRecovery(os.Args[2:])
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/bench_ltv.go DIR [N] [SEED]")
		os.Exit(2)
	}
	dir := os.Args[1]
	n, seed := 1_000_000, uint64(1)
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		s, _ := strconv.Atoi(os.Args[3])
		seed = uint64(s)
	}
	truth := map[string]any{
		"bgnbd":           map[string]float64{"r": 0.25, "alpha": 30, "a": 0.8, "b": 2.4},
		"bgnbd_time_unit": "day",
		"gamma_gamma":     map[string]float64{"p": 6, "q": 3.7, "gamma": 15},
		"customers":       n, "seed": seed,
		"calibration_end": "2024-12-31", "holdout_end": "2025-06-30",
	}
	calEnd := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	holdEnd := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	calDay := calEnd.Unix() / 86400
	endDay := holdEnd.Unix() / 86400
	src := rand.NewPCG(seed, 2024)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: 0.25, Beta: 30, Src: src}
	ga := distuv.Gamma{Alpha: 0.8, Beta: 1, Src: src}
	gb := distuv.Gamma{Alpha: 2.4, Beta: 1, Src: src}
	nu := distuv.Gamma{Alpha: 3.7, Beta: 15, Src: src}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	cf, err := os.Create(filepath.Join(dir, "tx.csv"))
	if err != nil {
		panic(err)
	}
	cw := bufio.NewWriterSize(cf, 1<<20)
	cw.WriteString("customer_id,date,amount\n")
	pf, err := os.Create(filepath.Join(dir, "tx.parquet"))
	if err != nil {
		panic(err)
	}
	pw := parquet.NewGenericWriter[row](pf, parquet.Compression(&parquet.Snappy))
	var buf []row
	rows := 0
	emit := func(c int64, day int64, amt float64) {
		amt = math.Round(amt*100) / 100
		buf = append(buf, row{c, int32(day), amt})
		cw.WriteString(strconv.FormatInt(c, 10))
		cw.WriteByte(',')
		cw.WriteString(time.Unix(day*86400, 0).UTC().Format("2006-01-02"))
		cw.WriteByte(',')
		cw.WriteString(strconv.FormatFloat(amt, 'f', 2, 64))
		cw.WriteByte('\n')
		rows++
		if len(buf) == 65536 {
			if _, err := pw.Write(buf); err != nil {
				panic(err)
			}
			buf = buf[:0]
		}
	}
	for c := range int64(n) {
		l := lam.Rand()
		x, y := ga.Rand(), gb.Rand()
		p := x / (x + y)
		spend := distuv.Gamma{Alpha: 6, Beta: nu.Rand(), Src: src}
		first := float64(calDay-364) + 365*rng.Float64() // continuous time in days
		emit(c+1, int64(first), spend.Rand())
		t := first
		for {
			t += rng.ExpFloat64() / l
			if t >= float64(endDay+1) || math.IsInf(t, 0) {
				break
			}
			emit(c+1, int64(t), spend.Rand())
			if rng.Float64() < p {
				break
			}
		}
	}
	if _, err := pw.Write(buf); err != nil {
		panic(err)
	}
	if err := pw.Close(); err != nil {
		panic(err)
	}
	pf.Close()
	cw.Flush()
	cf.Close()
	truth["rows"] = rows
	b, _ := json.MarshalIndent(truth, "", "  ")
	os.WriteFile(filepath.Join(dir, "generator.json"), append(b, '\n'), 0o644)
	fmt.Fprintf(os.Stderr, "wrote %d transactions of %d customers to %s\n", rows, n, dir)
}

func synthRecovery(args []string) {
	dir, contacts := args[0], 20000
	if len(args) > 1 {
		contacts, _ = strconv.Atoi(args[1])
	}
	truth := synth.BGNBD{R: 0.5, Alpha: 6, A: 0.7, B: 3}
	opts := synth.Options{Contacts: contacts, Purchases: &truth}
	if _, err := synth.Generate(context.Background(), dir, opts); err != nil {
		panic(err)
	}
	asOf := opts.EnsureDefaults().AsOf
	res, err := ltv.Run(context.Background(), ltv.Options{
		Transactions:   filepath.Join(dir, "transactions.parquet"),
		CalibrationEnd: asOf.AddDate(0, 0, -1),
		Period:         btyd.Week,
	})
	if err != nil {
		panic(err)
	}
	bg := res.BGNBD
	out := map[string]any{"customers": res.Customers, "truth": truth, "fit": bg}
	if se := bg.StdErrors; se != nil {
		out["z"] = map[string]float64{
			"r": (bg.R - truth.R) / se.R, "alpha": (bg.Alpha - truth.Alpha) / se.Alpha,
			"a": (bg.A - truth.A) / se.A, "b": (bg.B - truth.B) / se.B,
		}
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Println(string(b))
}
