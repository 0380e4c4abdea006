package features

import (
	"fmt"
	"math"
	"strings"

	"github.com/propensity-dev/propensity/internal/eventtype"
)

// Kind says what a feature table column is for.
type Kind int

const (
	// KindID is the surviving contact_id (string).
	KindID Kind = iota
	// KindIDList is merged_ids (list of strings).
	KindIDList
	// KindCount is a non-negative integer feature (int64, never null).
	KindCount
	// KindNumeric is a float64 feature; null (NaN in accessors) when undefined.
	KindNumeric
	// KindCategorical is a string feature; null ("" in accessors) when unknown.
	KindCategorical
	// KindLabel is a label over the horizon window (present only with Options.Horizon > 0).
	KindLabel
)

func (k Kind) String() string {
	switch k {
	case KindID:
		return "id"
	case KindIDList:
		return "id_list"
	case KindCount:
		return "count"
	case KindNumeric:
		return "numeric"
	case KindCategorical:
		return "categorical"
	case KindLabel:
		return "label"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Column describes one column of the feature table.
type Column struct {
	Name string
	Kind Kind
	// Integer is set for columns stored as int64 (counts, 0/1 labels); others are float64
	// or strings as Kind says.
	Integer bool
	// Nullable is set for columns that may be null.
	Nullable bool
	// Canonical marks the fixed columns of docs/contract.md §6.
	Canonical bool
}

// IsFeature reports whether the column is a model input (not an id and not a label).
func (c Column) IsFeature() bool {
	return c.Kind == KindCount || c.Kind == KindNumeric || c.Kind == KindCategorical
}

// Schema is the ordered column list of a feature table.
type Schema struct {
	Columns []Column
	index   map[string]int
}

// Index returns the position of the named column, or -1.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// Names returns the column names in order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = c.Name
	}
	return out
}

// FeatureNames returns the names of the model-input columns (counts, numeric, categorical).
func (s *Schema) FeatureNames() []string {
	var out []string
	for _, c := range s.Columns {
		if c.IsFeature() {
			out = append(out, c.Name)
		}
	}
	return out
}

// CanonicalTypes returns the canonical event types of docs/contract.md §1, in the order of their
// columns.
func CanonicalTypes() []string { return eventtype.Canonical() }

// PageCategories are the page categories counted by page_<category>_<N>d: a page counts for a
// category when its path or name contains the word (case-insensitive).
var pageCategories = [...]string{"pricing", "directions", "careers", "blog", "product"}

// windows are the N of n_<type>_<N>d.
var windows = [...]int{7, 30, 90}

const (
	nTypes               = eventtype.N
	nPageCats            = len(pageCategories)
	MaxProductCategories = 8 // the most spend_<category> columns history.Build discovers
)

// SchemaFor returns the columns of the feature table computed with opts (after defaults):
// ids, the canonical columns of docs/contract.md §6, the modelling columns, spend per product category,
// contact attributes, then labels when opts.Horizon > 0.
func SchemaFor(opts Options) *Schema {
	var cols []Column
	add := func(c Column) { cols = append(cols, c) }
	count := func(name string, canonical bool) {
		add(Column{Name: name, Kind: KindCount, Integer: true, Canonical: canonical})
	}
	num := func(name string, nullable, canonical bool) {
		add(Column{Name: name, Kind: KindNumeric, Nullable: nullable, Canonical: canonical})
	}
	add(Column{Name: "contact_id", Kind: KindID, Canonical: true})
	add(Column{Name: "merged_ids", Kind: KindIDList})
	// canonical (docs/contract.md §6), in the DuckDB reference's order
	count("n_events_30d", true)
	types := eventtype.Canonical()
	for _, ty := range types {
		for _, n := range windows {
			count(fmt.Sprintf("n_%s_%dd", ty, n), true)
		}
	}
	num("days_since_last_event", true, true)
	count("purchase_count", true)
	num("purchase_amount_sum", false, true)
	num("days_since_last_purchase", true, true)
	num("tenure_days", true, true)
	// modelling set
	count("n_events_7d", false)
	count("n_events_90d", false)
	count("n_events_total", false)
	count("n_other_events_90d", false)
	num("decayed_events", false, false)
	for _, ty := range types {
		num("decayed_"+ty, false, false)
	}
	for _, ty := range types {
		num("recency_"+ty+"_days", true, false)
	}
	count("active_days_7d", false)
	count("active_days_30d", false)
	count("active_days_90d", false)
	num("email_open_rate_90d", true, false)
	num("email_ctr_90d", true, false)
	num("email_click_to_open_90d", true, false)
	for _, c := range pageCategories {
		for _, n := range windows[1:] {
			count(fmt.Sprintf("page_%s_%dd", c, n), false)
		}
	}
	count("purchase_count_90d", false)
	num("purchase_amount_90d", false, false)
	num("rfm_frequency", true, false)
	num("rfm_recency_days", true, false)
	num("rfm_age_days", true, false)
	num("rfm_monetary", true, false)
	num("satisfaction_last", true, false)
	num("satisfaction_trend", true, false)
	num("days_since_last_survey", true, false)
	add(Column{Name: "stage", Kind: KindCategorical, Nullable: true})
	num("days_in_stage", true, false)
	add(Column{Name: "preferred_category", Kind: KindCategorical, Nullable: true})
	taken := map[string]bool{}
	for _, c := range cols {
		taken[c.Name] = true
	}
	for _, p := range opts.ProductCategories {
		name := uniqueName(taken, "spend_"+sanitize(p))
		num(name, false, false)
	}
	for _, a := range opts.Attributes {
		name := uniqueName(taken, a.Name)
		if a.Categorical {
			add(Column{Name: name, Kind: KindCategorical, Nullable: true})
		} else {
			num(name, true, false)
		}
	}
	if opts.Horizon > 0 {
		add(Column{Name: "label_purchase", Kind: KindLabel, Integer: true, Canonical: true})
		add(Column{Name: "label_converted", Kind: KindLabel, Integer: true, Nullable: true, Canonical: true})
		add(Column{Name: "label_churned", Kind: KindLabel, Integer: true, Nullable: true, Canonical: true})
		add(Column{Name: "label_spend", Kind: KindLabel, Canonical: true})
	}
	return NewSchema(cols)
}

// NewSchema returns the schema of cols (a table read back from its file).
func NewSchema(cols []Column) *Schema {
	s := &Schema{Columns: cols, index: make(map[string]int, len(cols))}
	for i, c := range cols {
		s.index[c.Name] = i
	}
	return s
}

func uniqueName(taken map[string]bool, name string) string {
	if taken[name] {
		name = "attr_" + name
	}
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", strings.TrimSuffix(name, fmt.Sprintf("_%d", i-1)), i)
	}
	taken[name] = true
	return name
}

// sanitize turns a product name into a column-name fragment: lower case, [a-z0-9_].
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// Row is one person's feature values in schema order: Nums for count, numeric and label
// columns (NaN when null), Strs for id and categorical columns ("" when null).
type Row struct {
	Schema    *Schema
	Nums      []float64
	Strs      []string
	MergedIDs []string
}

// NewRow returns an empty row of schema s, for RowFiller.Fill.
func NewRow(s *Schema) Row {
	r := Row{Schema: s, Nums: make([]float64, len(s.Columns)), Strs: make([]string, len(s.Columns))}
	for i := range r.Nums {
		r.Nums[i] = math.NaN()
	}
	return r
}

// Float returns the numeric value of the named column (NaN when null) and whether it exists.
func (r Row) Float(name string) (float64, bool) {
	i := r.Schema.Index(name)
	if i < 0 {
		return math.NaN(), false
	}
	return r.Nums[i], true
}

// String returns the string value of the named column and whether it exists.
func (r Row) String(name string) (string, bool) {
	i := r.Schema.Index(name)
	if i < 0 {
		return "", false
	}
	return r.Strs[i], true
}

// Map returns the row as name → value (float64, or string for id and categorical columns;
// nil for nulls), handy for JSON.
func (r Row) Map() map[string]any {
	out := make(map[string]any, len(r.Schema.Columns))
	for i, c := range r.Schema.Columns {
		switch c.Kind {
		case KindID, KindCategorical:
			if r.Strs[i] == "" {
				out[c.Name] = nil
			} else {
				out[c.Name] = r.Strs[i]
			}
		case KindIDList:
			out[c.Name] = r.MergedIDs
		default:
			if math.IsNaN(r.Nums[i]) {
				out[c.Name] = nil
			} else {
				out[c.Name] = r.Nums[i]
			}
		}
	}
	return out
}
