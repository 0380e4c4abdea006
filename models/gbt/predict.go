package gbt

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/propensity-dev/propensity/models/frame"
)

// Batch prediction works on binned rows, as XGBoost's and LightGBM's predictors can on their
// quantised matrices: every row is binned once, into one byte per feature, and each node looks
// the byte up in a table saying which way it goes. Trees are walked one at a time over a block
// of rows (the block's bytes and the tree's nodes stay in L1), eight rows in lockstep so that
// their chains of dependent loads overlap; rows are binned four at a time, for the same
// reason. (Byte tables were faster than testing a bit of a per-node bitset, and walking a block
// level by level instead of row by row was slower: docs/performance.md.)
//
// The bins are exact for the float thresholds, not an approximation. A numeric feature's
// prediction bins are cut at the distinct thresholds c₀ < c₁ < … that the trees use on it, and
// a value v falls in bin #{i : cᵢ < v}. Since the cᵢ ascend, v <= c_k exactly when
// #{i : cᵢ < v} <= k, so a node splitting at c_k sends a row left by bin exactly when the
// float comparison would. (They need not be the training cut points: a threshold of
// math.MaxFloat64, or any value in a hand-written model, gets its own cut.) A categorical
// feature's bin is its category's index. Missing values and unseen categories get missingBin.

// missingBin is the bin of a missing value or unseen category; value bins are 0..254.
const missingBin = 255

// predictBlock is the number of rows binned and walked at a time.
const predictBlock = 512

// pnode is a node of the batch form. A row whose bin is b goes to left + luts[lut][b]: luts
// hold one byte per bin, 1 for the bins that go right, so numeric, categorical and missing
// values take the same path, without a branch. A leaf is a fixed point (left is the leaf
// itself, and luts[0] sends every bin left), so every walk takes exactly the tree's depth in
// steps and rows can be walked in lockstep.
type pnode struct {
	left int32 // index in ensemble.nodes; the right child is left+1
	feat int32
	lut  int32 // index in ensemble.luts
}

// ensemble is every tree of a model in flat arrays, for batch prediction.
type ensemble struct {
	nodes []pnode
	luts  [][256]uint8 // distinct tables: at most two per numeric threshold, one per category set
	leafv []float64    // leaf values by node index (zero for splits)
	trees []etree
	cuts  [][]float64 // per numeric feature: the thresholds used, ascending, padded with +Inf
}

type etree struct{ root, depth int32 }

// compileEnsemble builds the batch form of trees, or returns nil when some numeric feature
// carries more than 254 distinct thresholds (possible only in a hand-written model or one
// using every cut point of a feature and math.MaxFloat64): its values would not fit a byte,
// and predictions take the float walk instead.
func compileEnsemble(feats []feature, trees []*grown) *ensemble {
	e := &ensemble{cuts: make([][]float64, len(feats))}
	for _, t := range trees {
		for _, n := range t.nodes {
			if n.Feature >= 0 && !feats[n.Feature].categorical() {
				e.cuts[n.Feature] = append(e.cuts[n.Feature], n.Threshold)
			}
		}
	}
	for j, c := range e.cuts {
		slices.Sort(c)
		c = slices.Compact(c) // == semantics: -0 and +0 are one cut, as for <=
		if len(c) > missingBin-1 {
			return nil
		}
		// Pad to a power of two minus one, for the branchless search in binRows.
		p := 1
		for p <= len(c) {
			p *= 2
		}
		for len(c) < p-1 {
			c = append(c, math.Inf(1))
		}
		e.cuts[j] = c
	}
	total := 0
	for _, t := range trees {
		total += len(t.nodes)
	}
	e.nodes = make([]pnode, 0, total)
	e.leafv = make([]float64, 0, total)
	e.luts = [][256]uint8{{}}
	index := map[[256]uint8]int32{{}: 0}
	for _, t := range trees {
		root := int32(len(e.nodes))
		e.trees = append(e.trees, etree{root: root, depth: int32(t.depth)})
		for i, n := range t.nodes {
			if n.Feature < 0 {
				e.nodes = append(e.nodes, pnode{left: root + int32(i)})
				e.leafv = append(e.leafv, n.Value)
				continue
			}
			var lut [256]uint8
			if feats[n.Feature].categorical() {
				for b := range lut {
					lut[b] = 1
				}
				for _, c := range n.Categories {
					lut[c] = 0
				}
			} else {
				k, _ := slices.BinarySearch(e.cuts[n.Feature], n.Threshold)
				for b := k + 1; b < len(lut); b++ {
					lut[b] = 1
				}
			}
			lut[missingBin] = b2u(!n.DefaultLeft)
			id, ok := index[lut]
			if !ok {
				id = int32(len(e.luts))
				index[lut] = id
				e.luts = append(e.luts, lut)
			}
			e.nodes = append(e.nodes, pnode{left: root + int32(n.Left), feat: int32(n.Feature), lut: id})
			e.leafv = append(e.leafv, 0)
		}
	}
	return e
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// binRows writes the bins of rows [lo, hi) of cols, row-major with nf bytes a row, into x.
func (e *ensemble) binRows(feats []feature, cols []*frame.Column, lo, hi int, x []uint8) {
	nf := len(feats)
	for j := range feats {
		f := &feats[j]
		c := cols[j]
		if f.categorical() {
			for r := lo; r < hi; r++ {
				b := uint8(missingBin)
				if v := c.Cat[r]; v != "" {
					if i, ok := f.index[v]; ok {
						b = uint8(i)
					}
				}
				x[(r-lo)*nf+j] = b
			}
			continue
		}
		tt := e.cuts[j]
		if len(tt) == 0 { // the trees never split on it
			continue
		}
		// Count the cuts below v: a branchless binary search over len(tt) = 2^k − 1, four
		// rows at a time so that their chains of dependent loads overlap (NaN is below no
		// cut, and gets the missing bin after).
		top := int32(len(tt)+1) / 2
		tt = tt[:len(tt):len(tt)]
		num := c.Num[lo:hi]
		xr := x[j:]
		r := 0
		for ; r+4 <= len(num); r += 4 {
			v0, v1, v2, v3 := num[r], num[r+1], num[r+2], num[r+3]
			var i0, i1, i2, i3 int32
			for step := top; step > 0; step >>= 1 {
				i0 += step & -b2i(tt[i0+step-1] < v0)
				i1 += step & -b2i(tt[i1+step-1] < v1)
				i2 += step & -b2i(tt[i2+step-1] < v2)
				i3 += step & -b2i(tt[i3+step-1] < v3)
			}
			xr[r*nf], xr[(r+1)*nf], xr[(r+2)*nf], xr[(r+3)*nf] = uint8(i0), uint8(i1), uint8(i2), uint8(i3)
		}
		for ; r < len(num); r++ {
			v := num[r]
			i := int32(0)
			for step := top; step > 0; step >>= 1 {
				i += step & -b2i(tt[i+step-1] < v)
			}
			xr[r*nf] = uint8(i)
		}
		for r, v := range num {
			if v != v {
				xr[r*nf] = missingBin
			}
		}
	}
}

// add adds the output of every tree, in order, to out, for the binned rows x (nf bytes each).
func (e *ensemble) add(x []uint8, nf int, out []float64) {
	for _, t := range e.trees {
		e.addTree(t, x, nf, out)
	}
}

// addTree adds tree t's outputs for the rows of x to out, walking eight rows in lockstep so
// that their chains of dependent loads overlap (four overlap too few; docs/performance.md);
// the last rows go four and one at a time.
func (e *ensemble) addTree(t etree, x []uint8, nf int, out []float64) {
	nodes, luts, leafv := e.nodes, e.luts, e.leafv
	r := 0
	for ; r+8 <= len(out); r += 8 {
		xb := x[r*nf : (r+8)*nf]
		i0, i1, i2, i3, i4, i5, i6, i7 := t.root, t.root, t.root, t.root, t.root, t.root, t.root, t.root
		for range t.depth {
			n0, n1, n2, n3 := &nodes[i0], &nodes[i1], &nodes[i2], &nodes[i3]
			n4, n5, n6, n7 := &nodes[i4], &nodes[i5], &nodes[i6], &nodes[i7]
			i0 = n0.left + int32(luts[n0.lut][xb[n0.feat]])
			i1 = n1.left + int32(luts[n1.lut][xb[int(n1.feat)+nf]])
			i2 = n2.left + int32(luts[n2.lut][xb[int(n2.feat)+2*nf]])
			i3 = n3.left + int32(luts[n3.lut][xb[int(n3.feat)+3*nf]])
			i4 = n4.left + int32(luts[n4.lut][xb[int(n4.feat)+4*nf]])
			i5 = n5.left + int32(luts[n5.lut][xb[int(n5.feat)+5*nf]])
			i6 = n6.left + int32(luts[n6.lut][xb[int(n6.feat)+6*nf]])
			i7 = n7.left + int32(luts[n7.lut][xb[int(n7.feat)+7*nf]])
		}
		out[r] += leafv[i0]
		out[r+1] += leafv[i1]
		out[r+2] += leafv[i2]
		out[r+3] += leafv[i3]
		out[r+4] += leafv[i4]
		out[r+5] += leafv[i5]
		out[r+6] += leafv[i6]
		out[r+7] += leafv[i7]
	}
	for ; r+4 <= len(out); r += 4 {
		x0, x1, x2, x3 := x[r*nf:(r+1)*nf], x[(r+1)*nf:(r+2)*nf], x[(r+2)*nf:(r+3)*nf], x[(r+3)*nf:(r+4)*nf]
		i0, i1, i2, i3 := t.root, t.root, t.root, t.root
		for range t.depth {
			n0, n1, n2, n3 := &nodes[i0], &nodes[i1], &nodes[i2], &nodes[i3]
			i0 = n0.left + int32(luts[n0.lut][x0[n0.feat]])
			i1 = n1.left + int32(luts[n1.lut][x1[n1.feat]])
			i2 = n2.left + int32(luts[n2.lut][x2[n2.feat]])
			i3 = n3.left + int32(luts[n3.lut][x3[n3.feat]])
		}
		out[r] += leafv[i0]
		out[r+1] += leafv[i1]
		out[r+2] += leafv[i2]
		out[r+3] += leafv[i3]
	}
	for ; r < len(out); r++ {
		xr := x[r*nf : (r+1)*nf]
		i := t.root
		for range t.depth {
			n := &nodes[i]
			i = n.left + int32(luts[n.lut][xr[n.feat]])
		}
		out[r] += leafv[i]
	}
}

// PredictLogOdds returns the log-odds of y = 1 for every row of X, using GOMAXPROCS
// goroutines for large inputs. Columns are matched by name; extra columns are ignored.
func (m *Model) PredictLogOdds(X *frame.Frame) ([]float64, error) {
	cols, err := m.columns(X)
	if err != nil {
		return nil, err
	}
	n := X.Rows()
	out := make([]float64, n)
	nf := len(m.features)
	e := m.batch
	// The goroutines take blocks of rows in turn, and score each block whole: a row's sum
	// does not depend on who scores it.
	size := predictBlock
	if e == nil {
		size = blockRows
	}
	nblocks := (n + size - 1) / size
	th := max(1, min(runtime.GOMAXPROCS(0), nblocks))
	var next atomic.Int64
	work := func() {
		var xb []uint8
		var xf []float64
		// A block's buffer, no longer than the rows (one row is the common case online).
		if e != nil {
			xb = make([]uint8, min(size, n)*nf)
		} else {
			xf = make([]float64, min(size, n)*nf)
		}
		for {
			b := int(next.Add(1) - 1)
			if b >= nblocks {
				return
			}
			lo, hi := b*size, min((b+1)*size, n)
			o := out[lo:hi]
			for i := range o {
				o[i] = m.base
			}
			if e != nil {
				e.binRows(m.features, cols, lo, hi, xb)
				e.add(xb, nf, o)
				continue
			}
			m.fillRows(cols, lo, hi, xf)
			for _, t := range m.trees {
				t.addBlock(xf, nf, o)
			}
		}
	}
	var wg sync.WaitGroup
	for range th - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return out, nil
}
