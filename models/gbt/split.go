package gbt

import (
	"cmp"
	"slices"
)

// split is the best way found to split a node on one feature.
type split struct {
	valid          bool
	gain           float64 // loss reduction, ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ
	feat           int
	bin            int       // numeric: value bins <= bin go left
	dleft          bool      // missing values go left
	left           [4]uint64 // categorical: bins going left, the missing bin included when dleft
	gl, hl, gr, hr float64
}

// cat is a category's bin and its place in findCatSplit's order.
type cat struct {
	bin int
	key float64
}

// lut tabulates, for every bin of the split feature (nb value bins, then the missing bin),
// whether a row in it goes right: 1 if so, 0 if it goes left. (A number, not a bool, so that
// rows can be sent by arithmetic rather than by a branch.)
func (s *split) lut(nb int) *[256]uint8 {
	var l [256]uint8
	if s.left != [4]uint64{} || s.bin < 0 {
		for b := range nb + 1 {
			l[b] = uint8(^s.left[b>>6] >> (b & 63) & 1)
		}
		return &l
	}
	for b := s.bin + 1; b < nb; b++ {
		l[b] = 1
	}
	l[nb] = b2u(!s.dleft)
	return &l
}

// findSplit returns the best split of a node with gradient sums g, h on feature f, whose
// histogram (nb[f] value bins and the missing bin) is in hist. worker says whose scratch space
// to use.
func (t *trainer) findSplit(worker, f int, hist []gh, g, h float64) split {
	nb := t.nb[f]
	hs := hist[256*f : 256*f+nb+1]
	if t.feats[f].categorical() {
		return t.findCatSplit(worker, f, hs, g, h)
	}
	lam, mcw := t.o.L2, t.o.MinChildWeight
	parent := g * g / (h + lam)
	miss := hs[nb]
	best := split{feat: f}
	bestRaw := 0.0
	var gl, hl float64
	for b := range nb {
		if hs[b].h == 0 && hs[b].g == 0 {
			continue
		}
		gl += hs[b].g
		hl += hs[b].h
		// Missing values right.
		if gr, hr := g-gl, h-hl; hl >= mcw && hr >= mcw {
			if raw := gl*gl/(hl+lam) + gr*gr/(hr+lam) - parent; raw > bestRaw {
				bestRaw = raw
				best.bin, best.dleft, best.gl, best.hl, best.gr, best.hr = b, false, gl, hl, gr, hr
			}
		}
		// Missing values left.
		if miss.h > 0 {
			gl2, hl2 := gl+miss.g, hl+miss.h
			if gr, hr := g-gl2, h-hl2; hl2 >= mcw && hr >= mcw {
				if raw := gl2*gl2/(hl2+lam) + gr*gr/(hr+lam) - parent; raw > bestRaw {
					bestRaw = raw
					best.bin, best.dleft, best.gl, best.hl, best.gr, best.hr = b, true, gl2, hl2, gr, hr
				}
			}
		}
	}
	if gain := bestRaw/2 - t.o.MinSplitGain; bestRaw > 0 && gain > 0 {
		best.valid, best.gain = true, gain
		if miss.h == 0 {
			// No missing values here to learn from: send them with the heavier child.
			best.dleft = best.hl >= best.hr
		}
	}
	return best
}

// findCatSplit orders the categories present at the node by g/(h + CatSmooth) and takes the
// best cut of that order (Fisher 1958; as LightGBM does, Ke et al. 2017). The missing bin
// takes part like a category when the node has missing values.
func (t *trainer) findCatSplit(worker, f int, hs []gh, g, h float64) split {
	nb := len(hs) - 1
	cats := t.cats[worker][:0]
	for b, p := range hs {
		if p.h > 0 {
			cats = append(cats, cat{b, p.g / (p.h + t.o.CatSmooth)})
		}
	}
	t.cats[worker] = cats
	best := split{feat: f, bin: -1}
	if len(cats) < 2 {
		return best
	}
	slices.SortFunc(cats, func(a, b cat) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.bin, b.bin)
	})
	lam, mcw := t.o.L2, t.o.MinChildWeight
	parent := g * g / (h + lam)
	bestRaw, cut := 0.0, -1
	var gl, hl float64
	for k := 0; k+1 < len(cats); k++ {
		gl += hs[cats[k].bin].g
		hl += hs[cats[k].bin].h
		gr, hr := g-gl, h-hl
		if hl < mcw || hr < mcw {
			continue
		}
		if raw := gl*gl/(hl+lam) + gr*gr/(hr+lam) - parent; raw > bestRaw {
			bestRaw, cut = raw, k
			best.gl, best.hl, best.gr, best.hr = gl, hl, gr, hr
		}
	}
	gain := bestRaw/2 - t.o.MinSplitGain
	if cut < 0 || gain <= 0 {
		return best
	}
	best.valid, best.gain = true, gain
	for _, c := range cats[:cut+1] {
		best.left[c.bin>>6] |= 1 << (c.bin & 63)
	}
	if hs[nb].h > 0 {
		best.dleft = best.left[nb>>6]>>(nb&63)&1 == 1
	} else {
		best.dleft = best.hl >= best.hr
	}
	if best.dleft {
		// Bins absent from the node go the way missing values go.
		for b := range hs {
			if hs[b].h <= 0 {
				best.left[b>>6] |= 1 << (b & 63)
			}
		}
	}
	return best
}
