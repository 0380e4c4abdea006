package history

import (
	"math"
	"runtime/debug"
	"syscall"
	"unsafe"
)

// offHeap returns n zero values of T in memory mapped from the kernel, outside the Go heap,
// and the function that unmaps it. A slice of fewer than from bytes (0: two huge pages,
// below which the heap's clearing costs nothing worth saving) comes from the heap, as does
// one the kernel refuses to map. T must hold no pointers: the collector does not look
// there.
//
// A fresh mapping is zero with nothing written: the kernel hands out zero pages as they
// are first touched, so clearing it costs where it is written, on every worker at once. A
// large slice from the Go heap is cleared when made, on the goroutine that makes it, and
// where the heap reuses memory it had handed back to the kernel, that clearing faults in
// every page: 2 s of one core for the 809 MB of events of a 788,068-people partition, with
// the other core idle (docs/operations.md).
//
// The mapping counts against the run's memory budget: while it is held, the runtime's soft
// memory limit (runtime/debug.SetMemoryLimit), when one is set, is lowered by its size.
func offHeap[T any](n, from int) ([]T, func()) {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if from <= 0 {
		from = 2 * hugePageSize
	}
	if n <= 0 || size < from {
		return make([]T, n), func() {}
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]T, n), func() {}
	}
	s := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
	adviseHuge(s)
	moved := moveLimit(-int64(size))
	return s, func() {
		moveLimit(-moved)
		_ = syscall.Munmap(b)
	}
}

// moveLimit moves the runtime's soft memory limit by d bytes when one is set (the default
// is none), keeping it at least 64 MiB, and returns how far it moved it.
func moveLimit(d int64) int64 {
	lim := debug.SetMemoryLimit(-1)
	if lim == math.MaxInt64 || d == 0 {
		return 0
	}
	to := max(lim+d, 64<<20)
	debug.SetMemoryLimit(to)
	return to - lim
}
