package gbt

// The histogram kernels: sums of gradient pairs into 256-bin histograms, one per feature. They
// take most of a fit's time; hist_amd64.s has assembly versions of the 4- and 8-column passes.

// hist sums the gradient pairs og of rows (og[k] is row rows[k]'s; with rows nil, og holds
// every row's, in order) into the 256-bin histograms in dst of the features fs.
//
// The rows are taken in blocks of histBlockRows, and each block in passes over a few columns
// at once (histWidth). Blocks keep a block's gradient pairs in the cache while every column
// is summed over them, where streaming every pair from memory once per pass would wait on
// memory. Several columns per pass keep several chains of additions in flight:
// consecutive rows often fall in the same bin (most rows of a one-hot column do), and then an
// addition waits for the previous one's store. (A row-wise pass over all features, as
// XGBoost's, needs every feature's histogram at once, more than L1 holds on wide tables.) Each
// bin sums its rows in row order, so the result does not depend on the blocks, on how
// features are grouped or on how they are shared among goroutines. The pairs are gathered in
// row order beforehand because a pass over scattered rows of a large table would otherwise
// fetch their pairs from all over memory. docs/performance.md has the measurements.
func (t *trainer) hist(fs []int, rows []int32, og []gh, dst []gh) {
	for _, f := range fs {
		clear(dst[256*f : 256*f+t.nb[f]+1])
	}
	n := len(og)
	width := histWidth(n)
	for lo := 0; lo < n; lo += histBlockRows {
		hi := min(lo+histBlockRows, n)
		if rows == nil {
			t.histBlock(fs, nil, og[lo:hi], dst, lo, hi, width)
		} else {
			t.histBlock(fs, rows[lo:hi], og[lo:hi], dst, 0, t.n, width)
		}
	}
}

// histBlock is hist over one block of rows, width columns a pass, with the columns cut to
// [clo, chi) (to the block's rows when they are all rows in order).
func (t *trainer) histBlock(fs []int, rows []int32, og []gh, dst []gh, clo, chi, width int) {
	var hs [8]*[256]gh
	var cs [8][]uint8
	for len(fs) > 0 {
		k := width
		for k > len(fs) {
			k /= 2
		}
		for i, f := range fs[:k] {
			hs[i] = (*[256]gh)(dst[256*f : 256*f+256])
			cs[i] = t.bins[f][clo:chi]
		}
		fs = fs[k:]
		if !histAsm(k, &hs, &cs, rows, og) {
			histGo(k, &hs, &cs, rows, og)
		}
	}
}

// histGo is the Go pass over k (8, 4, 2 or 1) columns.
func histGo(k int, hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) {
	switch k {
	case 8:
		hist8(hs, cs, rows, og)
	case 4:
		hist4(hs, cs, rows, og)
	case 2:
		hist2(hs, cs, rows, og)
	default:
		hist1(hs, cs, rows, og)
	}
}

// histBlockRows is the number of rows hist sums at a time: their gradient pairs take 128 KiB,
// which stay in cache while the block's columns are summed. Halving it was clearly slower and
// doubling it no faster (docs/performance.md).
const histBlockRows = 8192

// histWidth is the number of columns hist takes per pass over a node of rows rows. Wide
// passes pay where chains of equal bins are common, on small nodes (one-hot columns); on
// large nodes of numeric columns 4 do better than 8, which in the assembly kernel keeps its
// column pointers in memory rather than in registers (docs/performance.md).
func histWidth(rows int) int {
	if rows >= 1<<15 {
		return 4
	}
	return 8
}

// hist8, hist4, hist2 and hist1 are hist's passes over 8, 4, 2 and 1 columns, written out,
// over all rows in order when rows is nil (a list of all rows would add a load per row and
// per column; docs/performance.md).
func hist8(hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) {
	h1, h2, h3, h4, h5, h6, h7, h8 := hs[0], hs[1], hs[2], hs[3], hs[4], hs[5], hs[6], hs[7]
	c1, c2, c3, c4, c5, c6, c7, c8 := cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7]
	// Columns cut to one length and histograms touched once: no bounds or nil checks per row.
	c2, c3, c4, c5, c6, c7, c8 = c2[:len(c1)], c3[:len(c1)], c4[:len(c1)], c5[:len(c1)], c6[:len(c1)], c7[:len(c1)], c8[:len(c1)]
	_ = h1[0]
	_ = h2[0]
	_ = h3[0]
	_ = h4[0]
	_ = h5[0]
	_ = h6[0]
	_ = h7[0]
	_ = h8[0]
	if rows == nil {
		og = og[:len(c1)]
		for r, b := range c1 {
			g, hh := og[r].g, og[r].h
			p := &h1[b]
			p.g += g
			p.h += hh
			p = &h2[c2[r]]
			p.g += g
			p.h += hh
			p = &h3[c3[r]]
			p.g += g
			p.h += hh
			p = &h4[c4[r]]
			p.g += g
			p.h += hh
			p = &h5[c5[r]]
			p.g += g
			p.h += hh
			p = &h6[c6[r]]
			p.g += g
			p.h += hh
			p = &h7[c7[r]]
			p.g += g
			p.h += hh
			p = &h8[c8[r]]
			p.g += g
			p.h += hh
		}
		return
	}
	og = og[:len(rows)]
	for k, r := range rows {
		g, hh := og[k].g, og[k].h
		p := &h1[c1[r]]
		p.g += g
		p.h += hh
		p = &h2[c2[r]]
		p.g += g
		p.h += hh
		p = &h3[c3[r]]
		p.g += g
		p.h += hh
		p = &h4[c4[r]]
		p.g += g
		p.h += hh
		p = &h5[c5[r]]
		p.g += g
		p.h += hh
		p = &h6[c6[r]]
		p.g += g
		p.h += hh
		p = &h7[c7[r]]
		p.g += g
		p.h += hh
		p = &h8[c8[r]]
		p.g += g
		p.h += hh
	}
}

func hist4(hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) {
	h1, h2, h3, h4 := hs[0], hs[1], hs[2], hs[3]
	c1, c2, c3, c4 := cs[0], cs[1], cs[2], cs[3]
	// Columns cut to one length and histograms touched once: no bounds or nil checks per row.
	c2, c3, c4 = c2[:len(c1)], c3[:len(c1)], c4[:len(c1)]
	_ = h1[0]
	_ = h2[0]
	_ = h3[0]
	_ = h4[0]
	if rows == nil {
		og = og[:len(c1)]
		for r, b := range c1 {
			g, hh := og[r].g, og[r].h
			p := &h1[b]
			p.g += g
			p.h += hh
			p = &h2[c2[r]]
			p.g += g
			p.h += hh
			p = &h3[c3[r]]
			p.g += g
			p.h += hh
			p = &h4[c4[r]]
			p.g += g
			p.h += hh
		}
		return
	}
	og = og[:len(rows)]
	for k, r := range rows {
		g, hh := og[k].g, og[k].h
		p := &h1[c1[r]]
		p.g += g
		p.h += hh
		p = &h2[c2[r]]
		p.g += g
		p.h += hh
		p = &h3[c3[r]]
		p.g += g
		p.h += hh
		p = &h4[c4[r]]
		p.g += g
		p.h += hh
	}
}

func hist2(hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) {
	h1, h2 := hs[0], hs[1]
	c1, c2 := cs[0], cs[1]
	// Columns cut to one length and histograms touched once: no bounds or nil checks per row.
	c2 = c2[:len(c1)]
	_ = h1[0]
	_ = h2[0]
	if rows == nil {
		og = og[:len(c1)]
		for r, b := range c1 {
			g, hh := og[r].g, og[r].h
			p := &h1[b]
			p.g += g
			p.h += hh
			p = &h2[c2[r]]
			p.g += g
			p.h += hh
		}
		return
	}
	og = og[:len(rows)]
	for k, r := range rows {
		g, hh := og[k].g, og[k].h
		p := &h1[c1[r]]
		p.g += g
		p.h += hh
		p = &h2[c2[r]]
		p.g += g
		p.h += hh
	}
}

func hist1(hs *[8]*[256]gh, cs *[8][]uint8, rows []int32, og []gh) {
	h1 := hs[0]
	c1 := cs[0]
	// Columns cut to one length and histograms touched once: no bounds or nil checks per row.
	_ = h1[0]
	if rows == nil {
		og = og[:len(c1)]
		for r, b := range c1 {
			g, hh := og[r].g, og[r].h
			p := &h1[b]
			p.g += g
			p.h += hh
		}
		return
	}
	og = og[:len(rows)]
	for k, r := range rows {
		g, hh := og[k].g, og[k].h
		p := &h1[c1[r]]
		p.g += g
		p.h += hh
	}
}
