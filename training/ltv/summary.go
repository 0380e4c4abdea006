package ltv

import (
	"slices"

	"github.com/propensity-dev/propensity/models/btyd"
)

// Summaries holds one row per customer with a purchase on or before the calibration end,
// in the order of first appearance in the file. Times are in periods.
type Summaries struct {
	Period   btyd.Period
	IDs      []string
	X        []float64 // repeat purchase days in calibration
	TX       []float64 // last − first purchase day, in periods
	T        []float64 // calibration end − first purchase day, in periods
	Monetary []float64 // mean amount of the repeat purchase days (0 when X = 0)
	Spend    []float64 // total amount in calibration (all purchase days)
	First    []int64   // first purchase day (days since 1970-01-01)
	Holdout  []float64 // purchase days in (calibration end, holdout end]; nil without holdout

	// RepeatDays lists, for the cumulative tracking plot, the day of every repeat purchase
	// day (calibration and holdout) of these customers.
	RepeatDays []int64

	// AfterCalibrationOnly counts customers whose first purchase is after the calibration
	// end: they are not summarised (the model conditions on a first purchase).
	AfterCalibrationOnly int

	// FirstDay and LastDay are the earliest and latest purchase days of the whole data
	// (every customer, calibration and after), for checking the dates against the data.
	FirstDay, LastDay int64
}

// Summarize computes the per-customer summary with the conventions of the lifetimes
// package, which reproduce Fader, Hardie & Lee (2005) on CDNOW: transactions of one
// customer on one UTC day are one purchase whose amount is their sum; the calibration
// period ends on day calEnd inclusive; x = purchase days − 1; t_x = last − first purchase
// day; T = calEnd − first purchase day (so T is 0 for a first purchase on calEnd; CDNOW's
// T = 38.86 weeks for a customer first seen on 1997-01-01 with calEnd 1997-09-30); monetary
// is the mean of the repeat purchase days' amounts. With holdEnd > calEnd, Holdout counts
// purchase days in (calEnd, holdEnd].
func Summarize(tx *Transactions, calEnd, holdEnd int64, period btyd.Period) *Summaries {
	nc := len(tx.IDs)
	// Counting sort of rows by customer, then each customer's rows by day.
	start := make([]int32, nc+1)
	for _, c := range tx.Customer {
		start[c+1]++
	}
	for i := range nc {
		start[i+1] += start[i]
	}
	pos := slices.Clone(start[:nc])
	order := make([]int32, len(tx.Customer))
	for i, c := range tx.Customer {
		order[pos[c]] = int32(i)
		pos[c]++
	}
	s := &Summaries{Period: period}
	if len(tx.Day) > 0 {
		s.FirstDay, s.LastDay = slices.Min(tx.Day), slices.Max(tx.Day)
	}
	withHold := holdEnd > calEnd
	pd := period.Days()
	type dayAmt struct {
		day int64
		amt float64
	}
	var buf []dayAmt
	for c := range nc {
		rows := order[start[c]:start[c+1]]
		buf = buf[:0]
		for _, i := range rows {
			buf = append(buf, dayAmt{tx.Day[i], tx.Amount[i]})
		}
		slices.SortFunc(buf, func(a, b dayAmt) int {
			switch {
			case a.day < b.day:
				return -1
			case a.day > b.day:
				return 1
			}
			return 0
		})
		if len(buf) == 0 {
			continue
		}
		first := buf[0].day
		if first > calEnd {
			s.AfterCalibrationOnly++
			continue
		}
		var days, hold int
		var last int64
		var spend, repeat float64
		prev := int64(-1 << 62)
		for _, r := range buf {
			if r.day > calEnd {
				if withHold && r.day <= holdEnd && r.day != prev {
					hold++
					s.RepeatDays = append(s.RepeatDays, r.day)
				}
				prev = r.day
				continue
			}
			if r.day != prev {
				days++
				last = r.day
				if r.day != first {
					s.RepeatDays = append(s.RepeatDays, r.day)
				}
			}
			prev = r.day
			spend += r.amt
			if r.day != first {
				repeat += r.amt
			}
		}
		x := float64(days - 1)
		mon := 0.0
		if x > 0 {
			mon = repeat / x
		}
		s.IDs = append(s.IDs, tx.IDs[c])
		s.X = append(s.X, x)
		s.TX = append(s.TX, float64(last-first)/pd)
		s.T = append(s.T, float64(calEnd-first)/pd)
		s.Monetary = append(s.Monetary, mon)
		s.Spend = append(s.Spend, spend)
		s.First = append(s.First, first)
		if withHold {
			s.Holdout = append(s.Holdout, float64(hold))
		}
	}
	return s
}

// Len returns the number of customers.
func (s *Summaries) Len() int { return len(s.X) }
