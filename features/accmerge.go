package features

import (
	"encoding/binary"
	"errors"
	"math"
)

// Merge folds b into a, so that a holds what adding b's events to a would have given. Every
// part of the event state is free of the order events arrive in (counts, the fixed-point
// decayed sums, latest times, active-day bits, the two latest surveys), so accumulators of
// parts of one person's events, built on different machines, merge into the accumulator of
// all of them: a distributed job combines them before it groups by person, and one person's
// events never need to be in one place.
func (a *EventAcc) Merge(b *EventAcc) {
	for c := range a.win {
		for w := range a.win[c] {
			a.win[c][w] += b.win[c][w]
		}
		a.decayed[c] += b.decayed[c]
		a.last[c] = max(a.last[c], b.last[c])
	}
	for w := range a.all {
		a.all[w] += b.all[w]
	}
	a.total += b.total
	a.lastAny = max(a.lastAny, b.lastAny)
	a.days[0] |= b.days[0]
	a.days[1] |= b.days[1]
	for p := range a.page {
		a.page[p][0] += b.page[p][0]
		a.page[p][1] += b.page[p][1]
	}
	for k := range 2 {
		if b.survTS[k] != NoTS {
			a.addSurvey(b.survTS[k], b.survV[k])
		}
	}
}

// addSurvey keeps the two latest surveys, by time then value, as Add does.
func (a *EventAcc) addSurvey(ts int64, value float64) {
	switch {
	case ts > a.survTS[0] || (ts == a.survTS[0] && value > a.survV[0]):
		a.survTS[1], a.survV[1] = a.survTS[0], a.survV[0]
		a.survTS[0], a.survV[0] = ts, value
	case ts > a.survTS[1] || (ts == a.survTS[1] && value > a.survV[1]):
		a.survTS[1], a.survV[1] = ts, value
	}
}

// MarshalBinary encodes a in a fixed-size little-endian form (for a distributed job's coder).
func (a *EventAcc) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 4*(nCodes*3+3+2*nPageCats)+8*(1+2*nCodes+3+4))
	i32 := func(v int32) { b = binary.LittleEndian.AppendUint32(b, uint32(v)) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	for c := range a.win {
		for w := range a.win[c] {
			i32(a.win[c][w])
		}
	}
	for w := range a.all {
		i32(a.all[w])
	}
	for p := range a.page {
		i32(a.page[p][0])
		i32(a.page[p][1])
	}
	u64(uint64(a.total))
	for c := range a.decayed {
		u64(a.decayed[c])
		u64(uint64(a.last[c]))
	}
	u64(uint64(a.lastAny))
	u64(a.days[0])
	u64(a.days[1])
	for k := range 2 {
		u64(uint64(a.survTS[k]))
		u64(math.Float64bits(a.survV[k]))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (a *EventAcc) UnmarshalBinary(b []byte) error {
	want := 4*(nCodes*3+3+2*nPageCats) + 8*(1+2*nCodes+3+4)
	if len(b) != want {
		return errors.New("features: an encoded event accumulator has the wrong length")
	}
	i32 := func() int32 { v := int32(binary.LittleEndian.Uint32(b)); b = b[4:]; return v }
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(b); b = b[8:]; return v }
	for c := range a.win {
		for w := range a.win[c] {
			a.win[c][w] = i32()
		}
	}
	for w := range a.all {
		a.all[w] = i32()
	}
	for p := range a.page {
		a.page[p][0] = i32()
		a.page[p][1] = i32()
	}
	a.total = int64(u64())
	for c := range a.decayed {
		a.decayed[c] = u64()
		a.last[c] = int64(u64())
	}
	a.lastAny = int64(u64())
	a.days[0] = u64()
	a.days[1] = u64()
	for k := range 2 {
		a.survTS[k] = int64(u64())
		a.survV[k] = math.Float64frombits(u64())
	}
	return nil
}
