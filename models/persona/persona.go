package persona

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/frame"
	"github.com/propensity-dev/propensity/models/kmeans"
)

// FormatVersion is the version of the persona payload written by Save.
const FormatVersion = 1

// Settings tune Fit. The zero value gives the defaults written next to each field.
type Settings struct {
	Transform TransformSettings
	// K is the number of personas; 0 chooses it in [KMin, KMax] with kmeans.ChooseK.
	K          int
	KMin, KMax int              // default 2 and 10
	Criterion  kmeans.Criterion // how k is chosen; default by silhouette
	KMeans     kmeans.Settings  // the final fit (default 10 restarts)
	// Choose tunes the choice of k (its Min, Max and Criterion come from KMin, KMax and
	// Criterion). Default: the kmeans.ChooseSettings defaults with 4 restarts per k.
	Choose kmeans.ChooseSettings
	// Stability of the final k; Resamples < 0 skips it. Default 10 resamples of 5,000 rows.
	Stability kmeans.StabilitySettings
	// Traits is the number of distinguishing features kept per persona. Default 5.
	Traits int
}

// Model is a fitted set of personas: the transform, the centroids in the transformed space
// and the profiles. It is the payload of a "personas" artifact.
type Model struct {
	FormatVersion int       `json:"format_version"`
	Transform     Transform `json:"transform"`
	K             int       `json:"k"`
	Centroids     []float64 `json:"centroids"` // K × Transform.Dim(), row-major
	Personas      []Profile `json:"personas"`
	Silhouette    float64   `json:"silhouette"`
	Stability     float64   `json:"stability"`
	Inertia       float64   `json:"inertia"`
}

// Profile describes one persona.
type Profile struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Size        int     `json:"size"`
	Share       float64 `json:"share"`
	// Centroid holds the members' means of the numeric inputs and, for categorical
	// inputs, the share of the members holding each level, in original units.
	Centroid []Value `json:"centroid"`
	// Traits are the dimensions that most set the persona apart: the persona's mean in
	// standard deviations from the population mean (transformed scale), largest first.
	Traits []Trait   `json:"traits"`
	Value  []Summary `json:"value,omitempty"` // means of value columns (clv, spend, ...)
	Risk   []Summary `json:"risk,omitempty"`  // means of risk columns (p_churn, ...)
}

// Value is a column's value for a persona and for the whole population.
type Value struct {
	Column     string  `json:"column"` // column, or column=level for a categorical level share
	Value      float64 `json:"value"`
	Population float64 `json:"population"`
}

// Trait is one distinguishing dimension.
type Trait struct {
	Feature    string  `json:"feature"` // column or column=level
	Z          float64 `json:"z"`
	Value      float64 `json:"value"`      // persona mean, original units (share for a level)
	Population float64 `json:"population"` // population mean, original units
	Phrase     string  `json:"phrase"`     // the words used in the name
	// Label says the trait in plain words for people who do not read column names
	// ("opens many emails", "quiet for 90+ days"; see Label). Feature stays the
	// machine-readable id of the trait.
	Label string `json:"label"`
	// Direction is "high" when the persona's mean is above the population's, else "low".
	Direction string `json:"direction"`
}

// Summary is the mean of a value or risk column for a persona.
type Summary struct {
	Column     string  `json:"column"`
	Mean       float64 `json:"mean"`
	Population float64 `json:"population"`
}

// Result is the outcome of Fit: the model and the assignment of the training rows.
type Result struct {
	Model     *Model
	Labels    []int     // persona of each row
	Distances []float64 // Euclidean distance of each row to its persona's centroid
	Choice    *kmeans.Choice
	X         []float64 // the transformed training matrix, rows × Model.Transform.Dim()
}

// Fit transforms f, clusters it and profiles the clusters. Every column of f is used
// (drop identifiers and labels first) unless s.Transform.Columns lists the plain inputs;
// s.Transform.Derived adds inputs computed from pairs of columns. Value and risk columns
// of f (see ValueColumn, RiskColumn) are summarised per persona, clustered on or not.
func Fit(f *frame.Frame, s Settings, src rand.Source) (*Result, error) {
	if src == nil {
		src = rand.NewPCG(1, 1)
	}
	rng := rand.New(src)
	if s.Traits <= 0 {
		s.Traits = 5
	}
	t, err := FitTransform(f, s.Transform)
	if err != nil {
		return nil, err
	}
	x, err := t.Apply(f)
	if err != nil {
		return nil, err
	}
	dim := t.Dim()
	n := f.Rows()
	res := &Result{X: x}
	k := s.K
	if k < 0 {
		return nil, kmeans.ErrK
	}
	if k == 0 {
		cs := s.Choose
		cs.Min, cs.Max, cs.Criterion = s.KMin, s.KMax, s.Criterion
		if cs.Fit.Restarts == 0 {
			cs.Fit.Restarts = 4
		}
		if cs.Fit.Workers == 0 {
			cs.Fit.Workers = s.KMeans.Workers
		}
		ch, err := kmeans.ChooseK(x, dim, cs, rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if err != nil {
			return nil, err
		}
		res.Choice = ch
		k = ch.K
	}
	km, err := kmeans.Fit(x, dim, k, s.KMeans, rand.NewPCG(rng.Uint64(), rng.Uint64()))
	if err != nil {
		return nil, err
	}
	m := &Model{FormatVersion: FormatVersion, Transform: *t, K: k, Centroids: km.Centroids, Inertia: km.Inertia}
	silRows := kmeans.SampleRows(n, 2000, rand.NewPCG(rng.Uint64(), rng.Uint64()))
	silLab := make([]int, len(silRows))
	for i, r := range silRows {
		silLab[i] = km.Labels[r]
	}
	m.Silhouette = kmeans.Silhouette(kmeans.Rows(x, dim, silRows), dim, silLab)
	if s.Stability.Resamples >= 0 {
		st, err := kmeans.Stability(x, dim, k, s.Stability, rand.NewPCG(rng.Uint64(), rng.Uint64()))
		if err != nil {
			return nil, err
		}
		m.Stability = st
	}
	res.Labels = km.Labels
	res.Distances = make([]float64, n)
	for i, l := range km.Labels {
		res.Distances[i] = math.Sqrt(sqDist(x[i*dim:(i+1)*dim], km.Centroid(l)))
	}
	m.Personas = profile(f, t, x, km, s.Traits)
	res.Model = m
	return res, nil
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		e := v - b[i]
		s += e * e
	}
	return s
}

// profile builds the persona profiles from the members of each cluster.
func profile(f *frame.Frame, t *Transform, x []float64, km *kmeans.Result, nTraits int) []Profile {
	k, dim, n := km.K, t.Dim(), f.Rows()
	sizes := km.Sizes()
	// Means of the transformed dimensions per cluster (the centroids) and of the original
	// values per cluster.
	ps := make([]Profile, k)
	for j := range ps {
		ps[j] = Profile{ID: j, Size: sizes[j], Share: float64(sizes[j]) / float64(n)}
	}
	origMean := func(col *frame.Column, lab []int) ([]float64, float64) {
		sum := make([]float64, k)
		cnt := make([]int, k)
		tot, tc := 0.0, 0
		for i, v := range col.Num {
			if math.IsNaN(v) {
				continue
			}
			sum[lab[i]] += v
			cnt[lab[i]]++
			tot += v
			tc++
		}
		for j := range sum {
			if cnt[j] > 0 {
				sum[j] /= float64(cnt[j])
			} else {
				sum[j] = math.NaN()
			}
		}
		if tc == 0 {
			return sum, math.NaN()
		}
		return sum, tot / float64(tc)
	}
	// Original-unit values of each dimension: mean for numbers, level share for levels.
	dimVal := make([][]float64, dim) // [dim][k]
	dimPop := make([]float64, dim)
	for i := range t.Inputs {
		in := &t.Inputs[i]
		lo := t.ranges[i][0]
		if in.scaled() {
			col := f.Column(in.Name)
			if in.Kind != "numeric" {
				vals, err := in.values(f)
				if err != nil { // Apply read the same columns
					panic(err)
				}
				col = &frame.Column{Name: in.Name, Kind: frame.Numeric, Num: vals}
			}
			v, p := origMean(col, km.Labels)
			dimVal[lo], dimPop[lo] = v, p
			continue
		}
		col := f.Column(in.Name)
		for li, level := range in.Levels {
			share := make([]float64, k)
			for r, v := range col.Cat {
				if v == level {
					share[km.Labels[r]]++
				}
			}
			for j := range share {
				if sizes[j] > 0 {
					share[j] /= float64(sizes[j])
				}
			}
			dimVal[lo+li], dimPop[lo+li] = share, in.LevelMean[li]
		}
	}
	for j := range ps {
		p := &ps[j]
		c := km.Centroid(j)
		for d := range dim {
			p.Centroid = append(p.Centroid, Value{Column: t.Dims[d], Value: clean(dimVal[d][j]), Population: clean(dimPop[d])})
		}
		// Traits compare standard deviations, not the weighted coordinates.
		z := make([]float64, dim)
		order := make([]int, dim)
		for d := range order {
			order[d] = d
			z[d] = c[d] / t.DimWeight(d)
		}
		sort.SliceStable(order, func(a, b int) bool { return math.Abs(z[order[a]]) > math.Abs(z[order[b]]) })
		for _, d := range order[:min(nTraits, dim)] {
			tr := Trait{Feature: t.Dims[d], Z: z[d], Value: clean(dimVal[d][j]), Population: clean(dimPop[d]), Phrase: phrase(t.Dims[d], z[d]), Direction: "low"}
			if tr.Z > 0 {
				tr.Direction = "high"
			}
			tr.Label = Label(tr.Feature, tr.Z, tr.Value, tr.Population)
			p.Traits = append(p.Traits, tr)
		}
	}
	// Value and risk summaries from any frame column with a recognised name, clustered on
	// or not.
	for ci := range f.Columns {
		col := &f.Columns[ci]
		if col.Kind != frame.Numeric {
			continue
		}
		isValue, isRisk := ValueColumn(col.Name), RiskColumn(col.Name)
		if !isValue && !isRisk {
			continue
		}
		v, pop := origMean(col, km.Labels)
		for j := range ps {
			s := Summary{Column: col.Name, Mean: clean(v[j]), Population: clean(pop)}
			if isValue {
				ps[j].Value = append(ps[j].Value, s)
			} else {
				ps[j].Risk = append(ps[j].Risk, s)
			}
		}
	}
	name(ps, noun(f))
	share := map[string]bool{}
	for _, in := range t.Inputs {
		if in.Kind == Share {
			share[in.Name] = true
		}
	}
	isShare := func(dim string) bool { return share[dim] || strings.Contains(dim, "=") }
	for j := range ps {
		ps[j].Description = describe(&ps[j], isShare)
	}
	return ps
}

// clean turns NaN (an empty cluster) into 0 so the profile stays valid JSON.
func clean(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// Errors of Assign and Load.
var (
	ErrModel = errors.New("persona: malformed model")
)

// Validate checks the internal consistency of a decoded model and prepares it for Assign.
func (m *Model) Validate() error {
	if m.FormatVersion != FormatVersion {
		return fmt.Errorf("%w: format version %d, this build reads %d", ErrModel, m.FormatVersion, FormatVersion)
	}
	if err := m.Transform.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrModel, err)
	}
	dim := m.Transform.Dim()
	if m.K < 1 || len(m.Centroids) != m.K*dim || len(m.Personas) != m.K {
		return fmt.Errorf("%w: %d centroid values and %d personas for k = %d, %d dimensions", ErrModel, len(m.Centroids), len(m.Personas), m.K, dim)
	}
	for _, v := range m.Centroids {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: centroid is not finite", ErrModel)
		}
	}
	return nil
}

// Assign places one contact (a flat record of the model's input columns, as in
// Transform.ApplyRecord) in the nearest persona and returns its id, name and the Euclidean
// distance to the persona's centroid in the transformed space.
func (m *Model) Assign(record map[string]any) (id int, name string, distance float64, err error) {
	var buf [64]float64
	v := m.vector(buf[:])
	if err := m.Transform.ApplyRecord(record, v); err != nil {
		return -1, "", 0, err
	}
	id, name, distance = m.nearest(v)
	return id, name, distance, nil
}

// vector returns buf, or a new slice when buf is too short, cut to the transform's dimension.
func (m *Model) vector(buf []float64) []float64 {
	if dim := m.Transform.Dim(); dim <= len(buf) {
		return buf[:dim]
	}
	return make([]float64, m.Transform.Dim())
}

// nearest returns the persona whose centroid is nearest to the transformed vector v.
func (m *Model) nearest(v []float64) (id int, name string, distance float64) {
	dim := len(v)
	best, bj := math.Inf(1), 0
	for j := range m.K {
		if d := sqDist(v, m.Centroids[j*dim:(j+1)*dim]); d < best {
			best, bj = d, j
		}
	}
	return bj, m.Personas[bj].Name, math.Sqrt(best)
}

// AssignValues is Assign for a record given by position (see Transform.ApplyValues: value
// k is the column InputNames()[k]), which spares building a map per record. It answers
// exactly as Assign on the same record; ok is false for a record that Transform.ApplyValues
// leaves to Assign.
func (m *Model) AssignValues(num []float64, str []string) (id int, name string, distance float64, ok bool) {
	var buf [64]float64
	v := m.vector(buf[:])
	if !m.Transform.ApplyValues(num, str, v) {
		return 0, "", 0, false
	}
	id, name, distance = m.nearest(v)
	return id, name, distance, true
}

// Save writes m as a "personas" artifact in dir. The manifest records the input columns,
// rows and quality measures.
func Save(dir string, m *Model, rows int) (artifact.Manifest, error) {
	man := artifact.Manifest{
		Kind:         artifact.KindPersonas,
		Model:        "kmeans",
		Rows:         rows,
		FeatureNames: m.InputNames(),
		Metrics:      map[string]float64{"k": float64(m.K), "silhouette": m.Silhouette, "stability": m.Stability, "inertia": m.Inertia},
	}
	return artifact.Save(dir, man, m)
}

// Load reads and validates a "personas" artifact.
func Load(dir string) (*Model, artifact.Manifest, error) {
	var m Model
	man, err := artifact.Load(dir, artifact.KindPersonas, &m)
	if err != nil {
		return nil, man, err
	}
	if err := m.Validate(); err != nil {
		return nil, man, fmt.Errorf("%s: %w", dir, err)
	}
	return &m, man, nil
}

// InputNames returns the source columns the model reads: each plain input's column and
// the two columns of each derived input, once each, in input order.
func (m *Model) InputNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, in := range m.Transform.Inputs {
		if len(in.Of) > 0 {
			for _, name := range in.Of {
				add(name)
			}
			continue
		}
		add(in.Name)
	}
	return out
}
