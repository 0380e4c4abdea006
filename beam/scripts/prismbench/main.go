// Command prismbench measures the features job on Prism next to the embedded build, on one
// machine: each mode runs in its own process and prints one JSON line with its wall time and
// peak resident memory (VmHWM), so the numbers of one mode do not include another's.
//
//	prismbench gen      -dir D -contacts N    # generate a history (data/synth)
//	prismbench embedded -dir D                # history.Build + WriteParquet
//	prismbench prism    -dir D                # the Beam features job on Prism, in process
//
// Run it under GOMAXPROCS=k to give the process k cores: Prism runs at most 8 bundles at once
// and has no other parallelism setting. docs/scale-out.md has the results.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/propensity-dev/propensity/beam/pipeline"
	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
)

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-") { // a runner's worker
		flag.Parse()
		beam.Init()
		os.Exit(2)
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: prismbench gen|embedded|prism -dir D [-contacts N]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	dir := fs.String("dir", "", "history directory")
	contacts := fs.Int("contacts", 1_000_000, "contacts to generate (gen)")
	flag.CommandLine.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	fs.Parse(os.Args[2:])
	ctx := context.Background()
	opts := features.Options{AsOf: synth.DefaultAsOf(), Horizon: 90 * 24 * time.Hour}
	began := time.Now()
	var err error
	extra := map[string]any{}
	switch mode {
	case "gen":
		var sum *synth.Summary
		sum, err = synth.Generate(ctx, *dir, synth.Options{Contacts: *contacts})
		if err == nil {
			extra["events"], extra["transactions"] = sum.Events, sum.Transactions
		}
	case "embedded":
		var t *history.Table
		if t, _, err = history.Build(ctx, *dir, opts); err == nil {
			err = history.WriteParquet(filepath.Join(os.TempDir(), "prismbench-embedded.parquet"), t)
			extra["people"] = t.Len()
		}
	case "prism":
		out, _ := os.MkdirTemp("", "prismbench-out-")
		defer os.RemoveAll(out)
		var p *beam.Pipeline
		if p, err = pipeline.Features(pipeline.Config{Dir: *dir, Opts: opts, Out: out, Shards: 8}); err == nil {
			beam.Init()
			var res beam.PipelineResult
			if res, err = beam.Run(ctx, "prism", p); err == nil {
				extra["stitch_rounds_needed"], _ = pipeline.StitchRounds(res, 12)
			}
		}
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rec := map[string]any{"mode": mode, "gomaxprocs": runtime.GOMAXPROCS(0), "seconds": time.Since(began).Seconds(), "peak_rss_mb": peakRSS()}
	for k, v := range extra {
		rec[k] = v
	}
	b, _ := json.Marshal(rec)
	fmt.Println(string(b))
}

// peakRSS is the process's peak resident set (VmHWM) in MB, 0 where /proc is missing.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb float64
		if _, err := fmt.Sscanf(sc.Text(), "VmHWM: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}
