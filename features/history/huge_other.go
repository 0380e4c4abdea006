//go:build !linux

package history

// hugePageSize is the size of the huge pages huge_linux.go advises.
const hugePageSize = 2 << 20

// adviseHuge does nothing where transparent huge pages are not a thing (see huge_linux.go).
func adviseHuge[T any](s []T) {}
