package tabular

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/propensity-dev/propensity/models/frame"
)

// ErrLabel is wrapped by every label-extraction error.
var ErrLabel = errors.New("label")

// ErrColumn is wrapped when a named column does not exist.
var ErrColumn = errors.New("no such column")

// LabelOptions says which column is the label and which columns are not features.
type LabelOptions struct {
	// Label is the binary label column. Required.
	Label string
	// Positive is the label value meaning 1; every other present value means 0. Empty means
	// detect it: the label must have exactly two values forming one of the pairs Yes/No,
	// True/False, Ja/Nein, Y/N, T/F or 1/0 (case-insensitive), and the first of the pair is positive.
	Positive string
	// ID is an identifier column: kept in Dataset.IDs, left out of the features.
	ID string
	// Exclude names further columns to leave out of the features (leaky columns, external
	// labels).
	Exclude []string
}

// Dataset is a feature frame with its binary label.
type Dataset struct {
	X        *frame.Frame // features: the table without the label, ID and excluded columns
	Y        []float64    // 1 for the positive value, else 0
	IDs      []string     // the ID column as text; nil without LabelOptions.ID
	Label    string       // the label column's name
	Positive string       // the positive value, as detected or given
	Dropped  int          // rows left out because their label was missing
}

// Positives returns the number of positive rows.
func (d *Dataset) Positives() int {
	n := 0
	for _, y := range d.Y {
		if y == 1 {
			n++
		}
	}
	return n
}

// ExtractLabel splits f into features and a binary label. Rows whose label is missing are
// left out and counted in Dataset.Dropped (for instance label_converted is null for people
// who already bought).
func ExtractLabel(f *frame.Frame, opts LabelOptions) (*Dataset, error) {
	if opts.Label == "" {
		return nil, fmt.Errorf("%w: no label column given", ErrLabel)
	}
	missingCol := func(name, what string) error {
		return fmt.Errorf("%w: %s column %q (the table has %s)", ErrColumn, what, name, strings.Join(f.Names(), ", "))
	}
	lc := f.Column(opts.Label)
	if lc == nil {
		return nil, missingCol(opts.Label, "label")
	}
	if opts.ID != "" && f.Column(opts.ID) == nil {
		return nil, missingCol(opts.ID, "id")
	}
	for _, e := range opts.Exclude {
		if f.Column(e) == nil {
			return nil, missingCol(e, "excluded")
		}
	}
	n := f.Rows()
	text := make([]string, n) // "" = missing
	for i := 0; i < n; i++ {
		if lc.Kind == frame.Categorical {
			text[i] = lc.Cat[i]
		} else if !math.IsNaN(lc.Num[i]) {
			text[i] = formatNum(lc.Num[i])
		}
	}
	distinct := map[string]bool{}
	for _, s := range text {
		if s != "" {
			distinct[s] = true
		}
	}
	if len(distinct) == 0 {
		return nil, fmt.Errorf("%w: column %q has no values", ErrLabel, opts.Label)
	}
	positive := opts.Positive
	isPos := func(s string) bool { return s == positive }
	if positive == "" {
		p, err := detectPositive(opts.Label, distinct)
		if err != nil {
			return nil, err
		}
		positive = p
	} else {
		found := distinct[positive]
		if !found && lc.Kind == frame.Numeric {
			if pv, err := strconv.ParseFloat(positive, 64); err == nil {
				positive = formatNum(pv)
				found = distinct[positive]
			}
		}
		if !found {
			vals, more := sortedDistinct(distinct, 20)
			return nil, fmt.Errorf("%w: --positive %q is not a value of column %q (values: %s%s)",
				ErrLabel, opts.Positive, opts.Label, strings.Join(vals, ", "), ellipsis(more))
		}
	}
	if len(distinct) < 2 {
		return nil, fmt.Errorf("%w: column %q has the single value %q; a model needs both outcomes", ErrLabel, opts.Label, positive)
	}

	drop := append([]string{opts.Label}, opts.Exclude...)
	if opts.ID != "" {
		drop = append(drop, opts.ID)
	}
	var keep []int
	for i, s := range text {
		if s != "" {
			keep = append(keep, i)
		}
	}
	d := &Dataset{Label: opts.Label, Positive: positive, Dropped: n - len(keep)}
	X := f.Drop(drop...)
	if len(keep) < n {
		X = X.Take(keep)
	}
	d.X = X
	d.Y = make([]float64, len(keep))
	for k, i := range keep {
		if isPos(text[i]) {
			d.Y[k] = 1
		}
	}
	if opts.ID != "" {
		ic := f.Column(opts.ID)
		d.IDs = make([]string, len(keep))
		for k, i := range keep {
			if ic.Kind == frame.Categorical {
				d.IDs[k] = ic.Cat[i]
			} else if !math.IsNaN(ic.Num[i]) {
				d.IDs[k] = formatNum(ic.Num[i])
			}
		}
	}
	return d, nil
}

// positivePairs are the value pairs whose positive side is detected, first = positive.
var positivePairs = [][2]string{{"yes", "no"}, {"true", "false"}, {"ja", "nein"}, {"y", "n"}, {"t", "f"}, {"1", "0"}}

func detectPositive(label string, distinct map[string]bool) (string, error) {
	vals, more := sortedDistinct(distinct, 20)
	if len(distinct) == 2 {
		for _, pair := range positivePairs {
			var pos string
			ok := true
			for v := range distinct {
				switch strings.ToLower(v) {
				case pair[0]:
					pos = v
				case pair[1]:
				default:
					ok = false
				}
			}
			if ok && pos != "" {
				return pos, nil
			}
		}
	}
	if len(distinct) == 1 {
		return "", fmt.Errorf("%w: column %q has the single value %q; a model needs both outcomes", ErrLabel, label, vals[0])
	}
	return "", fmt.Errorf("%w: cannot tell which value of column %q is positive (values: %s%s); give --positive VALUE",
		ErrLabel, label, strings.Join(vals, ", "), ellipsis(more))
}

func ellipsis(more bool) string {
	if more {
		return ", ..."
	}
	return ""
}

// sortedDistinct returns up to max distinct values of vs, sorted, and whether there were more.
func sortedDistinct(vs map[string]bool, max int) ([]string, bool) {
	out := make([]string, 0, len(vs))
	for v := range vs {
		out = append(out, v)
	}
	sort.Strings(out)
	if len(out) > max {
		return out[:max], true
	}
	return out, false
}

// formatNum writes v in its shortest exact decimal form.
func formatNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
