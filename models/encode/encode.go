package encode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/propensity-dev/propensity/models/frame"
)

// Version is the newest encoder state format, the one an encoder with log1p features
// (Options.Log1p) is written in; other encoders are written in version 1, which this build
// also reads. Decoding state of any other version fails.
const Version = 2

// versionPlain is the format of an encoder without log1p features.
const versionPlain = 1

// Reserved level names.
const (
	Other   = "__other__"
	Missing = "__missing__"
)

// Errors.
var (
	ErrNoFeatures = errors.New("encode: no usable feature (every column is constant or empty)")
	ErrNoRows     = errors.New("encode: no rows")
	ErrVersion    = errors.New("encode: unsupported encoder version")
	ErrRange      = errors.New("encode: numbers out of range")
)

// SchemaError reports a frame whose columns differ from the ones the encoder was fitted on.
type SchemaError struct {
	Missing []string // fitted columns absent from the frame
	Extra   []string // frame columns the encoder does not know
	Kind    []string // columns of a kind that cannot be converted, as "name: reason"
}

func (e *SchemaError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing columns: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "unexpected columns: "+strings.Join(e.Extra, ", "))
	}
	if len(e.Kind) > 0 {
		parts = append(parts, "wrong types: "+strings.Join(e.Kind, "; "))
	}
	return "encode: table does not match the model's schema: " + strings.Join(parts, "; ")
}

// Options tunes Fit. The zero value uses the defaults in the comments.
type Options struct {
	// MaxLevels is the most one-hot columns per categorical column, the most frequent levels
	// first. 0 means 30.
	MaxLevels int `json:"max_levels"`
	// MinCount is the fewest training rows a level needs for its own column. 0 means 5.
	MinCount int `json:"min_count"`
	// TargetAbove is the number of distinct levels above which a categorical column is
	// target encoded instead of one-hot encoded. 0 means 50.
	TargetAbove int `json:"target_above"`
	// Folds is the number of folds of out-of-fold target encoding. 0 means 5.
	Folds int `json:"folds"`
	// Smoothing is m of the m-estimate of target encoding. 0 means 20.
	Smoothing float64 `json:"smoothing"`
	// Log1p adds the feature log(1 + x) (<name>__log1p) of every numeric column whose
	// training values are all at least 0 and not all 0 or 1, such as counts, amounts and
	// days: a linear model then fits diminishing returns and the step from none to some,
	// which the raw value alone cannot. Off by default.
	Log1p bool `json:"log1p,omitempty"`
}

// UnmarshalJSON reads Options under their snake_case names and, from artifacts written
// before the names were fixed, under the Go field names (MaxLevels, MinCount, TargetAbove;
// the others match either way, case-insensitively). Unknown names are refused, as the
// artifact payload decoder refuses them everywhere else.
func (o *Options) UnmarshalJSON(b []byte) error {
	type current Options
	var v struct {
		current
		LegacyMaxLevels   *int `json:"MaxLevels"`
		LegacyMinCount    *int `json:"MinCount"`
		LegacyTargetAbove *int `json:"TargetAbove"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*o = Options(v.current)
	for _, l := range []struct {
		from *int
		to   *int
	}{{v.LegacyMaxLevels, &o.MaxLevels}, {v.LegacyMinCount, &o.MinCount}, {v.LegacyTargetAbove, &o.TargetAbove}} {
		if l.from != nil && *l.to == 0 {
			*l.to = *l.from
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxLevels <= 0 {
		o.MaxLevels = 30
	}
	if o.MinCount <= 0 {
		o.MinCount = 5
	}
	if o.TargetAbove <= 0 {
		o.TargetAbove = 50
	}
	if o.Folds <= 1 {
		o.Folds = 5
	}
	if o.Smoothing <= 0 {
		o.Smoothing = 20
	}
	return o
}

// Methods of a column.
const (
	MethodNumeric = "numeric"
	MethodOneHot  = "onehot"
	MethodTarget  = "target"
	MethodUnused  = "unused" // constant or empty in training: no feature
)

// Column is the fitted state of one input column.
type Column struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`   // "numeric" or "categorical": the kind seen in training
	Method string `json:"method"` // numeric, onehot, target or unused

	// numeric
	Impute    float64 `json:"impute,omitempty"`    // training median, replaces missing values
	Value     bool    `json:"value,omitempty"`     // emit the (imputed) value as <name>
	Log       bool    `json:"log1p,omitempty"`     // emit log(1 + max(value, 0)) as <name>__log1p
	Indicator bool    `json:"indicator,omitempty"` // emit <name>__missing

	// onehot: levels in output order; may include Other and Missing
	Levels []string `json:"levels,omitempty"`

	// target: smoothed rate per level, and the prior for unseen or missing levels
	Rates map[string]float64 `json:"rates,omitempty"`
	Prior float64            `json:"prior,omitempty"`

	// First is the index of the column's first feature; it has Width features.
	First int `json:"first"`
	Width int `json:"width"`
}

// Encoder is a fitted encoding. Its exported fields are its JSON state.
type Encoder struct {
	Version  int       `json:"version"`
	Options  Options   `json:"options"`
	Columns  []Column  `json:"columns"`
	Features []string  `json:"features"` // output feature names, in matrix column order
	Mean     []float64 `json:"mean"`     // per feature, subtracted
	Scale    []float64 `json:"scale"`    // per feature, divided by (standard deviation)
}

// Inputs returns the names of the input columns the encoder expects.
func (e *Encoder) Inputs() []string {
	out := make([]string, len(e.Columns))
	for i, c := range e.Columns {
		out[i] = c.Name
	}
	return out
}

// Fit fits an encoder on f with labels y (0/1, used by target encoding) and weights w (nil
// means all ones), and returns it with the encoded, standardised training matrix, in which
// target-encoded features are out of fold (fold assignment drawn from src). Use Transform
// for any other data.
func Fit(f *frame.Frame, y, w []float64, opts Options, src rand.Source) (*Encoder, *mat.Dense, error) {
	if err := f.Validate(); err != nil {
		return nil, nil, fmt.Errorf("encode: %w", err)
	}
	n := f.Rows()
	if len(y) != n || (w != nil && len(w) != n) {
		panic("encode: label or weight length differs from the frame's rows")
	}
	if n == 0 {
		return nil, nil, ErrNoRows
	}
	opts = opts.withDefaults()
	e := &Encoder{Version: versionPlain, Options: opts, Columns: make([]Column, len(f.Columns))}
	if opts.Log1p {
		e.Version = Version
	}
	var wsum, ysum float64
	for i := range n {
		wi := wt(w, i)
		wsum += wi
		ysum += wi * y[i]
	}
	prior := 0.5
	if wsum > 0 {
		prior = ysum / wsum
	}
	p := 0
	for j := range f.Columns {
		fc := &f.Columns[j]
		c := Column{Name: fc.Name, Kind: fc.Kind.String()}
		if fc.Kind == frame.Numeric {
			fitNumeric(&c, fc.Num, opts.Log1p)
		} else {
			fitCategorical(&c, fc.Cat, y, w, prior, opts)
		}
		c.First = p
		p += c.Width
		e.Features = append(e.Features, c.featureNames()...)
		e.Columns[j] = c
	}
	if p == 0 {
		return nil, nil, ErrNoFeatures
	}
	X := mat.NewDense(n, p, nil)
	raw := X.RawMatrix()
	for j := range e.Columns {
		c := &e.Columns[j]
		if c.Width == 0 {
			continue
		}
		fc := &f.Columns[j]
		if c.Method == MethodTarget {
			fillTargetOOF(c, fc.Cat, y, w, prior, opts, src, raw.Data, raw.Stride)
			continue
		}
		if err := c.fill(fc, raw.Data, raw.Stride, 0, n); err != nil {
			return nil, nil, err
		}
	}
	e.Mean = make([]float64, p)
	e.Scale = make([]float64, p)
	for k := range p {
		var s, ss float64
		for i := range n {
			s += wt(w, i) * raw.Data[i*raw.Stride+k]
		}
		mean := s / wsum
		for i := range n {
			d := raw.Data[i*raw.Stride+k] - mean
			ss += wt(w, i) * d * d
		}
		sd := math.Sqrt(ss / wsum)
		if math.IsNaN(mean) || math.IsInf(mean, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
			return nil, nil, fmt.Errorf("%w: feature %q has values too large to standardise (mean %g, sd %g)", ErrRange, e.Features[k], mean, sd)
		}
		e.Mean[k] = mean
		e.Scale[k] = sd
	}
	// Drop features constant in training (sd 0): they carry no information and would make
	// the standardisation divide by zero.
	keep := make([]int, 0, p)
	for k := range p {
		if e.Scale[k] > 1e-12*math.Max(1, math.Abs(e.Mean[k])) {
			keep = append(keep, k)
		}
	}
	if len(keep) == 0 {
		return nil, nil, ErrNoFeatures
	}
	if len(keep) < p {
		X = e.dropFeatures(X, keep)
		raw = X.RawMatrix()
		p = len(keep)
	}
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		for k := range row {
			row[k] = (row[k] - e.Mean[k]) / e.Scale[k]
		}
	}
	return e, X, nil
}

// dropFeatures keeps the features keep (ascending) and renumbers the columns' spans.
func (e *Encoder) dropFeatures(X *mat.Dense, keep []int) *mat.Dense {
	n, _ := X.Dims()
	raw := X.RawMatrix()
	out := mat.NewDense(n, len(keep), nil)
	o := out.RawMatrix()
	for i := range n {
		for k, src := range keep {
			o.Data[i*o.Stride+k] = raw.Data[i*raw.Stride+src]
		}
	}
	kept := make(map[int]bool, len(keep))
	for _, k := range keep {
		kept[k] = true
	}
	var names []string
	var mean, scale []float64
	pos := 0
	for j := range e.Columns {
		c := &e.Columns[j]
		old := c.featureNames()
		for off := range c.Width {
			if kept[c.First+off] {
				names = append(names, old[off])
				mean = append(mean, e.Mean[c.First+off])
				scale = append(scale, e.Scale[c.First+off])
			}
		}
		switch c.Method {
		case MethodOneHot:
			var levels []string
			for off, l := range c.Levels {
				if kept[c.First+off] {
					levels = append(levels, l)
				}
			}
			c.Levels = levels
		case MethodNumeric:
			// A constant value whose missingness varies keeps only its indicator.
			off := 0
			if c.Value {
				c.Value = kept[c.First]
				off = 1
			}
			if c.Log {
				c.Log = kept[c.First+off]
				off++
			}
			if c.Indicator {
				c.Indicator = kept[c.First+off]
			}
		}
		width := 0
		for off := range c.Width {
			if kept[c.First+off] {
				width++
			}
		}
		if width == 0 {
			c.Method = MethodUnused
			c.Levels, c.Rates, c.Value, c.Log, c.Indicator = nil, nil, false, false, false
		}
		c.First, c.Width = pos, width
		pos += width
	}
	e.Features, e.Mean, e.Scale = names, mean, scale
	return out
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

func fitNumeric(c *Column, v []float64, log1p bool) {
	c.Method = MethodNumeric
	present := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			present = append(present, x)
		}
	}
	if len(present) == 0 {
		c.Method = MethodUnused
		return
	}
	sort.Float64s(present)
	m := len(present)
	c.Impute = present[m/2]
	if m%2 == 0 {
		c.Impute = (present[m/2-1] + present[m/2]) / 2
	}
	c.Value = true
	c.Indicator = m < len(v)
	c.Log = log1p && present[0] >= 0 && present[m-1] > 1
	c.Width = 1 + int(b2f(c.Log)+b2f(c.Indicator))
}

func fitCategorical(c *Column, v []string, y, w []float64, prior float64, opts Options) {
	counts := map[string]int{}
	missing := 0
	for _, s := range v {
		if s == "" {
			missing++
			continue
		}
		counts[s]++
	}
	if len(counts) == 0 {
		c.Method = MethodUnused
		return
	}
	if len(counts) > opts.TargetAbove {
		c.Method = MethodTarget
		c.Prior = prior
		c.Rates = targetRates(v, y, w, prior, opts.Smoothing, nil)
		c.Width = 1
		return
	}
	c.Method = MethodOneHot
	levels := make([]string, 0, len(counts))
	for l, k := range counts {
		if k >= opts.MinCount {
			levels = append(levels, l)
		}
	}
	// Most frequent first, ties by name, so the encoding is deterministic.
	sort.Slice(levels, func(a, b int) bool {
		if counts[levels[a]] != counts[levels[b]] {
			return counts[levels[a]] > counts[levels[b]]
		}
		return levels[a] < levels[b]
	})
	if len(levels) > opts.MaxLevels {
		levels = levels[:opts.MaxLevels]
	}
	if len(levels) < len(counts) {
		levels = append(levels, Other)
	}
	if missing > 0 {
		levels = append(levels, Missing)
	}
	c.Levels = levels
	c.Width = len(levels)
}

// targetRates returns the smoothed positive rate of each level over the rows where use is
// nil or true.
func targetRates(v []string, y, w []float64, prior, m float64, use func(int) bool) map[string]float64 {
	type acc struct{ n, pos float64 }
	s := map[string]*acc{}
	for i, l := range v {
		if l == "" || (use != nil && !use(i)) {
			continue
		}
		a := s[l]
		if a == nil {
			a = &acc{}
			s[l] = a
		}
		a.n += wt(w, i)
		a.pos += wt(w, i) * y[i]
	}
	out := make(map[string]float64, len(s))
	for l, a := range s {
		out[l] = (a.pos + m*prior) / (a.n + m)
	}
	return out
}

func fillTargetOOF(c *Column, v []string, y, w []float64, prior float64, opts Options, src rand.Source, data []float64, stride int) {
	n := len(v)
	fold := make([]int, n)
	rng := rand.New(src)
	for i := range fold {
		fold[i] = rng.IntN(opts.Folds)
	}
	for k := range opts.Folds {
		rates := targetRates(v, y, w, prior, opts.Smoothing, func(i int) bool { return fold[i] != k })
		for i := range n {
			if fold[i] != k {
				continue
			}
			r, ok := rates[v[i]]
			if !ok {
				r = prior
			}
			data[i*stride+c.First] = r
		}
	}
}

func (c *Column) featureNames() []string {
	switch c.Method {
	case MethodNumeric:
		var out []string
		if c.Value {
			out = append(out, c.Name)
		}
		if c.Log {
			out = append(out, c.Name+"__log1p")
		}
		if c.Indicator {
			out = append(out, c.Name+"__missing")
		}
		return out
	case MethodOneHot:
		out := make([]string, len(c.Levels))
		for i, l := range c.Levels {
			out[i] = c.Name + "=" + l
		}
		return out
	case MethodTarget:
		return []string{c.Name + "__target"}
	}
	return nil
}

// fill writes the raw (unstandardised) features of rows [lo, hi) of fc into data, row i at
// data[(i-lo)*stride + c.First ...].
func (c *Column) fill(fc *frame.Column, data []float64, stride, lo, hi int) error {
	if c.Width == 0 {
		return nil
	}
	switch c.Method {
	case MethodNumeric:
		num, err := c.numbers(fc, lo, hi)
		if err != nil {
			return err
		}
		for i, x := range num {
			row := data[i*stride+c.First:]
			miss := math.IsNaN(x)
			if miss {
				x = c.Impute
			}
			k := 0
			if c.Value {
				row[0] = x
				k = 1
			}
			if c.Log {
				row[k] = math.Log1p(max(x, 0)) // values below 0 were not seen in training
				k++
			}
			if c.Indicator {
				row[k] = b2f(miss)
			}
		}
	case MethodOneHot, MethodTarget:
		cat := c.strings(fc, lo, hi)
		if c.Method == MethodTarget {
			for i, s := range cat {
				r, ok := c.Rates[s]
				if !ok {
					r = c.Prior
				}
				data[i*stride+c.First] = r
			}
			return nil
		}
		if len(cat) == 1 {
			// One row (online scoring): a scan of the levels is cheaper than a map.
			row := data[c.First : c.First+c.Width]
			clear(row)
			if k, ok := c.level(cat[0]); ok {
				row[k] = 1
			}
			return nil
		}
		index := make(map[string]int, len(c.Levels))
		for k, l := range c.Levels {
			index[l] = k
		}
		other, hasOther := index[Other]
		for i, s := range cat {
			row := data[i*stride+c.First : i*stride+c.First+c.Width]
			clear(row)
			if s == "" {
				s = Missing
			}
			k, ok := index[s]
			if !ok && s != Missing && hasOther {
				k, ok = other, true
			}
			if ok {
				row[k] = 1
			}
		}
	}
	return nil
}

// level returns the one-hot position of category s as fill's level index does: the last
// level equal to s (Missing for ""), else Other for a present unlisted level.
func (c *Column) level(s string) (int, bool) {
	if s == "" {
		s = Missing
	}
	other, hasOther := -1, false
	for k := len(c.Levels) - 1; k >= 0; k-- {
		l := c.Levels[k]
		if l == s {
			return k, true
		}
		if !hasOther && l == Other {
			other, hasOther = k, true
		}
	}
	if s != Missing && hasOther {
		return other, true
	}
	return 0, false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// numbers returns rows [lo, hi) of fc as numbers, parsing a categorical column's text.
func (c *Column) numbers(fc *frame.Column, lo, hi int) ([]float64, error) {
	if fc.Kind == frame.Numeric {
		return fc.Num[lo:hi], nil
	}
	out := make([]float64, hi-lo)
	for i, s := range fc.Cat[lo:hi] {
		s = strings.TrimSpace(s)
		if s == "" {
			out[i] = math.NaN()
			continue
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(x, 0) {
			return nil, fmt.Errorf("encode: column %q row %d: %q is not a number", c.Name, lo+i+1, s)
		}
		out[i] = x
	}
	return out, nil
}

// strings returns rows [lo, hi) of fc as text, formatting a numeric column's numbers.
func (c *Column) strings(fc *frame.Column, lo, hi int) []string {
	if fc.Kind == frame.Categorical {
		return fc.Cat[lo:hi]
	}
	out := make([]string, hi-lo)
	for i, x := range fc.Num[lo:hi] {
		if !math.IsNaN(x) {
			out[i] = strconv.FormatFloat(x, 'f', -1, 64)
		}
	}
	return out
}

// Check reports whether f has exactly the encoder's input columns (any order). A numeric
// column given as text that parses, or a categorical column given as numbers, is accepted.
func (e *Encoder) Check(f *frame.Frame) error {
	if e.Version != Version && e.Version != versionPlain {
		return fmt.Errorf("%w %d (this build reads %d and %d)", ErrVersion, e.Version, versionPlain, Version)
	}
	want := make(map[string]bool, len(e.Columns))
	se := &SchemaError{}
	for _, c := range e.Columns {
		want[c.Name] = true
		if f.Index(c.Name) < 0 {
			se.Missing = append(se.Missing, c.Name)
		}
	}
	for _, name := range f.Names() {
		if !want[name] {
			se.Extra = append(se.Extra, name)
		}
	}
	if len(se.Missing)+len(se.Extra) > 0 {
		return se
	}
	return nil
}

// Transform encodes and standardises f with the fitted state. f must pass Check.
func (e *Encoder) Transform(f *frame.Frame) (*mat.Dense, error) {
	if err := e.Check(f); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	n := f.Rows()
	if n == 0 {
		return nil, ErrNoRows
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	p := len(e.Features)
	X := mat.NewDense(n, p, nil)
	raw := X.RawMatrix()
	se := &SchemaError{}
	for j := range e.Columns {
		c := &e.Columns[j]
		if err := c.fill(f.Column(c.Name), raw.Data, raw.Stride, 0, n); err != nil {
			se.Kind = append(se.Kind, err.Error())
		}
	}
	if len(se.Kind) > 0 {
		return nil, se
	}
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		for k := range row {
			row[k] = (row[k] - e.Mean[k]) / e.Scale[k]
		}
	}
	return X, nil
}

// Prepare checks the encoder's state and that cols (in order) are exactly its input columns,
// so that TransformRow may be used on frames with these columns; it returns the first
// problem, as Transform would report it.
func (e *Encoder) Prepare(cols []string) error {
	if e.Version != Version && e.Version != versionPlain {
		return fmt.Errorf("%w %d (this build reads %d and %d)", ErrVersion, e.Version, versionPlain, Version)
	}
	if len(cols) != len(e.Columns) {
		return fmt.Errorf("encode: %d columns, the encoder has %d", len(cols), len(e.Columns))
	}
	seen := make(map[string]bool, len(cols))
	for j, name := range cols {
		if name != e.Columns[j].Name || name == "" || seen[name] {
			return fmt.Errorf("encode: column %d is %q, want the encoder's %q", j, name, e.Columns[j].Name)
		}
		seen[name] = true
	}
	return e.validate()
}

// TransformRow is Transform of row i of cols into x (length len(e.Features)), without
// allocating: for scoring one record at a time. cols[j] must be the input of e.Columns[j]
// and pass Prepare (names in order, unique), hold no infinite number, and have more than i
// rows. x is the same as row i of Transform of the frame of cols.
func (e *Encoder) TransformRow(cols []frame.Column, i int, x []float64) error {
	if len(cols) != len(e.Columns) || len(x) != len(e.Features) {
		panic("encode: TransformRow of columns or features of the wrong length")
	}
	clear(x)
	for j := range e.Columns {
		if err := e.Columns[j].fill(&cols[j], x, len(x), i, i+1); err != nil {
			return err
		}
	}
	for k := range x {
		x[k] = (x[k] - e.Mean[k]) / e.Scale[k]
	}
	return nil
}

// ErrCorrupt is wrapped by errors about decoded state that cannot be right.
var ErrCorrupt = errors.New("encode: corrupt encoder state")

// validate checks decoded state, so that a damaged artifact fails clearly instead of
// indexing out of range or dividing by zero.
func (e *Encoder) validate() error {
	p := len(e.Features)
	if len(e.Mean) != p || len(e.Scale) != p {
		return fmt.Errorf("%w: %d features, %d means, %d scales", ErrCorrupt, p, len(e.Mean), len(e.Scale))
	}
	for k := range p {
		if !(e.Scale[k] > 0) || math.IsInf(e.Scale[k], 0) || math.IsNaN(e.Mean[k]) || math.IsInf(e.Mean[k], 0) {
			return fmt.Errorf("%w: feature %q has mean %v and scale %v", ErrCorrupt, e.Features[k], e.Mean[k], e.Scale[k])
		}
	}
	next := 0
	for _, c := range e.Columns {
		want := 0
		switch c.Method {
		case MethodNumeric:
			if c.Log && e.Version == versionPlain {
				return fmt.Errorf("%w: column %q has log1p features in a version %d encoder", ErrCorrupt, c.Name, e.Version)
			}
			want = int(b2f(c.Value) + b2f(c.Log) + b2f(c.Indicator))
			if math.IsNaN(c.Impute) || math.IsInf(c.Impute, 0) {
				return fmt.Errorf("%w: column %q imputes %v", ErrCorrupt, c.Name, c.Impute)
			}
		case MethodOneHot:
			want = len(c.Levels)
		case MethodTarget:
			want = 1
		case MethodUnused:
		default:
			return fmt.Errorf("%w: column %q has method %q", ErrCorrupt, c.Name, c.Method)
		}
		if c.Width != want || c.First != next {
			return fmt.Errorf("%w: column %q spans features %d+%d, want %d+%d", ErrCorrupt, c.Name, c.First, c.Width, next, want)
		}
		next += want
	}
	if next != p {
		return fmt.Errorf("%w: columns span %d features, names list %d", ErrCorrupt, next, p)
	}
	return nil
}

// Describe returns a readable list of the fitted columns: name, method and width.
func (e *Encoder) Describe() []string {
	out := make([]string, 0, len(e.Columns))
	for _, c := range e.Columns {
		out = append(out, fmt.Sprintf("%s: %s (%d features)", c.Name, c.Method, c.Width))
	}
	return out
}
