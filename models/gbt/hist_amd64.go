//go:build !purego

package gbt

// The histogram kernels in assembly (hist_amd64.s). They add each gradient pair to its bin
// with one 16-byte store where Go code makes two, and the loops are bound by stores
// (BenchmarkHistPass and docs/performance.md measure the gain). The sums are the same, bit
// for bit: the same additions in the same order.

//go:noescape
func hist4Asm(h *[8]*[256]gh, c *[8]*uint8, og *gh, n int)

//go:noescape
func hist4RowsAsm(h *[8]*[256]gh, c *[8]*uint8, og *gh, rows *int32, n int)

//go:noescape
func hist8Asm(h *[8]*[256]gh, c *[8]*uint8, og *gh, n int)

//go:noescape
func hist8RowsAsm(h *[8]*[256]gh, c *[8]*uint8, og *gh, rows *int32, n int)

// histAsm runs the k-column pass (k is 4 or 8) of hist in assembly and reports whether it
// did (it does not for other k, or no rows). The columns of hs and cs are as for hist8; with
// rows nil they must hold at least len(og) bins, and otherwise every row of rows must be an
// index into each of them (the trainer's rows are, by construction).
func histAsm(k int, hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) bool {
	if (k != 4 && k != 8) || len(og) == 0 {
		return false
	}
	var cp [8]*uint8
	for i, c := range cs[:k] {
		if rows == nil && len(c) < len(og) {
			panic("gbt: histogram column shorter than its rows")
		}
		cp[i] = &c[0]
	}
	switch {
	case k == 4 && rows == nil:
		hist4Asm(hs, &cp, &og[0], len(og))
	case k == 4:
		_ = rows[len(og)-1]
		hist4RowsAsm(hs, &cp, &og[0], &rows[0], len(og))
	case rows == nil:
		hist8Asm(hs, &cp, &og[0], len(og))
	default:
		_ = rows[len(og)-1]
		hist8RowsAsm(hs, &cp, &og[0], &rows[0], len(og))
	}
	return true
}
