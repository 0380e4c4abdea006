package btyd

import (
	"fmt"
	"strings"
)

// Period is the time unit of a model, as a number of days. Recency, age and forecast
// horizons are all expressed in periods.
type Period float64

// Standard periods. A month is the mean Gregorian month, 365.25/12 days.
const (
	Day   Period = 1
	Week  Period = 7
	Month Period = 30.4375
)

// Days returns the length of the period in days.
func (p Period) Days() float64 { return float64(p) }

// String returns "day", "week", "month", or the length in days for other periods.
func (p Period) String() string {
	switch p {
	case Day:
		return "day"
	case Week:
		return "week"
	case Month:
		return "month"
	}
	return fmt.Sprintf("%gd", float64(p))
}

// ParsePeriod parses "day", "week" or "month" (also "d", "w", "m", plural forms).
func ParsePeriod(s string) (Period, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "day", "days", "d", "daily":
		return Day, nil
	case "week", "weeks", "w", "weekly":
		return Week, nil
	case "month", "months", "m", "monthly":
		return Month, nil
	}
	return 0, fmt.Errorf("%w: %q (want day, week or month)", ErrPeriod, s)
}

// valid reports whether p is a usable period length.
func (p Period) valid() bool { return p > 0 && p < 1e6 }
