package history

import (
	"math"
	"runtime/debug"
	"testing"
	"unsafe"
)

// TestOffHeap checks that offHeap hands out zero values that can be written, and that while
// a table larger than its threshold is held the runtime's memory limit is lowered by its
// size and put back when it is freed.
func TestOffHeap(t *testing.T) {
	const limit = 1 << 40
	old := debug.SetMemoryLimit(limit)
	defer debug.SetMemoryLimit(old)
	for _, tc := range []struct {
		name     string
		n, from  int
		lowersBy int64
	}{
		{"heap", 1000, 1 << 30, 0},
		{"default threshold", 1000, 0, 0}, // 48 KB, under two huge pages
		{"mapped", 1 << 18, 1, (1 << 18) * int64(unsafe.Sizeof(rawEvent{}))},
	} {
		s, free := offHeap[rawEvent](tc.n, tc.from)
		if len(s) != tc.n {
			t.Fatalf("%s: %d values, want %d", tc.name, len(s), tc.n)
		}
		if got := limit - debug.SetMemoryLimit(-1); got != tc.lowersBy {
			t.Errorf("%s: memory limit lowered by %d, want %d", tc.name, got, tc.lowersBy)
		}
		for i := range s {
			if s[i] != (rawEvent{}) {
				t.Fatalf("%s: value %d is not zero: %+v", tc.name, i, s[i])
			}
			s[i].person = int32(i)
		}
		if s[tc.n-1].person != int32(tc.n-1) {
			t.Fatalf("%s: a write did not hold", tc.name)
		}
		free()
		if got := debug.SetMemoryLimit(-1); got != limit {
			t.Errorf("%s: memory limit %d after free, want %d", tc.name, got, limit)
		}
	}
	// With no limit set (the default), nothing is moved.
	debug.SetMemoryLimit(math.MaxInt64)
	_, free := offHeap[uint32](1<<20, 1)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("no limit set: the limit became %d", got)
	}
	free()
}
