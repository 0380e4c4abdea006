package history

import "testing"

// TestAdviseHugeKeepsData checks that advising huge pages is only advice: slices of every
// size around the huge page, written before and after the advice, read back what was
// written (an advice that dropped pages, as MADV_DONTNEED does, would read back zeros), and
// empty and small slices are left alone.
func TestAdviseHugeKeepsData(t *testing.T) {
	adviseHuge([]uint64(nil))
	adviseHuge(make([]byte, 10))
	for _, n := range []int{hugePageSize/8 - 1, 2 * hugePageSize / 8, 3*hugePageSize/8 + 5} {
		s := make([]uint64, n)
		for i := range s[:n/2] {
			s[i] = uint64(i) * 7
		}
		adviseHuge(s)
		adviseHuge(s[3:]) // unaligned start
		for i := n / 2; i < n; i++ {
			s[i] = uint64(i) * 7
		}
		for i, v := range s {
			if v != uint64(i)*7 {
				t.Fatalf("n %d: s[%d] = %d after the advice, want %d", n, i, v, i*7)
			}
		}
	}
	type pair struct{ a, b int32 }
	p := make([]pair, hugePageSize)
	p[len(p)-1] = pair{1, 2}
	adviseHuge(p)
	if p[len(p)-1] != (pair{1, 2}) || p[0] != (pair{}) {
		t.Fatal("a slice of structs changed under the advice")
	}
}
