package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/propensity-dev/propensity/serving"
	"github.com/propensity-dev/propensity/serving/batch"
	"github.com/propensity-dev/propensity/training/personas"
)

// personasScores scores every person of the history with the conversion, churn and LTV
// models of modelsDir (the persona model there, if any, is not loaded: it is the one being
// rebuilt) by the batch scorer of `propensity score --data`, and returns the scores in the
// order of ids for personas.csv. A kind missing from the directory is simply absent.
func personasScores(ctx context.Context, env *cliEnv, modelsDir, data string, asOf time.Time, ids []string) ([]personas.ScoreColumn, error) {
	if st, err := os.Stat(modelsDir); err != nil || !st.IsDir() {
		return nil, usagef("--models %s: not a readable directory", modelsDir)
	}
	loader := serving.NewLoader(modelsDir, env.log)
	loader.Personas = nil
	set, err := loader.Load(ctx)
	if err != nil {
		return nil, badInput(fmt.Errorf("--models %s: %w", modelsDir, err))
	}
	if set.Conversion == nil && set.Churn == nil && set.LTV == nil {
		env.log.Warn("--models: no conversion, churn or ltv model in the directory; personas.csv has no model columns", "models", modelsDir)
		return nil, nil
	}
	tmp, err := os.MkdirTemp("", "propensity-personas-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "scores.parquet")
	if _, err := batch.Score(ctx, set, batch.Options{Dir: data, AsOf: asOf, Out: file}); err != nil {
		return nil, fmt.Errorf("scoring the history with --models %s: %w", modelsDir, err)
	}
	rows, err := batch.ReadFile(file)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]int, len(rows))
	for i, r := range rows {
		byID[r.ContactID] = i
	}
	cols := []struct {
		name string
		has  bool
		get  func(batch.Row) *float64
	}{
		{"p_convert", set.Conversion != nil, func(r batch.Row) *float64 { return r.PConvert }},
		{"p_churn", set.Churn != nil, func(r batch.Row) *float64 { return r.PChurn }},
		{"p_alive", set.LTV != nil, func(r batch.Row) *float64 { return r.PAlive }},
		{"clv", set.LTV != nil, func(r batch.Row) *float64 { return r.CLV }},
	}
	var out []personas.ScoreColumn
	for _, c := range cols {
		if !c.has {
			continue
		}
		v := make([]float64, len(ids))
		for i, id := range ids {
			v[i] = math.NaN()
			if j, ok := byID[id]; ok {
				if p := c.get(rows[j]); p != nil {
					v[i] = *p
				}
			}
		}
		out = append(out, personas.ScoreColumn{Name: c.name, Values: v})
	}
	return out, nil
}
