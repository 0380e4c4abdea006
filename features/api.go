package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SchemaVersion is the version of the feature table layout. It is written into the Parquet
// key-value metadata (key "propensity.features.schema_version") and recorded by models.
const SchemaVersion = 1

// Errors. Typed errors below wrap them, so callers can use errors.Is.
var (
	ErrBadProfile = errors.New("features: bad profile")
	ErrBadOptions = errors.New("features: bad options")
	ErrBadMapping = errors.New("features: bad history config")
)

// FieldError reports a bad field of a profile (docs/contract.md §2).
type FieldError struct {
	Field string // JSON path, e.g. "events[2].ts"
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("profile: %s: %s", e.Field, e.Msg) }
func (e *FieldError) Unwrap() error { return ErrBadProfile }

// Event is one touch of a person (a row of events.parquet without its id columns).
type Event struct {
	TS          time.Time
	Type        string
	Page        string
	Channel     string
	Campaign    string
	AnonymousID string
	Email       string
	// Value is e.g. a survey score; NaN means none.
	Value float64
}

// Transaction is one purchase of a person (a row of transactions.parquet without contact_id).
type Transaction struct {
	TS      time.Time
	Amount  float64
	Product string
	// Category is the product category; spend per category and the preferred category use it,
	// or Product when it is empty.
	Category string
	// Quantity is 0 when unknown.
	Quantity int64
}

// Profile is one contact with its history, as posted for online scoring (docs/contract.md §2).
type Profile struct {
	ContactID string
	// AsOf is the time the features are computed at; DecodeProfile defaults it to now.
	AsOf time.Time
	// Attributes holds contact columns: numbers (float64 or int), strings, bools; "created_at"
	// (RFC 3339 string or time.Time) gives tenure, "stage" the lifecycle stage.
	Attributes   map[string]any
	Events       []Event
	Transactions []Transaction
}

// Options says how features are computed. The zero value of every field means its default.
type Options struct {
	// AsOf is T: features use rows with ts < T. Required.
	AsOf time.Time `json:"as_of,omitzero"`
	// Horizon, when positive, adds labels over T <= ts < T+Horizon.
	Horizon time.Duration `json:"horizon_ns,omitempty"`
	// HalfLife of the exponentially decayed counts; default 30 days.
	HalfLife time.Duration `json:"half_life_ns,omitempty"`
	// Mapping names the history files and their columns; the zero value is the layout of
	// docs/contract.md, "History directory".
	Mapping Mapping `json:"mapping"`
	// ProductCategories lists the product categories (Transaction.Category, else Product) that get a spend_<category> column. Empty in
	// Build means: discovered from the data (the most frequent, up to 8, sorted by name); the
	// table records the list used (Table.Options), so online callers can pass it back.
	ProductCategories []string `json:"product_categories"`
	// Attributes lists the contact attribute columns that become features. Nil in Build means:
	// every contacts column other than ids, email, created_at and stage; nil in ComputeProfile
	// means: the profile's attribute keys. Table.Options records the list used.
	Attributes []Attribute `json:"attributes"`
	// StrictIdentity ignores identity links first seen at or after T (event links and
	// identities rows with ts >= T). The default, like the DuckDB reference, links through the
	// whole history.
	StrictIdentity bool `json:"strict_identity,omitempty"`
	// KeepEvent, when not nil, says which events the walks over people (ForEachPerson,
	// MapPersons) load: those of a type and page it returns true for. The others are left
	// out of Person.Events (and of memory), which suits a job that reads only some events,
	// as scorecards do (scorecard.Set.Needs); they still count in Report.Events. It must
	// depend on its arguments only and be safe for concurrent use: it is called once per
	// distinct pair and reader, from several goroutines. Build and ComputeProfile ignore it.
	KeepEvent func(typ, page string) bool `json:"-" yaml:"-"`
}

// UnmarshalJSON reads Options under their snake_case names and, from artifacts written
// before the names were fixed, under the Go field names (AsOf, Horizon, HalfLife,
// ProductCategories, StrictIdentity; the others match either way, case-insensitively), so
// that models trained by an older build keep their online feature options. Durations are
// in nanoseconds, as their names say.
func (o *Options) UnmarshalJSON(b []byte) error {
	type current Options
	var v struct {
		current
		LegacyAsOf              *time.Time     `json:"AsOf"`
		LegacyHorizon           *time.Duration `json:"Horizon"`
		LegacyHalfLife          *time.Duration `json:"HalfLife"`
		LegacyProductCategories []string       `json:"ProductCategories"`
		LegacyStrictIdentity    *bool          `json:"StrictIdentity"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Options(v.current)
	if v.LegacyAsOf != nil && o.AsOf.IsZero() {
		o.AsOf = *v.LegacyAsOf
	}
	if v.LegacyHorizon != nil && o.Horizon == 0 {
		o.Horizon = *v.LegacyHorizon
	}
	if v.LegacyHalfLife != nil && o.HalfLife == 0 {
		o.HalfLife = *v.LegacyHalfLife
	}
	if v.LegacyProductCategories != nil && o.ProductCategories == nil {
		o.ProductCategories = v.LegacyProductCategories
	}
	if v.LegacyStrictIdentity != nil && !o.StrictIdentity {
		o.StrictIdentity = *v.LegacyStrictIdentity
	}
	return nil
}

// Attribute is a contact column used as a feature.
type Attribute struct {
	Name        string `json:"name" yaml:"name"`
	Categorical bool   `json:"categorical,omitempty" yaml:"categorical,omitempty"`
}
