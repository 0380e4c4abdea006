package features

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestEventAccMerge folds random events into one accumulator, and the same events split at
// random into three accumulators merged in some order: the states must be equal, and survive
// an encoding round trip.
func TestEventAccMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const asOf = int64(1_700_000_000) * 1e9
	hl := float64(DefaultHalfLife)
	for trial := range 50 {
		var whole EventAcc
		whole.Reset()
		parts := make([]EventAcc, 3)
		for i := range parts {
			parts[i].Reset()
		}
		n := rng.IntN(400)
		for range n {
			age := 1 + rng.Int64N(200*dayNanos)
			ts := asOf - age
			if rng.IntN(10) == 0 { // equal times and values happen
				ts = asOf - 5*dayNanos
				age = 5 * dayNanos
			}
			code := rng.IntN(nCodes)
			if rng.IntN(3) == 0 {
				code = typeSurvey
			}
			page := rng.IntN(nPageCats+1) - 1
			value := math.NaN()
			if rng.IntN(2) == 0 {
				value = float64(rng.IntN(5))
			}
			whole.Add(age, ts, code, page, value, hl)
			parts[rng.IntN(3)].Add(age, ts, code, page, value, hl)
		}
		order := rng.Perm(3)
		got := parts[order[0]]
		got.Merge(&parts[order[1]])
		got.Merge(&parts[order[2]])
		if !reflect.DeepEqual(got, whole) {
			t.Fatalf("trial %d (%d events): merged state differs from the whole:\n got %+v\nwant %+v", trial, n, got, whole)
		}
		b, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back EventAcc
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, whole) {
			t.Fatalf("trial %d: encoding round trip changed the state", trial)
		}
	}
	var a EventAcc
	if err := a.UnmarshalBinary([]byte{1, 2, 3}); err == nil {
		t.Fatal("a short encoding was accepted")
	}
}
