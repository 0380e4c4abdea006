//go:build !amd64 || purego

package gbt

// histAsm has no assembly on this platform (or with the purego tag): hist uses its Go passes.
func histAsm(k int, hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) bool { return false }
