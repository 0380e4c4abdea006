package synth

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied by Options.EnsureDefaults to zero-valued fields.
const (
	DefaultContacts          = 20000
	DefaultSeed              = 1
	DefaultHorizon           = 90 * 24 * time.Hour
	DefaultPersonas          = 5
	DefaultConversionWindows = 3
	DefaultHistory           = 3 * 365 * 24 * time.Hour
	DefaultDuplicateRate     = 0.02
)

// DefaultAsOf is the default as-of time T: 2026-01-01T00:00:00Z.
func DefaultAsOf() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// ErrOptions is wrapped by every error Options.Validate reports.
var ErrOptions = errors.New("synth: invalid options")

// Options configures Generate. The zero value means "all defaults".
type Options struct {
	// Contacts is the number of people generated (each has one contact row, a few have a
	// duplicate second row). Zero means DefaultContacts (20,000).
	Contacts int
	// Seed selects the random history; the same seed and options give byte-identical files.
	// Zero means DefaultSeed (1).
	Seed uint64
	// AsOf is the as-of time T: truth labels describe [T, T+Horizon). Zero means DefaultAsOf.
	AsOf time.Time
	// Horizon is the label window length H. Zero means DefaultHorizon (90 days).
	Horizon time.Duration
	// Personas is the number of latent personas, between 1 and len(Catalog()). Zero means
	// DefaultPersonas (5).
	Personas int
	// ConversionWindows is the number of consecutive windows of length Horizon, the last one
	// being [T, T+H), in which prospects convert through the same observable mechanism.
	// Zero means DefaultConversionWindows (3: [T-2H,T-H), [T-H,T), [T,T+H)).
	ConversionWindows int
	// History is how far before T the oldest contact may be created. Zero means
	// DefaultHistory (3 years).
	History time.Duration
	// DuplicateRate is the share of people who also have a duplicate contact row sharing
	// their email. Zero means DefaultDuplicateRate (0.02); a negative value means none.
	DuplicateRate float64
	// Purchases, when set, replaces every persona's BG/NBD parameters, so that a fit on the
	// whole history can be compared with one parameter set. Nil means per-persona values.
	Purchases *BGNBD
	// Spend, when set, replaces every persona's Gamma-Gamma parameters. Nil means
	// per-persona values.
	Spend *GammaGamma
	// CampaignShare, when positive, simulates a randomised campaign at as-of T: that share of
	// contacts, drawn at random, gets a campaign_offer event at T, which changes treated
	// prospects' conversion in [T, T+H) by the true effect of CampaignModel; truth.parquet
	// then carries treated, p_control, p_treated, tau and uplift_group. Zero means no
	// campaign, and files identical to those written without the option. The campaign draws
	// from its own random stream, so control contacts' histories do not depend on it.
	CampaignShare float64
	// Workers is the number of goroutines generating contacts. Zero means GOMAXPROCS. The
	// output does not depend on it.
	Workers int
}

// EnsureDefaults returns a copy of o with zero fields set to their defaults.
func (o Options) EnsureDefaults() Options {
	if o.Contacts == 0 {
		o.Contacts = DefaultContacts
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.AsOf.IsZero() {
		o.AsOf = DefaultAsOf()
	}
	o.AsOf = o.AsOf.UTC()
	if o.Horizon == 0 {
		o.Horizon = DefaultHorizon
	}
	if o.Personas == 0 {
		o.Personas = DefaultPersonas
	}
	if o.ConversionWindows == 0 {
		o.ConversionWindows = DefaultConversionWindows
	}
	if o.History == 0 {
		o.History = DefaultHistory
	}
	if o.DuplicateRate == 0 {
		o.DuplicateRate = DefaultDuplicateRate
	}
	if o.DuplicateRate < 0 {
		o.DuplicateRate = 0
	}
	return o
}

// Validate reports every problem of o (after EnsureDefaults) at once; each wraps ErrOptions.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrOptions}, a...)...))
	}
	if o.Contacts < 1 || o.Contacts > 100_000_000 {
		bad("contacts must be between 1 and 100000000, got %d", o.Contacts)
	}
	if o.Horizon < time.Hour {
		bad("horizon must be at least 1h, got %s", o.Horizon)
	}
	if n := len(Catalog()); o.Personas < 1 || o.Personas > n {
		bad("personas must be between 1 and %d, got %d", n, o.Personas)
	}
	if o.ConversionWindows < 1 || o.ConversionWindows > 12 {
		bad("conversion windows must be between 1 and 12, got %d", o.ConversionWindows)
	}
	if o.History < 30*24*time.Hour {
		bad("history must be at least 30 days, got %s", o.History)
	}
	if o.History <= time.Duration(o.ConversionWindows)*o.Horizon {
		bad("history (%s) must be longer than conversion windows × horizon (%d × %s)", o.History, o.ConversionWindows, o.Horizon)
	}
	if o.DuplicateRate > 0.5 {
		bad("duplicate rate must be at most 0.5, got %g", o.DuplicateRate)
	}
	if !(o.CampaignShare >= 0 && o.CampaignShare < 1) {
		bad("campaign share must be at least 0 and below 1, got %g", o.CampaignShare)
	}
	if o.Workers < 0 {
		bad("workers must not be negative, got %d", o.Workers)
	}
	if b := o.Purchases; b != nil && !(b.R > 0 && b.Alpha > 0 && b.A > 0 && b.B > 0) {
		bad("BG/NBD parameters must all be positive, got %+v", *b)
	}
	if s := o.Spend; s != nil && !(s.P > 0 && s.Q > 1 && s.Gamma > 0) {
		bad("Gamma-Gamma parameters need p > 0, q > 1, gamma > 0, got %+v", *s)
	}
	if y := o.AsOf.Year(); y < 1980 || y > 2200 {
		bad("as-of %s is outside 1980–2200", o.AsOf.Format(time.RFC3339))
	}
	return errors.Join(errs...)
}
