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

// TestCmpRootOrdersAsText checks that ordering people's ids by their prefix keys (cmpRoot)
// is ordering them by their bytes: ids with a long shared prefix, ids shorter than the key,
// ids that are prefixes of others, and zero and high bytes where the key pads.
func TestCmpRootOrdersAsText(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0, 1, 'a', 'b', 'c', 0x7f, 0x80, 0xff}
	for _, prefix := range []string{"", "c-", "contact-0000"} {
		seen := map[string]bool{}
		var rs []root
		for len(rs) < 5000 {
			b := []byte(prefix)
			for range rng.IntN(12) {
				b = append(b, alphabet[rng.IntN(len(alphabet))])
			}
			if id := string(b); !seen[id] {
				seen[id] = true
				rs = append(rs, root{id: id, r: int32(len(rs))})
			}
		}
		common := commonPrefix(rs)
		if len(prefix) > 0 && common < len(prefix) {
			t.Fatalf("prefix %q: common prefix %d bytes, want at least %d", prefix, common, len(prefix))
		}
		for i := range rs {
			rs[i].key = prefixKey(rs[i].id, common)
		}
		for range 20000 {
			a, b := rs[rng.IntN(len(rs))], rs[rng.IntN(len(rs))]
			if got, want := cmpRoot(a, b), strings.Compare(a.id, b.id); got != want {
				t.Fatalf("prefix %q: cmpRoot(%q, %q) = %d, strings.Compare %d", prefix, a.id, b.id, got, want)
			}
		}
		got := sortParallel(slices.Clone(rs), cmpRoot, 3)
		if !slices.IsSortedFunc(got, cmpRootID) {
			t.Fatalf("prefix %q: sorted by cmpRoot, not in id order", prefix)
		}
	}
}
