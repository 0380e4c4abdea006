package persona

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/propensity-dev/propensity/models/frame"
)

// Errors of the transform.
var (
	ErrNoColumns   = errors.New("persona: no usable columns")
	ErrAllConstant = errors.New("persona: every column is constant, nothing to cluster on")
	ErrMissing     = errors.New("persona: missing value")
	ErrField       = errors.New("persona: record lacks a field the model needs")
)

// MissingError reports a missing (NaN) value when missing values are not imputed.
type MissingError struct {
	Column string
	Row    int // 0-based row of the frame (the message counts from 1)
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("persona: column %q, data row %d (counting from 1), is missing; fill it, exclude the column, or impute missing values with the column median (--impute)", e.Column, e.Row+1)
}

// Unwrap returns ErrMissing.
func (e *MissingError) Unwrap() error { return ErrMissing }

// TransformSettings tune FitTransform. The zero value gives the defaults.
type TransformSettings struct {
	// MaxLevels is the largest number of distinct values a categorical column may have to
	// be one-hot encoded; columns with more are left out with a note. Default 12.
	MaxLevels int
	// SkewThreshold: a numeric column with no negative value, more than two distinct
	// values and a sample skewness (Fisher–Pearson, m₃/m₂^{3/2}) above this is log1p
	// transformed, the usual treatment of counts and amounts. Default 1.
	SkewThreshold float64
	// NoLog turns the log1p rule off.
	NoLog bool
	// Impute replaces missing numeric values (NaN) by the column's median. Without it a
	// missing value is an error (*MissingError) naming the column and row. Missing
	// categorical values ("") are never an error: they encode as "no level".
	Impute bool
	// Columns, when not nil, lists the only frame columns encoded as plain inputs (in this
	// order); nil means every column of the frame. Derived inputs come after them.
	Columns []string
	// Derived inputs are computed from two numeric columns each (see Derived); their source
	// columns need not be inputs themselves.
	Derived []Derived
	// WeightLevels scales each of the L standardised indicators of a categorical column by
	// 1/√L, so that the column as a whole carries the variance of one numeric column rather
	// than L of them (the comparable-influence weighting of mixed-type variables discussed
	// by Hennig & Liao 2013, "How to find an appropriate clustering for mixed-type
	// variables with application to socio-economic stratification", JRSS C 62(3):309–369).
	// Default off: every indicator has unit variance.
	WeightLevels bool
}

// Kinds of Derived inputs.
const (
	// Share is a proportion num/den of counts (or amounts) of one person, smoothed towards
	// the population proportion p₀ = Σnum/Σden with a pseudo-count α, the posterior mean
	// under a Beta prior of strength α: p = (num + α·p₀)/(den + α); a person with den = 0
	// gets p₀. It is encoded as arcsin √p, the variance-stabilising transform of a
	// proportion (Bartlett 1936, "The square root transformation in analysis of
	// variance", JRSS Suppl. 3:68–78; Anscombe 1948, Biometrika 35:246–254), and, like a
	// numeric column, log1p transformed when that scale is still skewed (rare event types
	// whose share is near 0 for most people), so that sparse histories do not spread into
	// long tails.
	Share = "share"
	// Ratio is num/den, 0 when den is 0 (such as the mean amount per purchase of someone
	// who never bought). It is log1p transformed by the same skewness rule as numeric
	// columns.
	Ratio = "ratio"
)

// DefaultSmoothing is the pseudo-count α of a Share when Derived.Smoothing is 0.
const DefaultSmoothing = 3

// Derived defines an input computed from two numeric columns of the frame.
type Derived struct {
	Kind     string // Share or Ratio
	Num, Den string // numerator and denominator columns
	// Smoothing is the pseudo-count α of a Share, in the units of Den. Default
	// DefaultSmoothing.
	Smoothing float64
}

// Name is the input's name: "Num/Den".
func (d Derived) Name() string { return d.Num + "/" + d.Den }

// Input is how one source column, or one pair of columns (a derived input), is encoded.
// It is part of the saved model.
type Input struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "numeric", "categorical", Share or Ratio
	// Of names the numerator and denominator columns of a Share or Ratio.
	Of []string `json:"of,omitempty"`
	// Prior and Smoothing are a Share's population proportion p₀ and pseudo-count α.
	Prior     float64 `json:"prior,omitempty"`
	Smoothing float64 `json:"smoothing,omitempty"`
	// Weight scales each standardised level indicator of a categorical input (1/√levels);
	// 0, in models written before weights existed, means 1.
	Weight float64  `json:"weight,omitempty"`
	Log    bool     `json:"log,omitempty"`    // log1p before standardising
	Median float64  `json:"median,omitempty"` // fill value for a missing number (original units)
	Mean   float64  `json:"mean,omitempty"`   // of the (logged) values
	Std    float64  `json:"std,omitempty"`    // population standard deviation of the (logged) values
	Levels []string `json:"levels,omitempty"` // one-hot levels, in dimension order
	// LevelMean and LevelStd standardise each level's 0/1 indicator.
	LevelMean []float64 `json:"level_mean,omitempty"`
	LevelStd  []float64 `json:"level_std,omitempty"`
}

// Transform maps rows of a frame to standardised vectors. Its zero value is unusable; get
// one from FitTransform.
type Transform struct {
	Inputs []Input  `json:"inputs"`
	Dims   []string `json:"dims"`  // name of each output dimension: column, or column=level
	Notes  []string `json:"notes"` // columns left out and why, imputations
	Impute bool     `json:"impute"`
	ranges [][2]int // output dims of each input
	levels []map[string]int
	src    [][2]int // positions in InputNames of each input's column(s) (one or two)
}

// FitTransform learns the encoding of the columns of f.
func FitTransform(f *frame.Frame, s TransformSettings) (*Transform, error) {
	if s.MaxLevels <= 0 {
		s.MaxLevels = 12
	}
	if s.SkewThreshold <= 0 {
		s.SkewThreshold = 1
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if len(f.Columns) == 0 || f.Rows() == 0 {
		return nil, ErrNoColumns
	}
	t := &Transform{Impute: s.Impute}
	var constant []string
	cols := make([]*frame.Column, 0, len(f.Columns))
	if s.Columns == nil {
		for ci := range f.Columns {
			cols = append(cols, &f.Columns[ci])
		}
	} else {
		for _, name := range s.Columns {
			c := f.Column(name)
			if c == nil {
				return nil, fmt.Errorf("%w: column %q", ErrField, name)
			}
			cols = append(cols, c)
		}
	}
	for _, c := range cols {
		if c.Kind == frame.Categorical {
			in, note := fitCategorical(c, s.MaxLevels)
			if note != "" {
				t.Notes = append(t.Notes, note)
				if strings.Contains(note, "constant") {
					constant = append(constant, c.Name)
				}
				continue
			}
			if s.WeightLevels {
				in.Weight = 1 / math.Sqrt(float64(len(in.Levels)))
			}
			t.Inputs = append(t.Inputs, in)
			continue
		}
		in, note, err := fitNumeric(Input{Name: c.Name, Kind: "numeric"}, c.Num, s)
		if err != nil {
			return nil, err
		}
		t.Notes = append(t.Notes, note...)
		if in == nil {
			if len(note) > 0 && strings.HasSuffix(note[len(note)-1], "constant") {
				constant = append(constant, c.Name)
			}
			continue
		}
		t.Inputs = append(t.Inputs, *in)
	}
	for _, d := range s.Derived {
		in, vals, err := fitDerived(f, d)
		if err != nil {
			return nil, err
		}
		fitted, note, err := fitNumeric(in, vals, s)
		if err != nil {
			return nil, err
		}
		t.Notes = append(t.Notes, note...)
		if fitted == nil {
			if len(note) > 0 && strings.HasSuffix(note[len(note)-1], "constant") {
				constant = append(constant, in.Name)
			}
			continue
		}
		t.Inputs = append(t.Inputs, *fitted)
	}
	if len(t.Inputs) == 0 {
		if len(constant) > 0 {
			return nil, fmt.Errorf("%w (%s)", ErrAllConstant, strings.Join(constant, ", "))
		}
		return nil, ErrNoColumns
	}
	t.index()
	return t, nil
}

// fitNumeric learns the scale of a numeric or derived input from its values (original
// units, NaN for missing). It returns nil and a note when the input is left out.
func fitNumeric(in Input, vals []float64, s TransformSettings) (*Input, []string, error) {
	present := make([]float64, 0, len(vals))
	missing := 0
	for r, v := range vals {
		if math.IsNaN(v) {
			if !s.Impute {
				return nil, nil, &MissingError{Column: in.Name, Row: r}
			}
			missing++
			continue
		}
		present = append(present, v)
	}
	if len(present) == 0 {
		return nil, []string{fmt.Sprintf("column %q left out: every value is missing", in.Name)}, nil
	}
	var notes []string
	in.Median = median(present)
	if missing > 0 {
		notes = append(notes, fmt.Sprintf("column %q: %d missing values imputed with the median %s", in.Name, missing, fmtNum(in.Median)))
	}
	if in.Kind == Share {
		// The skewness rule reads a share on its arcsine-root scale.
		for i, v := range present {
			present[i] = in.encode(v)
		}
	}
	if !s.NoLog && slices.Min(present) >= 0 && distinctAbove(present, 2) && skewness(present) > s.SkewThreshold {
		in.Log = true
	}
	sum, n := 0.0, float64(len(vals))
	for _, v := range vals {
		sum += in.encode(v)
	}
	in.Mean = sum / n
	ss := 0.0
	for _, v := range vals {
		e := in.encode(v) - in.Mean
		ss += e * e
	}
	in.Std = math.Sqrt(ss / n)
	if !(in.Std > 1e-12*math.Max(1, math.Abs(in.Mean))) {
		return nil, append(notes, fmt.Sprintf("column %q left out: constant", in.Name)), nil
	}
	return &in, notes, nil
}

// fitDerived checks d against f, learns a Share's prior and returns the input (before
// scaling) with its values in original units.
func fitDerived(f *frame.Frame, d Derived) (Input, []float64, error) {
	in := Input{Name: d.Name(), Kind: d.Kind, Of: []string{d.Num, d.Den}}
	if d.Kind != Share && d.Kind != Ratio {
		return in, nil, fmt.Errorf("persona: derived input %q has unknown kind %q (want %q or %q)", in.Name, d.Kind, Share, Ratio)
	}
	var src [2][]float64
	for i, name := range in.Of {
		c := f.Column(name)
		if c == nil {
			return in, nil, fmt.Errorf("%w: column %q (for %s)", ErrField, name, in.Name)
		}
		if c.Kind != frame.Numeric {
			return in, nil, fmt.Errorf("persona: column %q (for %s) is %s, want numbers", name, in.Name, c.Kind)
		}
		src[i] = c.Num
	}
	if d.Kind == Share {
		in.Smoothing = d.Smoothing
		if in.Smoothing <= 0 {
			in.Smoothing = DefaultSmoothing
		}
		num, den := 0.0, 0.0
		for r, a := range src[0] {
			if b := src[1][r]; a >= 0 && b >= 0 {
				num += a
				den += math.Max(a, b)
			}
		}
		if den > 0 {
			in.Prior = math.Min(1, num/den)
		}
	}
	vals := make([]float64, len(src[0]))
	for r := range vals {
		vals[r] = in.derive(src[0][r], src[1][r])
	}
	return in, vals, nil
}

// derive computes a derived input's value in original units from its two sources.
func (in *Input) derive(num, den float64) float64 {
	switch in.Kind {
	case Share:
		if math.IsNaN(num) || math.IsNaN(den) || num <= 0 && den <= 0 {
			return in.Prior
		}
		// A numerator may count more than its denominator (page_blog_90d also counts
		// the blog pages of social events, n_page_view_90d only page views); the
		// denominator is then taken to be the numerator.
		num = math.Max(num, 0)
		return (num + in.Smoothing*in.Prior) / (math.Max(num, den) + in.Smoothing)
	case Ratio:
		if math.IsNaN(num) || math.IsNaN(den) {
			return math.NaN()
		}
		if den == 0 {
			return 0
		}
		return num / den
	}
	return num
}

// encode maps a raw number to the (logged) scale: a share is first arcsine-root encoded,
// and then logged too when that scale is still skewed; NaN becomes the median.
func (in *Input) encode(v float64) float64 {
	if math.IsNaN(v) {
		v = in.Median
	}
	if in.Kind == Share {
		v = math.Asin(math.Sqrt(math.Max(0, math.Min(1, v))))
	}
	if in.Log {
		return math.Log1p(math.Max(v, 0))
	}
	return v
}

// scaled reports whether an input is a number on a standardised scale (numeric or derived).
func (in *Input) scaled() bool { return in.Kind != "categorical" }

// weight is the scale of each level indicator of a categorical input.
func (in *Input) weight() float64 {
	if in.Weight > 0 {
		return in.Weight
	}
	return 1
}

func fitCategorical(c *frame.Column, maxLevels int) (Input, string) {
	count := map[string]int{}
	for _, v := range c.Cat {
		if v != "" {
			count[v]++
		}
	}
	if len(count) > maxLevels {
		return Input{}, fmt.Sprintf("column %q left out: %d levels, more than %d (an identifier or free text?)", c.Name, len(count), maxLevels)
	}
	levels := make([]string, 0, len(count))
	for l := range count {
		levels = append(levels, l)
	}
	sort.Slice(levels, func(i, j int) bool {
		if count[levels[i]] != count[levels[j]] {
			return count[levels[i]] > count[levels[j]]
		}
		return levels[i] < levels[j]
	})
	n := float64(len(c.Cat))
	in := Input{Name: c.Name, Kind: "categorical"}
	for _, l := range levels {
		p := float64(count[l]) / n
		sd := math.Sqrt(p * (1 - p))
		if sd == 0 {
			continue
		}
		in.Levels = append(in.Levels, l)
		in.LevelMean = append(in.LevelMean, p)
		in.LevelStd = append(in.LevelStd, sd)
	}
	if len(in.Levels) == 0 {
		return Input{}, fmt.Sprintf("column %q left out: constant", c.Name)
	}
	return in, ""
}

// index builds the lookup tables used by Apply and ApplyRecord; it also checks the
// decoded state of a loaded transform.
func (t *Transform) index() {
	t.Dims = t.Dims[:0]
	t.ranges = make([][2]int, len(t.Inputs))
	t.levels = make([]map[string]int, len(t.Inputs))
	t.src = make([][2]int, len(t.Inputs))
	pos := map[string]int{} // as Model.InputNames orders the columns
	at := func(name string) int {
		p, ok := pos[name]
		if !ok {
			p = len(pos)
			pos[name] = p
		}
		return p
	}
	for i := range t.Inputs {
		in := &t.Inputs[i]
		if len(in.Of) > 0 {
			t.src[i][0] = at(in.Of[0])
			t.src[i][1] = t.src[i][0]
			if len(in.Of) > 1 {
				t.src[i][1] = at(in.Of[1])
			}
		} else {
			t.src[i][0] = at(in.Name)
			t.src[i][1] = t.src[i][0]
		}
		lo := len(t.Dims)
		if in.Kind == "categorical" {
			t.levels[i] = make(map[string]int, len(in.Levels))
			for j, l := range in.Levels {
				t.levels[i][l] = j
				t.Dims = append(t.Dims, in.Name+"="+l)
			}
		} else {
			t.Dims = append(t.Dims, in.Name)
		}
		t.ranges[i] = [2]int{lo, len(t.Dims)}
	}
}

// validate checks a decoded transform.
func (t *Transform) validate() error {
	if len(t.Inputs) == 0 {
		return ErrNoColumns
	}
	for i := range t.Inputs {
		in := &t.Inputs[i]
		switch in.Kind {
		case "numeric", Share, Ratio:
			if !(in.Std > 0) || math.IsInf(in.Std, 0) || math.IsNaN(in.Mean) || math.IsInf(in.Mean, 0) || math.IsNaN(in.Median) {
				return fmt.Errorf("persona: input %q has a bad scale", in.Name)
			}
			if in.Kind != "numeric" && (len(in.Of) != 2 || in.Of[0] == "" || in.Of[1] == "") {
				return fmt.Errorf("persona: derived input %q does not name its two columns", in.Name)
			}
			if in.Kind == Share && !(in.Prior >= 0 && in.Prior <= 1 && in.Smoothing >= 0 && !math.IsInf(in.Smoothing, 0)) {
				return fmt.Errorf("persona: share %q has a bad prior or smoothing", in.Name)
			}
		case "categorical":
			if len(in.Levels) == 0 || len(in.LevelMean) != len(in.Levels) || len(in.LevelStd) != len(in.Levels) {
				return fmt.Errorf("persona: input %q has inconsistent levels", in.Name)
			}
			if in.Weight < 0 || math.IsNaN(in.Weight) || math.IsInf(in.Weight, 0) {
				return fmt.Errorf("persona: input %q has a bad weight", in.Name)
			}
			for _, sd := range in.LevelStd {
				if !(sd > 0) {
					return fmt.Errorf("persona: input %q has a bad level scale", in.Name)
				}
			}
		default:
			return fmt.Errorf("persona: input %q has unknown kind %q", in.Name, in.Kind)
		}
	}
	t.index()
	return nil
}

// Dim returns the number of output dimensions.
func (t *Transform) Dim() int { return len(t.Dims) }

// Apply encodes every row of f (which must hold the transform's input columns) into a
// row-major matrix of f.Rows() × t.Dim() values.
func (t *Transform) Apply(f *frame.Frame) ([]float64, error) {
	n := f.Rows()
	dim := t.Dim()
	out := make([]float64, n*dim)
	for i := range t.Inputs {
		in := &t.Inputs[i]
		lo := t.ranges[i][0]
		if in.Kind == Share || in.Kind == Ratio {
			vals, err := in.values(f)
			if err != nil {
				return nil, err
			}
			for r, v := range vals {
				if math.IsNaN(v) && !t.Impute {
					return nil, &MissingError{Column: in.Name, Row: r}
				}
				out[r*dim+lo] = (in.encode(v) - in.Mean) / in.Std
			}
			continue
		}
		c := f.Column(in.Name)
		if c == nil {
			return nil, fmt.Errorf("%w: column %q", ErrField, in.Name)
		}
		if in.Kind == "numeric" {
			if c.Kind != frame.Numeric {
				return nil, fmt.Errorf("persona: column %q is %s, the model expects numbers", in.Name, c.Kind)
			}
			for r, v := range c.Num {
				if math.IsNaN(v) && !t.Impute {
					return nil, &MissingError{Column: in.Name, Row: r}
				}
				out[r*dim+lo] = (in.encode(v) - in.Mean) / in.Std
			}
			continue
		}
		if c.Kind != frame.Categorical {
			return nil, fmt.Errorf("persona: column %q is numeric, the model expects categories", in.Name)
		}
		for r, v := range c.Cat {
			t.encodeLevel(i, v, out[r*dim+lo:r*dim+t.ranges[i][1]])
		}
	}
	return out, nil
}

// values returns a derived input's values in original units for every row of f.
func (in *Input) values(f *frame.Frame) ([]float64, error) {
	var src [2][]float64
	for k, name := range in.Of {
		c := f.Column(name)
		if c == nil {
			return nil, fmt.Errorf("%w: column %q (for %s)", ErrField, name, in.Name)
		}
		if c.Kind != frame.Numeric {
			return nil, fmt.Errorf("persona: column %q (for %s) is %s, the model expects numbers", name, in.Name, c.Kind)
		}
		src[k] = c.Num
	}
	out := make([]float64, len(src[0]))
	for r := range out {
		out[r] = in.derive(src[0][r], src[1][r])
	}
	return out, nil
}

func (t *Transform) encodeLevel(i int, v string, dst []float64) {
	in := &t.Inputs[i]
	w := in.weight()
	hit, ok := t.levels[i][v]
	for j := range dst {
		x := 0.0
		if ok && j == hit {
			x = 1
		}
		dst[j] = w * (x - in.LevelMean[j]) / in.LevelStd[j]
	}
}

// DimWeight returns the weight of output dimension d: 1/√levels for a level of a weighted
// categorical input, else 1. A centroid coordinate divided by it is in standard deviations.
func (t *Transform) DimWeight(d int) float64 {
	for i, r := range t.ranges {
		if d >= r[0] && d < r[1] {
			return t.Inputs[i].weight()
		}
	}
	return 1
}

// ApplyRecord encodes one record into dst (length t.Dim()). Numbers may be any Go number
// type, a json.Number or a numeric string; a nil or NaN number is replaced by the
// training median (a contact with a missing value is placed as a typical one on that
// column). Categorical values are formatted with fmt; an unseen level encodes as no level.
// A field absent from rec is an error naming it.
func (t *Transform) ApplyRecord(rec map[string]any, dst []float64) error {
	for i := range t.Inputs {
		in := &t.Inputs[i]
		lo, hi := t.ranges[i][0], t.ranges[i][1]
		if in.Kind == Share || in.Kind == Ratio {
			var x [2]float64
			for k, name := range in.Of {
				v, ok := rec[name]
				if !ok {
					return fmt.Errorf("%w: %q", ErrField, name)
				}
				var err error
				if x[k], err = toFloat(v); err != nil {
					return fmt.Errorf("persona: field %q: %w", name, err)
				}
			}
			dst[lo] = (in.encode(in.derive(x[0], x[1])) - in.Mean) / in.Std
			continue
		}
		v, ok := rec[in.Name]
		if !ok {
			return fmt.Errorf("%w: %q", ErrField, in.Name)
		}
		if in.Kind == "numeric" {
			x, err := toFloat(v)
			if err != nil {
				return fmt.Errorf("persona: field %q: %w", in.Name, err)
			}
			dst[lo] = (in.encode(x) - in.Mean) / in.Std
			continue
		}
		s := ""
		switch v := v.(type) {
		case nil:
		case string:
			s = v
		default:
			s = fmt.Sprint(v)
		}
		t.encodeLevel(i, s, dst[lo:hi])
	}
	return nil
}

// ApplyValues is ApplyRecord for a record given by position: num[k] and str[k] hold the
// value of column k of Model.InputNames's order, a number in num (NaN: missing) with str[k]
// "", or a text in str[k] with num[k] NaN for a categorical column. It writes what
// ApplyRecord writes for the same record and reports true; it reports false, leaving dst
// unspecified, for a record ApplyRecord would read another way — a text for a numeric or
// derived column, a number for a categorical one, an infinite number — which callers pass
// to ApplyRecord instead.
func (t *Transform) ApplyValues(num []float64, str []string, dst []float64) bool {
	for i := range t.Inputs {
		in := &t.Inputs[i]
		lo, hi := t.ranges[i][0], t.ranges[i][1]
		a, b := t.src[i][0], t.src[i][1]
		if a >= len(num) || b >= len(num) || a >= len(str) || b >= len(str) {
			return false
		}
		if in.Kind == "categorical" {
			if str[a] == "" && !math.IsNaN(num[a]) {
				return false
			}
			t.encodeLevel(i, str[a], dst[lo:hi])
			continue
		}
		if str[a] != "" || str[b] != "" || math.IsInf(num[a], 0) || math.IsInf(num[b], 0) {
			return false
		}
		x := num[a]
		if in.Kind == Share || in.Kind == Ratio {
			x = in.derive(num[a], num[b])
		}
		dst[lo] = (in.encode(x) - in.Mean) / in.Std
	}
	return true
}

func toFloat(v any) (float64, error) {
	switch v := v.(type) {
	case nil:
		return math.NaN(), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case interface{ Float64() (float64, error) }: // json.Number
		return v.Float64()
	case string:
		if v == "" {
			return math.NaN(), nil
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsInf(x, 0) {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		return x, nil
	}
	x, ok := frame.Number(v)
	if !ok {
		return 0, fmt.Errorf("%T is not a number", v)
	}
	if math.IsInf(x, 0) {
		return 0, errors.New("infinite value")
	}
	return x, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func distinctAbove(v []float64, n int) bool {
	seen := map[float64]bool{}
	for _, x := range v {
		seen[x] = true
		if len(seen) > n {
			return true
		}
	}
	return false
}

// skewness is the Fisher–Pearson coefficient m₃/m₂^{3/2} with population moments.
func skewness(v []float64) float64 {
	n := float64(len(v))
	mean := 0.0
	for _, x := range v {
		mean += x
	}
	mean /= n
	m2, m3 := 0.0, 0.0
	for _, x := range v {
		e := x - mean
		m2 += e * e
		m3 += e * e * e
	}
	m2 /= n
	m3 /= n
	if m2 == 0 {
		return 0
	}
	return m3 / math.Pow(m2, 1.5)
}

func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}
