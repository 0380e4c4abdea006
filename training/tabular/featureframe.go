package tabular

import (
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/features/history"
	"github.com/propensity-dev/propensity/models/frame"
)

// FeatureFrame returns the columns of a feature table (history.Build) that keep accepts, in
// table order, as a frame: categorical columns as strings ("" for null), the others as
// float64 (NaN for null). A nil keep takes every feature column (Column.IsFeature), so ids,
// id lists and labels are left out. Training, evaluation and personas all read feature tables
// through it.
func FeatureFrame(t *history.Table, keep func(features.Column) bool) (*frame.Frame, error) {
	if keep == nil {
		keep = features.Column.IsFeature
	}
	f := &frame.Frame{}
	for _, c := range t.Schema().Columns {
		if !keep(c) {
			continue
		}
		if c.Kind == features.KindCategorical {
			v, err := t.Strings(c.Name)
			if err != nil {
				return nil, err
			}
			f.AddCategorical(c.Name, v)
			continue
		}
		v, err := t.Float64s(c.Name)
		if err != nil {
			return nil, err
		}
		f.AddNumeric(c.Name, v)
	}
	return f, nil
}
