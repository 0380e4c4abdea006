package classifier

import (
	"math"

	"github.com/propensity-dev/propensity/models/encode"
	"github.com/propensity-dev/propensity/models/logistic"
)

// A logistic model's reasons are reported per unit: a feature of the encoding, except that a
// numeric column's value and its log(1 + x) feature (encode.Options.Log1p, history mode) make
// one unit, named after the column and showing the column's value. Both are functions of the
// same input; taken apart, their effects can point in opposite directions for one value,
// which explains nothing. A unit's effect is the sum of
// its features' effects coef·(z − mean z), so the effects still add up to the log-odds minus
// the model's mean log-odds.

// reasonUnit is one reason's features: indices into the encoding, −1 when absent.
type reasonUnit struct {
	name     string
	val, log int
}

// reasonUnits lists the units of enc's features, in feature order.
func reasonUnits(enc *encode.Encoder) []reasonUnit {
	us := make([]reasonUnit, 0, len(enc.Features))
	for _, c := range enc.Columns {
		if c.Method == encode.MethodNumeric && c.Log {
			k := c.First
			u := reasonUnit{name: c.Name, val: -1}
			if c.Value {
				u.val = k
				k++
			}
			u.log = k
			us = append(us, u)
			if c.Indicator {
				us = append(us, reasonUnit{name: enc.Features[k+1], val: k + 1, log: -1})
			}
			continue
		}
		for j := c.First; j < c.First+c.Width; j++ {
			us = append(us, reasonUnit{name: enc.Features[j], val: j, log: -1})
		}
	}
	return us
}

// units returns the scorer's reason units, computed once.
func (s *logisticScorer) reasonUnits() []reasonUnit {
	s.unitsOnce.Do(func() { s.units = reasonUnits(s.Enc) })
	return s.units
}

// effect is unit u's effect for the standardised row x.
func (u *reasonUnit) effect(x []float64, lr *logistic.Model) float64 {
	var e float64
	if u.val >= 0 {
		e = lr.Coef[u.val] * (x[u.val] - lr.Mean[u.val])
	}
	if u.log >= 0 {
		e += lr.Coef[u.log] * (x[u.log] - lr.Mean[u.log])
	}
	return e
}

// value is the unit's input value for the standardised row x: the feature before
// standardisation, or for a column whose value feature was dropped, exp(log feature) − 1.
func (u *reasonUnit) value(x []float64, enc *encode.Encoder) float64 {
	if u.val >= 0 {
		return roundValue(x[u.val]*enc.Scale[u.val] + enc.Mean[u.val])
	}
	return roundValue(math.Expm1(x[u.log]*enc.Scale[u.log] + enc.Mean[u.log]))
}

// topReasons returns the k units of largest |effect| for the standardised row x (all of them
// when k <= 0), ties in unit order (a stable sort's order), found without sorting every unit;
// top is scratch space, returned for reuse. It reports false, and no reasons, when an effect
// is NaN.
func topReasons(x []float64, enc *encode.Encoder, lr *logistic.Model, units []reasonUnit, k int, top []reasonCand) ([]Reason, []reasonCand, bool) {
	if k <= 0 {
		k = len(units)
	}
	top = top[:0]
	for i := range units {
		e := units[i].effect(x, lr)
		if e == 0 {
			continue
		}
		if math.IsNaN(e) {
			return nil, top, false
		}
		a := math.Abs(e)
		if len(top) == k && a <= top[k-1].abs {
			continue
		}
		pos := len(top)
		for pos > 0 && top[pos-1].abs < a {
			pos--
		}
		if len(top) < k {
			top = append(top, reasonCand{})
		}
		copy(top[pos+1:], top[pos:len(top)-1])
		top[pos] = reasonCand{j: i, abs: a}
	}
	out := make([]Reason, len(top))
	for i, c := range top {
		u := &units[c.j]
		out[i] = Reason{Feature: u.name, Value: u.value(x, enc), Effect: u.effect(x, lr)}
	}
	return out, top, true
}
