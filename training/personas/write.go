package personas

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/propensity-dev/propensity/internal/atomicfile"
	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/models/kmeans"
	"github.com/propensity-dev/propensity/models/persona"
)

// Output file names inside the --out directory.
const (
	CatalogFile = "personas.json"
	ParquetFile = "assignments.parquet"
	CSVFile     = "assignments.csv"
	ReportFile  = "report.html"
	// ModelDir is where the artifact goes: the output directory itself, as with every job
	// of a models directory (MODELS/personas/ holds manifest.json and model.json next to
	// the reports).
	ModelDir       = "."
	CatalogVersion = 1
)

// Catalog is the content of personas.json.
type Catalog struct {
	FormatVersion int `json:"format_version"`
	// Build is the propensity build that wrote the file (propensity version).
	Build      buildinfo.Info    `json:"build"`
	K          int               `json:"k"`
	Rows       int               `json:"rows"`
	Silhouette float64           `json:"silhouette"`
	Stability  float64           `json:"stability"`
	Inertia    float64           `json:"inertia"`
	Columns    []string          `json:"columns"`    // inputs clustered on: columns, then derived shares and ratios "num/den"
	Dimensions []string          `json:"dimensions"` // encoded dimensions
	Notes      []string          `json:"notes"`
	Warnings   []string          `json:"warnings,omitempty"`
	Choice     *kmeans.Choice    `json:"choice,omitempty"`
	Personas   []persona.Profile `json:"personas"`
	Segments   []CatalogSegment  `json:"segments,omitempty"`
}

// CatalogSegment is a segment and its size.
type CatalogSegment struct {
	Name string `json:"name"`
	Rule string `json:"rule"`
	Size int    `json:"size"`
}

// Catalog returns the persona catalog.
func (o *Output) Catalog() Catalog {
	m := o.Model
	c := Catalog{FormatVersion: CatalogVersion, Build: buildinfo.Read(), K: m.K, Rows: len(o.Labels), Silhouette: m.Silhouette,
		Stability: m.Stability, Inertia: m.Inertia, Columns: o.Columns, Dimensions: m.Transform.Dims,
		Notes: m.Transform.Notes, Warnings: o.Warnings, Choice: o.Choice, Personas: m.Personas}
	if c.Notes == nil {
		c.Notes = []string{}
	}
	sum := o.Summary()
	for _, s := range o.Segments {
		c.Segments = append(c.Segments, CatalogSegment{Name: s.Name, Rule: s.Rule, Size: sum.Segments[s.Name]})
	}
	return c
}

// Write writes personas.json, personas.csv (the one-row-per-persona summary),
// assignments.parquet, assignments.csv, report.html and the model artifact (dir/model) into
// dir, creating it. Each file is written atomically.
func (o *Output) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cat, err := json.MarshalIndent(o.Catalog(), "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, CatalogFile), append(cat, '\n'), 0o644); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, SummaryFile), 0o644, o.writeSummary); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, CSVFile), 0o644, o.writeCSV); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, ParquetFile), 0o644, o.writeParquet); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, ReportFile), 0o644, o.WriteReport); err != nil {
		return err
	}
	if _, err := persona.Save(filepath.Join(dir, ModelDir), o.Model, len(o.Labels)); err != nil {
		return err
	}
	return nil
}

func (o *Output) writeCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	head := []string{"contact_id", "persona_id", "persona_name", "distance"}
	for _, s := range o.Segments {
		head = append(head, s.Name)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(head))
	for r, id := range o.IDs {
		l := o.Labels[r]
		rec[0] = id
		rec[1] = strconv.Itoa(l)
		rec[2] = o.Model.Personas[l].Name
		rec[3] = strconv.FormatFloat(o.Distances[r], 'g', 6, 64)
		for s := range o.Segments {
			rec[4+s] = strconv.FormatBool(o.Flags[s][r])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func (o *Output) writeParquet(w io.Writer) error {
	g := parquet.Group{
		"contact_id":   parquet.String(),
		"persona_id":   parquet.Int(64),
		"persona_name": parquet.String(),
		"distance":     parquet.Leaf(parquet.DoubleType),
	}
	seg := map[string]int{}
	for i, s := range o.Segments {
		g[s.Name] = parquet.Leaf(parquet.BooleanType)
		seg[s.Name] = i
	}
	schema := parquet.NewSchema("assignments", g)
	fields := schema.Fields() // leaves in name order
	pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy))
	const batch = 1024
	rows := make([]parquet.Row, 0, batch)
	flush := func() error {
		if _, err := pw.WriteRows(rows); err != nil {
			return err
		}
		rows = rows[:0]
		return nil
	}
	for r, id := range o.IDs {
		l := o.Labels[r]
		row := make(parquet.Row, len(fields))
		for leaf, f := range fields {
			var v parquet.Value
			switch f.Name() {
			case "contact_id":
				v = parquet.ByteArrayValue([]byte(id))
			case "persona_id":
				v = parquet.Int64Value(int64(l))
			case "persona_name":
				v = parquet.ByteArrayValue([]byte(o.Model.Personas[l].Name))
			case "distance":
				v = parquet.DoubleValue(o.Distances[r])
			default:
				s, ok := seg[f.Name()]
				if !ok {
					return fmt.Errorf("personas: internal error: unexpected column %q", f.Name())
				}
				v = parquet.BooleanValue(o.Flags[s][r])
			}
			row[leaf] = v.Level(0, 0, leaf)
		}
		rows = append(rows, row)
		if len(rows) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return pw.Close()
}
