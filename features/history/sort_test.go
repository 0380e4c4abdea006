package history

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortParallel checks sortParallel against slices.Sort for run counts that merge
// evenly and unevenly, and for inputs too small to split.
func TestSortParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 100, 1 << 14, 3<<14 + 7, 200_000} {
		for _, workers := range []int{1, 2, 3, 4, 5, 8} {
			s := make([]string, n)
			for i := range s {
				s[i] = strconv.Itoa(rng.IntN(1 << 40))
			}
			s = slices.Compact(slices.Sorted(slices.Values(s)))
			rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			want := slices.Sorted(slices.Values(s))
			got := sortParallel(slices.Clone(s), strings.Compare, workers)
			if !slices.Equal(got, want) {
				t.Fatalf("n %d, workers %d: not sorted as slices.Sort sorts", n, workers)
			}
		}
	}
}
