package history

import (
	"syscall"
	"unsafe"
)

// hugePageSize is the size of a transparent huge page on the machines this runs on.
const hugePageSize = 2 << 20

// adviseHuge asks the kernel to back the whole 2 MB pages within s with transparent huge
// pages (madvise MADV_HUGEPAGE), for the large tables that are read at random places:
// with 4 KB pages nearly every read of them missed the processor's address cache (TLB) as
// well as its data caches, and on a virtual machine each such miss is a walk of two page
// tables. It is advice: where the kernel does not take it (huge pages off, or none free),
// the memory is as it was. Call it before the memory is first written.
func adviseHuge[T any](s []T) {
	if len(s) == 0 {
		return
	}
	var zero T
	size := uintptr(len(s)) * unsafe.Sizeof(zero)
	if size < 2*hugePageSize {
		return
	}
	p := unsafe.Pointer(&s[0])
	start := uintptr(p)
	lo := (start + hugePageSize - 1) &^ (hugePageSize - 1)
	hi := (start + size) &^ (hugePageSize - 1)
	if hi <= lo {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, lo-start)), hi-lo), syscall.MADV_HUGEPAGE)
}
