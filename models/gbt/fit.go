package gbt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/propensity-dev/propensity/models/frame"
)

// gh is a gradient pair, or a histogram bin's sums of them.
type gh struct{ g, h float64 }

// Below these sizes a job runs on one goroutine: spawning would cost more than it saves.
const (
	parallelCells = 1 << 18 // rows × features of a histogram
	parallelRows  = 1 << 16 // rows of a partition or a gradient pass
)

// Fit grows a boosted ensemble of trees predicting P(y = 1 | X) from X, with per-row weights
// w (nil means ones). Labels are 0 or 1 (values in between are accepted as soft labels).
// Columns of kind frame.Categorical are split natively; see the package documentation for
// missing values.
func Fit(X *frame.Frame, y, w []float64, opts Options) (*Model, error) {
	return fit(X, y, w, opts, 1)
}

// fit is Fit with the sizes below which work stays on one goroutine divided by shrink (tests
// use it to reach the parallel code on small inputs).
func fit(X *frame.Frame, y, w []float64, opts Options, shrink int) (*Model, error) {
	n, err := checkData(X, y, w)
	if err != nil {
		return nil, err
	}
	o := opts.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var sw, swy float64
	for i := range n {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		sw += wi
		swy += wi * y[i]
	}
	mean := swy / sw
	if !(mean > 0 && mean < 1) {
		return nil, ErrOneClass
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d rows, at most %d", ErrLength, n, math.MaxInt32)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	t := newTrainer(X, n, o, rng, shrink)
	m := &Model{features: t.feats, base: math.Log(mean / (1 - mean)), opts: o}

	var val *validation
	if o.Validation != nil {
		val, err = m.newValidation(o.Validation)
		if err != nil {
			return nil, fmt.Errorf("validation set: %w", err)
		}
	}

	F := make([]float64, n)
	for i := range F {
		F[i] = m.base
	}
	for round := 0; round < o.Trees; round++ {
		t.gradients(F, y, w)
		identity := t.sampleRows(rng)
		t.sampleFeatures(rng)
		tr := t.grow(identity)
		t.update(F, tr, identity)
		tr.compile(t.feats)
		tr.luts, tr.leaves, tr.terms = nil, nil, nil
		m.trees = append(m.trees, tr)
		if val != nil && val.add(tr, round, o.EarlyStoppingRounds) {
			break
		}
	}
	if val != nil {
		m.trees = m.trees[:val.best+1]
		m.bestRound = val.best + 1
	}
	m.opts.Validation = nil
	return m, nil
}

func checkData(X *frame.Frame, y, w []float64) (int, error) {
	if X == nil || len(X.Columns) == 0 || X.Rows() == 0 {
		return 0, ErrEmpty
	}
	if err := X.Validate(); err != nil {
		return 0, err
	}
	n := X.Rows()
	if len(y) != n {
		return 0, fmt.Errorf("%w: %d labels for %d rows", ErrLength, len(y), n)
	}
	if w != nil && len(w) != n {
		return 0, fmt.Errorf("%w: %d weights for %d rows", ErrLength, len(w), n)
	}
	for i, v := range y {
		if !(v >= 0 && v <= 1) {
			return 0, fmt.Errorf("%w: row %d has %g", ErrLabel, i, v)
		}
	}
	if w != nil {
		var s float64
		for i, v := range w {
			if !(v >= 0) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%w: row %d has %g", ErrWeight, i, v)
			}
			s += v
		}
		if !(s > 0) || math.IsInf(s, 0) {
			return 0, ErrWeight
		}
	}
	return n, nil
}

type trainer struct {
	o        Options
	minCells int // parallelCells, or less in tests
	minRows  int // parallelRows, or less in tests
	n        int
	feats    []feature
	bins     [][]uint8 // column-major: bins[f][row]
	nb       []int     // value bins per feature; bin nb[f] holds missing values
	gp       []gh
	rows     []int32 // rows of the current tree, partitioned node by node
	inTree   []bool  // rows drawn for the current tree (nil when all are)
	tmpL     []int32
	tmpR     []int32
	og       []gh    // gradients gathered in row order for one node
	active   []int   // features drawn for the current tree, ascending
	free     [][]gh  // histogram buffers to reuse
	cand     []split // per active feature
	cand2    []split
}

func newTrainer(X *frame.Frame, n int, o Options, rng *rand.Rand, shrink int) *trainer {
	nf := len(X.Columns)
	t := &trainer{o: o, n: n, feats: make([]feature, nf), bins: make([][]uint8, nf), nb: make([]int, nf),
		minCells: parallelCells / shrink, minRows: parallelRows / shrink}
	sample := binSample(n, rng)
	slab := make([]uint8, n*nf)
	bufs := make([][]float64, t.o.Threads)
	t.forEachW(nf, n, func(w, f int) {
		c := &X.Columns[f]
		t.feats[f], bufs[w] = fitFeature(c, o.MaxBins, sample, bufs[w])
		t.bins[f] = slab[f*n : (f+1)*n : (f+1)*n]
		t.feats[f].binColumn(c, t.bins[f])
		t.nb[f] = t.feats[f].nbins()
	})
	t.gp = make([]gh, n)
	t.rows = make([]int32, n)
	t.tmpL = make([]int32, n)
	t.tmpR = make([]int32, n)
	t.og = make([]gh, n)
	t.cand = make([]split, nf)
	t.cand2 = make([]split, nf)
	return t
}

// forEach calls fn(0..k-1) spread over the threads, each index on exactly one goroutine.
// work is a size hint: small jobs run inline.
func (t *trainer) forEach(k, work int, fn func(i int)) {
	t.forEachW(k, work, func(_, i int) { fn(i) })
}

// forEachW is forEach telling fn which of the t.o.Threads workers runs it.
func (t *trainer) forEachW(k, work int, fn func(worker, i int)) {
	th := min(t.o.Threads, k)
	if th <= 1 || work < t.minCells {
		for i := range k {
			fn(0, i)
		}
		return
	}
	var wg sync.WaitGroup
	for j := range th {
		wg.Go(func() {
			for i := j; i < k; i += th {
				fn(j, i)
			}
		})
	}
	wg.Wait()
}

// forBlocks calls fn on contiguous blocks [lo, hi) covering [0, n), one block per thread.
func (t *trainer) forBlocks(n int, fn func(block, lo, hi int)) int {
	th := t.o.Threads
	if n < t.minRows || th <= 1 {
		fn(0, 0, n)
		return 1
	}
	th = min(th, 64)
	size := (n + th - 1) / th
	var wg sync.WaitGroup
	for b := range th {
		lo, hi := min(b*size, n), min((b+1)*size, n)
		wg.Go(func() { fn(b, lo, hi) })
	}
	wg.Wait()
	return th
}

// gradients fills t.gp with the first and second derivatives of the log-loss at F.
func (t *trainer) gradients(F, y, w []float64) {
	t.forBlocks(t.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			p := 1 / (1 + math.Exp(-F[i]))
			g, h := p-y[i], p*(1-p)
			if w != nil {
				g *= w[i]
				h *= w[i]
			}
			t.gp[i] = gh{g, h}
		}
	})
}

// sampleRows draws the rows of the next tree into t.rows and reports whether they are all
// rows in order.
func (t *trainer) sampleRows(rng *rand.Rand) bool {
	if t.o.Subsample >= 1 {
		t.rows = t.rows[:t.n]
		for i := range t.rows {
			t.rows[i] = int32(i)
		}
		return true
	}
	if t.inTree == nil {
		t.inTree = make([]bool, t.n)
	}
	t.rows = t.rows[:0]
	// P(u < limit) = Subsample for u uniform on the 53-bit integers.
	limit := uint64(t.o.Subsample * (1 << 53))
	for i := range t.n {
		in := rng.Uint64()>>11 < limit
		t.inTree[i] = in
		if in {
			t.rows = append(t.rows, int32(i))
		}
	}
	if len(t.rows) == 0 { // a tiny input: grow this tree on all rows
		for i := range t.n {
			t.rows = append(t.rows, int32(i))
			t.inTree[i] = true
		}
	}
	return false
}

func (t *trainer) sampleFeatures(rng *rand.Rand) {
	nf := len(t.feats)
	if t.o.ColSample >= 1 {
		if len(t.active) != nf {
			t.active = make([]int, nf)
			for i := range t.active {
				t.active[i] = i
			}
		}
		return
	}
	k := max(1, int(math.Round(t.o.ColSample*float64(nf))))
	t.active = append(t.active[:0], rng.Perm(nf)[:k]...)
	slices.Sort(t.active)
}

func (t *trainer) getHist() []gh {
	if k := len(t.free); k > 0 {
		h := t.free[k-1]
		t.free = t.free[:k-1]
		return h
	}
	return make([]gh, 256*len(t.feats))
}

func (t *trainer) putHist(h []gh) {
	if h != nil {
		t.free = append(t.free, h)
	}
}

// histFeatures sums the gradient pairs of the given rows (og holds their pairs in the same
// order) into the 256 bins of each feature in fs (one or two features: one pass over the rows
// serves both) in dst. With identity, the rows are all rows in order and og is indexed by row.
func (t *trainer) histFeatures(fs []int, rows []int32, og []gh, identity bool, dst []gh) {
	if len(fs) == 1 {
		f := fs[0]
		h := (*[256]gh)(dst[256*f : 256*f+256])
		*h = [256]gh{}
		col := t.bins[f]
		if identity {
			og = og[:len(col)]
			for r, b := range col {
				p := &h[b]
				p.g += og[r].g
				p.h += og[r].h
			}
			return
		}
		og = og[:len(rows)]
		for k, r := range rows {
			p := &h[col[r]]
			p.g += og[k].g
			p.h += og[k].h
		}
		return
	}
	f1, f2 := fs[0], fs[1]
	h1 := (*[256]gh)(dst[256*f1 : 256*f1+256])
	h2 := (*[256]gh)(dst[256*f2 : 256*f2+256])
	*h1, *h2 = [256]gh{}, [256]gh{}
	c1, c2 := t.bins[f1], t.bins[f2]
	if identity {
		og = og[:len(c1)]
		c2 = c2[:len(c1)]
		for r, b := range c1 {
			g, hh := og[r].g, og[r].h
			p := &h1[b]
			p.g += g
			p.h += hh
			q := &h2[c2[r]]
			q.g += g
			q.h += hh
		}
		return
	}
	og = og[:len(rows)]
	for k, r := range rows {
		g, hh := og[k].g, og[k].h
		p := &h1[c1[r]]
		p.g += g
		p.h += hh
		q := &h2[c2[r]]
		q.g += g
		q.h += hh
	}
}

// groups returns the active features in groups of at most two, for histFeatures.
func (t *trainer) groups() [][]int {
	var gs [][]int
	for i := 0; i < len(t.active); i += 2 {
		gs = append(gs, t.active[i:min(i+2, len(t.active))])
	}
	return gs
}

// task is a node waiting to be split or made a leaf.
type task struct {
	node, start, end, depth int
	g, h                    float64
	hist                    []gh // nil when the node may not split (depth limit)
	best                    split
}

// grown is a tree in the making, with what the trainer needs to update the scores.
type grown struct {
	tree
	luts   []*[256]bool // per node: does a bin go left (nil for leaves)
	leaves []task       // leaf nodes with their row ranges
	terms  []terminal   // splits into two leaves, rows not partitioned
}

// terminal is a split whose children are both leaves: rows[start:end] go left or right by lut.
type terminal struct {
	start, end  int
	col         []uint8
	lut         *[256]bool
	left, right float64
}

func (t *trainer) bestOf(cand []split) split {
	var b split
	for _, s := range cand[:len(t.active)] {
		if s.valid && (!b.valid || s.gain > b.gain) {
			b = s
		}
	}
	return b
}

func (t *trainer) grow(identity bool) *grown {
	o := t.o
	gr := &grown{}
	rows := t.rows
	var G, H float64
	for _, r := range rows {
		G += t.gp[r].g
		H += t.gp[r].h
	}
	gr.nodes = append(gr.nodes, node{Feature: -1, Cover: H})
	root := task{node: 0, start: 0, end: len(rows), g: G, h: H}
	if o.MaxDepth > 0 {
		root.hist = t.getHist()
		og := t.gp
		if !identity {
			og = t.og[:len(rows)]
			for k, r := range rows {
				og[k] = t.gp[r]
			}
		}
		na := len(t.active)
		gs := t.groups()
		t.forEach(len(gs), len(rows)*na, func(i int) {
			t.histFeatures(gs[i], rows, og, identity, root.hist)
			for k, f := range gs[i] {
				t.cand[2*i+k] = t.findSplit(f, root.hist, G, H)
			}
		})
		root.best = t.bestOf(t.cand)
	}
	queue := []task{root}
	leaves := 1
	for len(queue) > 0 {
		pick := 0
		if o.MaxLeaves > 0 {
			for i := range queue {
				if queue[i].best.valid && (!queue[pick].best.valid || queue[i].best.gain > queue[pick].best.gain) {
					pick = i
				}
			}
		}
		tk := queue[pick]
		queue = slices.Delete(queue, pick, pick+1)
		if !tk.best.valid || (o.MaxLeaves > 0 && leaves >= o.MaxLeaves) {
			t.putHist(tk.hist)
			t.makeLeaf(gr, tk)
			continue
		}
		s := tk.best
		lut := s.lut(t.nb[s.feat])
		li, ri := len(gr.nodes), len(gr.nodes)+1
		nd := &gr.nodes[tk.node]
		nd.Feature, nd.Left, nd.Right, nd.DefaultLeft, nd.Gain = s.feat, li, ri, s.dleft, s.gain
		if t.feats[s.feat].categorical() {
			nd.Categories = []int{}
			for b := range t.nb[s.feat] {
				if lut[b] {
					nd.Categories = append(nd.Categories, b)
				}
			}
		} else if s.bin < t.nb[s.feat]-1 {
			nd.Threshold = t.feats[s.feat].Thresholds[s.bin]
		} else {
			nd.Threshold = math.MaxFloat64
		}
		for len(gr.luts) <= tk.node {
			gr.luts = append(gr.luts, nil)
		}
		gr.luts[tk.node] = lut
		gr.nodes = append(gr.nodes, node{Feature: -1, Cover: s.hl}, node{Feature: -1, Cover: s.hr})
		leaves++
		if tk.depth+1 >= o.MaxDepth {
			// Both children are leaves: no need to sort their rows apart, update sends each
			// row to its side directly.
			t.putHist(tk.hist)
			t.makeLeaf(gr, task{node: li, g: s.gl, h: s.hl})
			t.makeLeaf(gr, task{node: ri, g: s.gr, h: s.hr})
			gr.leaves = gr.leaves[:len(gr.leaves)-2]
			gr.terms = append(gr.terms, terminal{start: tk.start, end: tk.end, col: t.bins[s.feat], lut: lut,
				left: gr.nodes[li].Value, right: gr.nodes[ri].Value})
			continue
		}
		mid := t.partition(tk.start, tk.end, t.bins[s.feat], lut)
		L := task{node: li, start: tk.start, end: mid, depth: tk.depth + 1, g: s.gl, h: s.hl}
		R := task{node: ri, start: mid, end: tk.end, depth: tk.depth + 1, g: s.gr, h: s.hr}
		// Build the smaller child's histogram from its rows; the larger one is the parent's
		// minus it (Ke et al. 2017), computed in place in the parent's buffer.
		small, large := &L, &R
		if R.end-R.start < L.end-L.start {
			small, large = &R, &L
		}
		small.hist, large.hist = t.getHist(), tk.hist
		srows := t.rows[small.start:small.end]
		og := t.og[:len(srows)]
		for k, r := range srows {
			og[k] = t.gp[r]
		}
		na := len(t.active)
		gs := t.groups()
		t.forEach(len(gs), len(srows)*na, func(i int) {
			t.histFeatures(gs[i], srows, og, false, small.hist)
			for k, f := range gs[i] {
				sh, lh := small.hist[256*f:256*f+t.nb[f]+1], large.hist[256*f:256*f+t.nb[f]+1]
				for b := range lh {
					lh[b].g -= sh[b].g
					lh[b].h -= sh[b].h
				}
				t.cand[2*i+k] = t.findSplit(f, small.hist, small.g, small.h)
				t.cand2[2*i+k] = t.findSplit(f, large.hist, large.g, large.h)
			}
		})
		small.best, large.best = t.bestOf(t.cand), t.bestOf(t.cand2)
		queue = append(queue, L, R)
	}
	return gr
}

func (t *trainer) makeLeaf(gr *grown, tk task) {
	gr.nodes[tk.node].Value = -tk.g / (tk.h + t.o.L2) * t.o.LearningRate
	tk.hist = nil
	gr.leaves = append(gr.leaves, tk)
}

// partition reorders t.rows[start:end] stably so that the rows going left come first, and
// returns the end of the left part.
func (t *trainer) partition(start, end int, col []uint8, lut *[256]bool) int {
	rs := t.rows[start:end]
	m := len(rs)
	var nl [64]int
	nblk := t.forBlocks(m, func(b, lo, hi int) {
		li, ri := lo, lo
		for _, r := range rs[lo:hi] {
			if lut[col[r]] {
				t.tmpL[start+li] = r
				li++
			} else {
				t.tmpR[start+ri] = r
				ri++
			}
		}
		nl[b] = li - lo
	})
	size := m
	if nblk > 1 {
		size = (m + nblk - 1) / nblk
	}
	total := 0
	for b := range nblk {
		total += nl[b]
	}
	pl, pr := 0, total
	for b := range nblk {
		lo := min(b*size, m)
		hi := min(lo+size, m)
		copy(rs[pl:], t.tmpL[start+lo:start+lo+nl[b]])
		copy(rs[pr:], t.tmpR[start+lo:start+lo+(hi-lo-nl[b])])
		pl += nl[b]
		pr += hi - lo - nl[b]
	}
	return start + total
}

// update adds the new tree's output to the training scores.
func (t *trainer) update(F []float64, gr *grown, identity bool) {
	for _, lf := range gr.leaves {
		v := gr.nodes[lf.node].Value
		for _, r := range t.rows[lf.start:lf.end] {
			F[r] += v
		}
	}
	for _, tm := range gr.terms {
		rs := t.rows[tm.start:tm.end]
		t.forBlocks(len(rs), func(_, lo, hi int) {
			for _, r := range rs[lo:hi] {
				if tm.lut[tm.col[r]] {
					F[r] += tm.left
				} else {
					F[r] += tm.right
				}
			}
		})
	}
	if identity {
		return
	}
	t.forBlocks(t.n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			if t.inTree[r] {
				continue
			}
			i := 0
			for {
				nd := &gr.nodes[i]
				if nd.Feature < 0 {
					F[r] += nd.Value
					break
				}
				if gr.luts[i][t.bins[nd.Feature][r]] {
					i = nd.Left
				} else {
					i = nd.Right
				}
			}
		}
	})
}
