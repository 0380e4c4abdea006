package tabular

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/table"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/frame"
)

// ErrScoreTable is wrapped by errors of the models or options of ScoreTableJob.
var ErrScoreTable = errors.New("tabular: score table")

// ScoreTableJob is `propensity score --table FILE --models DIR [--id COL] --out FILE`: it
// scores a table with the models `train --table` wrote, reading it with each model's recorded
// column report (the same decimal marks, date formats, reference date and dropped columns),
// so a row gets the probability it got when the model was trained.
type ScoreTableJob struct {
	Path string // Parquet or CSV table
	// Models is a models directory holding conversion/ and/or churn/ (written by train
	// --table --out), or one artifact directory.
	Models string
	// ID is the identifier column, written first in the output under its own name. Empty
	// means a 1-based row number column "row".
	ID string
	// Out is the output file: CSV when it ends in .csv, else Parquet. Written atomically.
	Out string
	// Read may set the delimiter and missing tokens; the column types come from the models.
	Read ReadOptions
	// ColumnReport receives each model's column report as text; nil means nowhere.
	ColumnReport io.Writer
}

// ScoreTableSummary is what ScoreTableJob did.
type ScoreTableSummary struct {
	Rows    int             `json:"rows"`
	Models  []string        `json:"models"`
	Out     string          `json:"out"`
	Columns []*table.Report `json:"columns"`
}

// scoreColumn is one output column.
type scoreColumn struct {
	name string
	num  []float64
	int  []int64
}

// Run scores the table and writes the output file.
func (j ScoreTableJob) Run(ctx context.Context) (ScoreTableSummary, error) {
	var sum ScoreTableSummary
	models, err := loadTableModels(j.Models)
	if err != nil {
		return sum, err
	}
	var ids []string
	var cols []scoreColumn
	for _, m := range models {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		rec, err := recordedColumns(m)
		if err != nil {
			return sum, err
		}
		ro := j.Read
		ro.Recorded, ro.Overrides, ro.Categorical = rec, nil, nil
		ro.Keep = nil
		if j.ID != "" {
			ro.Keep = []string{j.ID}
		}
		t, err := table.Read(j.Path, ro.table())
		if err != nil {
			return sum, err
		}
		if j.ColumnReport != nil {
			if err := t.Report.WriteText(j.ColumnReport); err != nil {
				return sum, err
			}
		}
		f := Frame(t)
		if ids == nil {
			ids = tableIDs(f, j.ID, t.Rows())
		}
		x, err := m.Select(f)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", j.Path, err)
		}
		p, err := m.PredictFrame(x)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", j.Path, err)
		}
		dec := make([]int64, len(p))
		for i, v := range p {
			dec[i] = int64(m.Decile(v))
		}
		prefix := map[string]string{artifact.KindConversion: "p_convert", artifact.KindChurn: "p_churn"}[m.Manifest.Kind]
		cols = append(cols, scoreColumn{name: prefix, num: p}, scoreColumn{name: m.Manifest.Kind + "_decile", int: dec})
		sum.Models = append(sum.Models, m.Manifest.Kind)
		sum.Columns = append(sum.Columns, &t.Report)
	}
	idName := j.ID
	if idName == "" {
		idName = "row"
	}
	for _, c := range cols {
		if c.name == idName {
			return sum, fmt.Errorf("%w: the id column %q has the name of an output column", ErrScoreTable, idName)
		}
	}
	if err := writeScores(j.Out, idName, ids, cols); err != nil {
		return sum, err
	}
	sum.Rows, sum.Out = len(ids), j.Out
	return sum, nil
}

// loadTableModels loads the conversion and churn artifacts of dir, or dir itself.
func loadTableModels(dir string) ([]*classifier.Model, error) {
	if _, err := os.Stat(filepath.Join(dir, artifact.ManifestFile)); err == nil {
		m, err := classifier.LoadModel(dir)
		if err != nil {
			return nil, err
		}
		return []*classifier.Model{m}, nil
	}
	var out []*classifier.Model
	for _, kind := range []string{artifact.KindConversion, artifact.KindChurn} {
		sub := filepath.Join(dir, kind)
		if _, err := os.Stat(filepath.Join(sub, artifact.ManifestFile)); err != nil {
			continue
		}
		m, err := classifier.LoadModel(sub)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s holds no conversion/ or churn/ model", ErrScoreTable, dir)
	}
	return out, nil
}

// recordedColumns returns the column report a model was trained with.
func recordedColumns(m *classifier.Model) (*table.Report, error) {
	var o struct {
		Columns *table.Report `json:"columns"`
	}
	if len(m.Manifest.Options) > 0 {
		if err := json.Unmarshal(m.Manifest.Options, &o); err != nil {
			return nil, fmt.Errorf("%w: %s model %s: options: %v", ErrScoreTable, m.Manifest.Kind, m.Manifest.Version, err)
		}
	}
	if o.Columns == nil {
		return nil, fmt.Errorf("%w: the %s model %s was not trained on a table (train --table): it records no columns",
			ErrScoreTable, m.Manifest.Kind, m.Manifest.Version)
	}
	return o.Columns, nil
}

// tableIDs returns the id column as text, or row numbers.
func tableIDs(f *frame.Frame, id string, rows int) []string {
	out := make([]string, rows)
	if c := f.Column(id); id != "" && c != nil {
		copy(out, c.Cat)
		return out
	}
	for i := range out {
		out[i] = strconv.Itoa(i + 1)
	}
	return out
}

// writeScores writes the id column and the score columns, as CSV or Parquet by extension.
func writeScores(path, idName string, ids []string, cols []scoreColumn) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		if strings.EqualFold(filepath.Ext(path), ".csv") {
			cw := csv.NewWriter(w)
			rec := []string{idName}
			for _, c := range cols {
				rec = append(rec, c.name)
			}
			cw.Write(rec)
			for i, id := range ids {
				rec = append(rec[:0], id)
				for _, c := range cols {
					if c.num != nil {
						rec = append(rec, strconv.FormatFloat(c.num[i], 'g', -1, 64))
					} else {
						rec = append(rec, strconv.FormatInt(c.int[i], 10))
					}
				}
				cw.Write(rec)
			}
			cw.Flush()
			return cw.Error()
		}
		g := parquet.Group{idName: parquet.String()}
		for _, c := range cols {
			if c.num != nil {
				g[c.name] = parquet.Leaf(parquet.DoubleType)
			} else {
				g[c.name] = parquet.Leaf(parquet.Int64Type)
			}
		}
		schema := parquet.NewSchema("scores", g)
		idx := func(name string) int {
			leaf, _ := schema.Lookup(name)
			return leaf.ColumnIndex
		}
		pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy),
			parquet.KeyValueMetadata("propensity.kind", "table_scores"))
		row := make(parquet.Row, len(cols)+1)
		for i, id := range ids {
			row[idx(idName)] = parquet.ByteArrayValue([]byte(id)).Level(0, 0, idx(idName))
			for _, c := range cols {
				k := idx(c.name)
				if c.num != nil {
					row[k] = parquet.DoubleValue(c.num[i]).Level(0, 0, k)
				} else {
					row[k] = parquet.Int64Value(c.int[i]).Level(0, 0, k)
				}
			}
			if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
				return err
			}
		}
		return pw.Close()
	})
}
