package table

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Override kinds (Override.As).
const (
	AsNumeric     = "numeric"
	AsCategorical = "categorical"
	AsDrop        = "drop"
	AsDate        = "date"
)

// Override settles a column's type instead of inference.
type Override struct {
	// As is numeric, categorical, drop or date.
	As string `yaml:"as" json:"as"`
	// Format is, for a date, one of yyyy-mm-dd, dd.mm.yyyy, dd/mm/yyyy or mm/dd/yyyy;
	// empty means detect it.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
}

func (o Override) String() string {
	if o.Format != "" {
		return o.As + " " + o.Format
	}
	return o.As
}

// Limits of inference.
const (
	// maxDistinct bounds the distinct values tracked per column; a text column with more is
	// free text.
	maxDistinct = 1 << 16
	// maxLevels is the most distinct values of a categorical column; more is free text,
	// dropped.
	maxLevels = 1000
	// minIDRows is the fewest present values for a column unique per row to be taken for an
	// identifier.
	minIDRows = 20
)

// stats gathers what inference needs about one text column in one pass.
type stats struct {
	present, missing int
	distinct         map[string]int
	overflow         bool

	dotOK, commaOK   bool // every present value is a number with this decimal mark
	differ           bool // some value reads as a different number under the two marks
	onlyDot          string
	onlyDotLine      int
	onlyComma        string
	onlyCommaLine    int
	eitherOK         bool // every present value is a number under one mark or the other
	intDot, intComma bool
	units            map[string]bool

	iso, dotDMY, slash bool
	slashA, slashB     int // largest first and second field of slash dates
	slashExample       string
	maxDate            time.Time
	days               map[int64]bool
}

func newStats() *stats {
	return &stats{distinct: map[string]int{}, dotOK: true, commaOK: true, eitherOK: true, intDot: true, intComma: true,
		iso: true, dotDMY: true, slash: true, units: map[string]bool{}, days: map[int64]bool{}}
}

func (s *stats) observe(v string, line int, miss missingSet) {
	if miss.is(v) {
		s.missing++
		return
	}
	s.present++
	if !s.overflow {
		if _, ok := s.distinct[v]; !ok && len(s.distinct) >= maxDistinct {
			s.overflow = true
		} else {
			s.distinct[v]++
		}
	}
	if s.eitherOK {
		d, ud, okD := ParseNumber(v, '.')
		c, uc, okC := ParseNumber(v, ',')
		s.dotOK = s.dotOK && okD
		s.commaOK = s.commaOK && okC
		s.eitherOK = okD || okC
		if okD && okC && d != c {
			s.differ = true
		}
		if okD && !okC && s.onlyDot == "" {
			s.onlyDot, s.onlyDotLine = v, line
		}
		if okC && !okD && s.onlyComma == "" {
			s.onlyComma, s.onlyCommaLine = v, line
		}
		if okD {
			s.intDot = s.intDot && d == math.Trunc(d)
			if ud != "" {
				s.units[ud] = true
			}
		}
		if okC {
			s.intComma = s.intComma && c == math.Trunc(c)
			if uc != "" {
				s.units[uc] = true
			}
		}
	}
	if s.iso || s.dotDMY || s.slash {
		var t time.Time
		ok := false
		if s.iso {
			t, s.iso = ParseDate(v, DateISO)
			ok = ok || s.iso
		}
		if s.dotDMY {
			if u, good := ParseDate(v, DateDotDMY); good && !ok {
				t, ok = u, true
			} else if !good {
				s.dotDMY = false
			}
		}
		if s.slash {
			if a, b, y, good := splitDate(v, '/'); good {
				if u, good := ymdAny(a, b, y); good {
					ai, bi := atoi(a), atoi(b)
					s.slashA, s.slashB = max(s.slashA, ai), max(s.slashB, bi)
					if s.slashExample == "" && ai <= 12 && bi <= 12 && ai != bi {
						s.slashExample = v
					}
					if !ok {
						t, ok = u, true
					}
				} else {
					s.slash = false
				}
			} else {
				s.slash = false
			}
		}
		if ok {
			if t.After(s.maxDate) {
				s.maxDate = t
			}
			if len(s.days) < 64 {
				s.days[t.Unix()/86400] = true
			}
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// ymdAny checks a slash date under either order, returning the dd/mm reading when valid.
func ymdAny(a, b, y string) (time.Time, bool) {
	if t, ok := ymd(y, b, a); ok {
		return t, true
	}
	return ymd(y, a, b)
}

// plan is how one column's cells become values.
type plan struct {
	rep  ColumnReport
	mark byte
	ref  time.Time
	miss missingSet
	// true/false tokens of a boolean (lower case)
	yes, no string
}

// dateFormat returns the format a column's dates are in, "" when not dates, or an error
// naming the column when slash dates read both as dd/mm and mm/dd.
func (s *stats) dateFormat() (string, error) {
	switch {
	case s.present == 0:
		return "", nil
	case s.iso:
		return DateISO, nil
	case s.dotDMY:
		return DateDotDMY, nil
	case s.slash:
		switch {
		case s.slashA > 12 && s.slashB > 12:
			return "", nil
		case s.slashA > 12:
			return DateSlashDMY, nil
		case s.slashB > 12:
			return DateSlashMDY, nil
		}
		return "", fmt.Errorf("%w: dates such as %q read both as dd/mm/yyyy and as mm/dd/yyyy", ErrAmbiguous, s.slashExample)
	}
	return "", nil
}

// decide chooses a text column's type from its stats. fileMark is the decimal mark of the
// file ('.' or ','), used for numbers that read either way.
func decide(name string, s *stats, rows int, fileMark byte, markWhy string, ov *Override) (ColumnReport, error) {
	c := ColumnReport{Name: name}
	if rows > 0 {
		c.Missing = float64(s.missing) / float64(rows)
	}
	if ov != nil {
		c.Override = ov.String()
		switch ov.As {
		case AsDrop:
			c.Type, c.Use, c.Why = TypeText, UseDropped, []string{"override"}
			return c, nil
		case AsCategorical:
			c.Type, c.Use, c.Levels = TypeCategorical, UseCategorical, len(s.distinct)
			return c, nil
		case AsDate:
			f := ov.Format
			if f == "" {
				var err error
				if f, err = s.dateFormat(); err != nil {
					return c, err
				}
				if f == "" {
					return c, fmt.Errorf("%w: not a date in any of %s", ErrType, strings.Join(dateFormats, ", "))
				}
			}
			c.Type, c.Use, c.DateFormat = TypeDate, UseDays, f
			c.Weekday = len(s.days) >= 14
			return c, nil
		case AsNumeric:
			m := numberMark(s, fileMark)
			if m == 0 {
				return c, fmt.Errorf("%w: the override says numeric but %s", ErrType, notNumber(s))
			}
			c.Type, c.Use, c.Decimal = TypeNumber, UseNumeric, string(m)
			return c, nil
		}
	}
	if s.present == 0 {
		c.Type, c.Use, c.Why = TypeEmpty, UseDropped, []string{"no values"}
		return c, nil
	}
	if !s.overflow && len(s.distinct) <= 8 {
		lower := map[string]bool{}
		for v := range s.distinct {
			lower[strings.ToLower(v)] = true
		}
		vals := make([]string, 0, len(lower))
		for v := range lower {
			vals = append(vals, v)
		}
		if k, ok := boolPair(vals); ok && len(vals) <= 2 {
			c.Type, c.Use, c.True, c.Levels = TypeBoolean, UseNumeric, booleans[k][0], len(vals)
			c.Why = append(c.Why, fmt.Sprintf("%s = 1, %s = 0", booleans[k][0], booleans[k][1]))
			return c, nil
		}
	}
	if !s.dotOK && !s.commaOK && s.eitherOK && s.onlyDot != "" && s.onlyComma != "" {
		return c, &Error{Column: name, Line: s.onlyCommaLine, Err: fmt.Errorf("%w: the column mixes decimal dots (%q, line %d) and decimal commas (%q)",
			ErrAmbiguous, s.onlyDot, s.onlyDotLine, s.onlyComma), Expected: "one decimal mark per column; say which with --numeric or clean the file"}
	}
	if m := numberMark(s, fileMark); m != 0 {
		c.Use, c.Decimal = UseNumeric, string(m)
		c.Type = TypeNumber
		if (m == '.' && s.intDot) || (m == ',' && s.intComma) {
			c.Type = TypeInteger
		}
		if s.differ {
			switch {
			case s.dotOK != s.commaOK:
			case m == ',':
				c.Why = append(c.Why, "decimal comma "+markWhy)
			default:
				c.Why = append(c.Why, "decimal dot "+markWhy)
			}
		}
		if m == ',' && c.Type == TypeNumber && len(c.Why) == 0 {
			c.Why = append(c.Why, "decimal comma")
		}
		var units []string
		for u := range s.units {
			units = append(units, u)
		}
		sort.Strings(units)
		for _, u := range units {
			c.Why = append(c.Why, fmt.Sprintf("%q stripped", u))
		}
		return c, nil
	}
	f, err := s.dateFormat()
	if err != nil {
		return c, &Error{Column: name, Err: err, Expected: "a date format: say it with --date COL=dd/mm/yyyy or mm/dd/yyyy"}
	}
	if f != "" {
		c.Type, c.Use, c.DateFormat = TypeDate, UseDays, f
		// Day of the week is worth a column when the dates span enough days to see them all.
		c.Weekday = len(s.days) >= 14
		return c, nil
	}
	c.Levels = len(s.distinct)
	switch {
	case s.overflow || len(s.distinct) > maxLevels:
		c.Type, c.Use = TypeText, UseDropped
		c.Why = []string{fmt.Sprintf("free text (more than %d distinct values)", maxLevels)}
		if s.present >= minIDRows && !s.overflow && len(s.distinct) == s.present {
			c.Type, c.Why = TypeID, []string{"id-like (unique per row)"}
		}
	case s.present >= minIDRows && len(s.distinct) == s.present:
		c.Type, c.Use, c.Why = TypeID, UseDropped, []string{"id-like (unique per row)"}
	default:
		c.Type, c.Use = TypeCategorical, UseCategorical
	}
	return c, nil
}

// numberMark returns the decimal mark a column's numbers read with, 0 when not numbers.
func numberMark(s *stats, fileMark byte) byte {
	switch {
	case s.present == 0:
		return 0
	case s.dotOK && s.commaOK:
		if !s.differ {
			return '.'
		}
		return fileMark
	case s.dotOK:
		return '.'
	case s.commaOK:
		return ','
	}
	return 0
}

func notNumber(s *stats) string {
	for v := range s.distinct {
		_, _, a := ParseNumber(v, '.')
		_, _, b := ParseNumber(v, ',')
		if !a && !b {
			return fmt.Sprintf("%q is not a number", v)
		}
	}
	return "its values are not numbers"
}

// fileMark decides the decimal mark of a file from the columns whose numbers read only one
// way; with none, from the delimiter (a semicolon goes with decimal commas).
func fileMark(all []*stats, comma rune) (byte, string) {
	dot, com := 0, 0
	for _, s := range all {
		if s == nil || !s.differ {
			continue
		}
		switch {
		case s.dotOK && !s.commaOK:
			dot++
		case s.commaOK && !s.dotOK:
			com++
		}
	}
	switch {
	case com > dot:
		return ',', "(as in the file's other numbers)"
	case dot > com:
		return '.', "(as in the file's other numbers)"
	case comma == ';':
		return ',', "(guessed from the semicolon delimiter: values such as 1.234 read either way)"
	}
	return '.', "(guessed: values such as 1,234 read either way)"
}

// newPlan makes the plan of a decided column.
func newPlan(c ColumnReport, ref time.Time, miss missingSet) *plan {
	p := &plan{rep: c, ref: ref, miss: miss}
	if c.Decimal != "" {
		p.mark = c.Decimal[0]
	} else {
		p.mark = '.'
	}
	if c.Type == TypeBoolean {
		for _, b := range booleans {
			if b[0] == c.True {
				p.yes, p.no = b[0], b[1]
			}
		}
	}
	return p
}

// expected describes what a column's cells must look like, for errors.
func (p *plan) expected() string {
	switch p.rep.Type {
	case TypeBoolean:
		return fmt.Sprintf("%s or %s, as when the column was first read", p.yes, p.no)
	case TypeDate:
		return "a date in " + p.rep.DateFormat
	}
	if p.rep.Use == UseNumeric {
		return fmt.Sprintf("a number with decimal mark %q", p.mark)
	}
	return "a value"
}

// number converts a present cell of a numeric or boolean column.
func (p *plan) number(v string) (float64, bool) {
	if p.rep.Type == TypeBoolean {
		switch strings.ToLower(v) {
		case p.yes:
			return 1, true
		case p.no:
			return 0, true
		}
		return 0, false
	}
	x, _, ok := ParseNumber(v, p.mark)
	return x, ok
}

// date converts a present cell of a date column to days before the reference, and its weekday.
func (p *plan) date(v string) (float64, time.Weekday, bool) {
	t, ok := ParseDate(v, p.rep.DateFormat)
	if !ok {
		return 0, 0, false
	}
	return p.ref.Sub(t).Hours() / 24, t.Weekday(), true
}

// ColumnSniffer decides, from the cells of one column seen one at a time, the decimal mark of
// its numbers and the format of its dates, as Read does for whole tables. Readers of fixed
// columns (a transactions file's amount and time) use it in a first pass.
type ColumnSniffer struct {
	s    *stats
	miss missingSet
}

// NewColumnSniffer returns a sniffer with the given missing tokens (nil: the defaults).
func NewColumnSniffer(missing []string) *ColumnSniffer {
	return &ColumnSniffer{s: newStats(), miss: newMissingSet(missing)}
}

// Observe adds one cell and its line.
func (c *ColumnSniffer) Observe(v string, line int) { c.s.observe(trimSpace(v), line, c.miss) }

// DecimalMark returns the column's decimal mark ('.' or ','), '.' when its numbers read the
// same either way or it holds other values, or an ErrAmbiguous error when it mixes the two.
func (c *ColumnSniffer) DecimalMark(comma rune) (byte, error) {
	s := c.s
	if !s.dotOK && !s.commaOK && s.eitherOK && s.onlyDot != "" && s.onlyComma != "" {
		return 0, &Error{Line: s.onlyCommaLine, Err: fmt.Errorf("%w: the column mixes decimal dots (%q, line %d) and decimal commas (%q)",
			ErrAmbiguous, s.onlyDot, s.onlyDotLine, s.onlyComma), Expected: "one decimal mark per column"}
	}
	m, _ := fileMark([]*stats{s}, comma)
	if mk := numberMark(s, m); mk != 0 {
		return mk, nil
	}
	return '.', nil
}

// DateFormat returns the format of the column's dates, "" when they are not all dates in one
// of yyyy-mm-dd, dd.mm.yyyy, dd/mm/yyyy or mm/dd/yyyy, or an ErrAmbiguous error when slash
// dates read both as dd/mm and as mm/dd.
func (c *ColumnSniffer) DateFormat() (string, error) {
	f, err := c.s.dateFormat()
	if err != nil {
		return "", &Error{Err: err, Expected: "a date format that one value settles (a day above 12)"}
	}
	return f, nil
}
