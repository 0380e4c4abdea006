package gbt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/propensity-dev/propensity/models/frame"
)

// gh is a gradient pair, or a histogram bin's sums of them.
type gh struct{ g, h float64 }

// Below these sizes a job runs on one goroutine. Spawning costs microseconds, but that is not
// the main reason: split over two cores, a small job's histograms, gradients and row lists
// move between the cores' caches, which costs more than the second core saves
// (docs/performance.md).
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
	src := rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15)
	rng := rand.New(src)
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
	if o.Progress != nil {
		o.Progress(0, o.Trees)
	}
	for round := 0; round < o.Trees; round++ {
		identity := t.sampleRows(src)
		t.sampleFeatures(rng)
		t.gradients(F, y, w, identity)
		tr := t.grow(identity)
		tr.compile(t.feats)
		t.update(F, tr, identity)
		tr.luts, tr.leaves, tr.terms = nil, nil, nil
		m.trees = append(m.trees, tr)
		if o.Progress != nil {
			o.Progress(round+1, o.Trees)
		}
		if val != nil && val.add(tr, round, o.EarlyStoppingRounds) {
			break
		}
	}
	if val != nil {
		m.trees = m.trees[:val.best+1]
		m.bestRound = val.best + 1
	}
	m.opts.Validation, m.opts.Progress = nil, nil
	m.batch = compileEnsemble(m.features, m.trees)
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
	gp       []gh      // gradient pairs by row (of the current tree's rows)
	og       []gh      // gradient pairs in the order of a node's rows (see hist)
	rows     []int32   // rows of the current tree, partitioned node by node
	out      []int32   // rows left out of the current tree, ascending
	tmpL     []int32
	tmpR     []int32
	active   []int   // features drawn for the current tree, ascending
	free     [][]gh  // histogram buffers to reuse
	cand     []split // per active feature
	cand2    []split
	cats     [][]cat // per worker: findCatSplit's scratch
	walk     walker  // scratch for update
	queue    []task  // scratch for grow
}

func newTrainer(X *frame.Frame, n int, o Options, rng *rand.Rand, shrink int) *trainer {
	nf := len(X.Columns)
	t := &trainer{o: o, n: n, feats: make([]feature, nf), bins: make([][]uint8, nf), nb: make([]int, nf),
		minCells: parallelCells / shrink, minRows: parallelRows / shrink}
	sample := binSample(n, rng)
	slab := make([]uint8, n*nf)
	bufs := make([][]float64, t.o.Threads)
	t.forEach(nf, n >= t.minCells, func(w, f int) {
		c := &X.Columns[f]
		t.feats[f], bufs[w] = fitFeature(c, o.MaxBins, sample, bufs[w])
		t.bins[f] = slab[f*n : (f+1)*n : (f+1)*n]
		t.feats[f].binColumn(c, t.bins[f])
		t.nb[f] = t.feats[f].nbins()
	})
	t.cats = make([][]cat, t.o.Threads)
	t.gp = make([]gh, n)
	t.og = make([]gh, n)
	t.rows = make([]int32, n)
	t.tmpL = make([]int32, n)
	t.tmpR = make([]int32, n)
	t.cand = make([]split, nf)
	t.cand2 = make([]split, nf)
	return t
}

// forEach calls fn(worker, i) for i in [0, k), spread over the threads: goroutine worker
// (0..Threads-1) takes indices in turn, so that a slow one holds up only the index it has.
// Unless parallel, everything runs on the calling goroutine.
func (t *trainer) forEach(k int, parallel bool, fn func(worker, i int)) {
	th := min(t.o.Threads, k)
	if th <= 1 || !parallel {
		for i := range k {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range th {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= k {
					return
				}
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// forBlocks calls fn on contiguous blocks [lo, hi) covering [0, n), one block per thread,
// and returns the number of blocks. The blocks depend on n and Options.Threads only.
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
		wg.Go(func() { fn(b, min(b*size, n), min((b+1)*size, n)) })
	}
	wg.Wait()
	return th
}

// gradients fills t.gp with the first and second derivatives of the log-loss at F for the
// rows of the current tree (t.rows; all rows with identity): (p − y, p(1 − p)) with
// p = σ(F), times the row's weight. Without identity it also gathers them in the order of
// t.rows into t.og, for the root's histogram.
func (t *trainer) gradients(F, y, w []float64, identity bool) {
	rows := t.rows
	t.forBlocks(len(rows), func(_, lo, hi int) {
		if identity {
			gp, F, y := t.gp[lo:hi], F[lo:hi], y[lo:hi]
			for i := range gp {
				p := 1 / (1 + math.Exp(-F[i]))
				gp[i] = gh{p - y[i], p * (1 - p)}
			}
		} else {
			gp, y := t.gp[:len(F)], y[:len(F)] // one bounds check per row
			for _, r := range rows[lo:hi] {
				p := 1 / (1 + math.Exp(-F[r]))
				gp[r] = gh{p - y[r], p * (1 - p)}
			}
		}
		if w != nil {
			for _, r := range rows[lo:hi] {
				t.gp[r].g *= w[r]
				t.gp[r].h *= w[r]
			}
		}
		if !identity {
			og := t.og[lo:hi]
			for k, r := range rows[lo:hi] {
				og[k] = t.gp[r]
			}
		}
	})
}

// sampleRows draws the rows of the next tree into t.rows (the others into t.out) and reports
// whether they are all rows in order. It draws from src directly, not through the rand.Rand
// wrapping it: the same stream, without an interface call per row.
func (t *trainer) sampleRows(src *rand.PCG) bool {
	if t.o.Subsample >= 1 {
		t.rows = t.rows[:t.n]
		for i := range t.rows {
			t.rows[i] = int32(i)
		}
		return true
	}
	if t.out == nil {
		t.out = make([]int32, t.n)
	}
	// P(u < limit) = Subsample for u uniform on the 53-bit integers.
	limit := uint64(t.o.Subsample * (1 << 53))
	rows, out := t.rows[:t.n], t.out[:t.n]
	k, j := 0, 0
	for i := range rows {
		in := int(b2i(src.Uint64()>>11 < limit))
		// Write the row to both lists and keep it in one: no branch to mispredict.
		rows[k] = int32(i)
		out[j] = int32(i)
		k += in
		j += 1 - in
	}
	t.rows, t.out = rows[:k], out[:j]
	if k == 0 { // a tiny input: grow this tree on all rows
		t.rows, t.out = rows[:t.n], out[:0]
		for i := range rows {
			rows[i] = int32(i)
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

// histsAndSplits builds the histogram of node a from its rows and their gradient pairs og in
// the same order (all rows in order, and t.gp, with identity; see hist) and finds a's best split; when b is not nil it also turns b.hist, which
// holds the parent's histogram, into b's (the parent's minus a's: the subtraction trick of
// Ke et al. 2017) and finds b's best split. Large nodes are shared among the threads by runs
// of active features.
func (t *trainer) histsAndSplits(rows []int32, og []gh, identity bool, a, b *task) {
	// In parallel, a task is hist over a run of features. Each task reads all the gradient
	// pairs, so there is one per thread: more tasks would balance a thread slowed by other
	// work, but every extra task reads all the pairs again (docs/performance.md).
	na := len(t.active)
	parallel := len(rows)*na >= t.minCells && t.o.Threads > 1
	nt, per := 1, na
	if parallel {
		nt = min(t.o.Threads, na)
		per = (na + nt - 1) / nt
		nt = (na + per - 1) / per
	}
	t.forEach(nt, parallel, func(w, k int) {
		lo, hi := k*per, min((k+1)*per, na)
		fs := t.active[lo:hi]
		if identity {
			t.hist(fs, nil, t.gp, a.hist)
		} else {
			t.hist(fs, rows, og, a.hist)
		}
		for k, f := range fs {
			t.cand[lo+k] = t.findSplit(w, f, a.hist, a.g, a.h)
			if b == nil {
				continue
			}
			sh, lh := a.hist[256*f:256*f+t.nb[f]+1], b.hist[256*f:256*f+t.nb[f]+1]
			for i := range lh {
				lh[i].g -= sh[i].g
				lh[i].h -= sh[i].h
			}
			t.cand2[lo+k] = t.findSplit(w, f, b.hist, b.g, b.h)
		}
	})
	a.best = t.bestOf(t.cand)
	if b != nil {
		b.best = t.bestOf(t.cand2)
	}
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
	luts   []*[256]uint8 // per node: does a bin go right (see split.lut; nil for leaves)
	leaves []task        // leaf nodes with their row ranges
	terms  []terminal    // splits into two leaves, rows not partitioned
}

// terminal is a split whose children are both leaves: rows[start:end] go left or right by lut.
type terminal struct {
	start, end  int
	col         []uint8
	lut         *[256]uint8
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
	// Room for the largest tree the limits allow, up to depth 5, so that the nodes (kept in
	// the model) of a common tree are allocated once; deeper trees grow as needed.
	maxNodes := 1<<min(o.MaxDepth+1, 6) - 1
	if o.MaxLeaves > 0 {
		maxNodes = min(maxNodes, 2*o.MaxLeaves-1)
	}
	gr.nodes = make([]node, 0, maxNodes)
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
		t.histsAndSplits(rows, t.og[:len(rows)], identity, &root, nil)
	}
	queue := append(t.queue[:0], root)
	defer func() { t.queue = queue[:0] }()
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
				if lut[b] == 0 {
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
		t.forBlocks(len(srows), func(_, lo, hi int) {
			gp, og := t.gp, og[lo:hi]
			for k, r := range srows[lo:hi] {
				og[k] = gp[r]
			}
		})
		t.histsAndSplits(srows, og, false, small, large)
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
// returns the end of the left part. Whether a row goes left is a coin toss to the branch
// predictor, so every row is written to both sides and only the counts move on.
func (t *trainer) partition(start, end int, col []uint8, lut *[256]uint8) int {
	rs := t.rows[start:end]
	m := len(rs)
	if m < t.minRows || t.o.Threads <= 1 {
		// In place: the left part never overtakes the row being read.
		tmp := t.tmpR[start:end]
		li, ri := 0, 0
		for _, r := range rs {
			l := 1 - int(lut[col[r]])
			rs[li] = r
			tmp[ri] = r
			li += l
			ri += 1 - l
		}
		copy(rs[li:], tmp[:ri])
		return start + li
	}
	var nl [64]int
	nblk := t.forBlocks(m, func(b, lo, hi int) {
		tl, tr := t.tmpL[start+lo:start+hi], t.tmpR[start+lo:start+hi]
		li, ri := 0, 0
		for _, r := range rs[lo:hi] {
			l := 1 - int(lut[col[r]])
			tl[li] = r
			tr[ri] = r
			li += l
			ri += 1 - l
		}
		nl[b] = li
	})
	size := (m + nblk - 1) / nblk
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

// update adds the new tree's output to the training scores: one job whose tasks are the
// leaves, the terminal splits and, when rows were left out of the tree, blocks of rows that
// walk it.
func (t *trainer) update(F []float64, gr *grown, identity bool) {
	nl, nt, nw := len(gr.leaves), len(gr.terms), 0
	if !identity {
		t.walk.reset(gr, t.bins)
		nw = t.o.Threads
	}
	size := (len(t.out) + nw - 1) / max(nw, 1)
	task := func(_, i int) {
		switch {
		case i < nl:
			lf := gr.leaves[i]
			v := gr.nodes[lf.node].Value
			for _, r := range t.rows[lf.start:lf.end] {
				F[r] += v
			}
		case i < nl+nt:
			tm := gr.terms[i-nl]
			v := [2]float64{tm.left, tm.right} // indexed without a branch
			for _, r := range t.rows[tm.start:tm.end] {
				F[r] += v[tm.lut[tm.col[r]]]
			}
		default:
			b := i - nl - nt
			t.walk.add(t.out[min(b*size, len(t.out)):min((b+1)*size, len(t.out))], F)
		}
	}
	t.forEach(nl+nt+nw, t.n >= t.minRows, task)
}

// walker walks rows down a tree being fitted, on their training bins (the way partition
// sends them), so that rows left out of the tree get the leaves they would get in it. Leaves
// are fixed points, as in tree.compile, so every walk takes the tree's depth in steps.
type walker struct {
	nodes []wnode
	leafv []float64
	depth int
	zero  [256]uint8 // a leaf's table: every bin stays
}

type wnode struct {
	col   []uint8     // the split feature's bins by row (any column for a leaf)
	right *[256]uint8 // 1 for the bins that go right (see split.lut)
	left  int32
}

// reset makes w walk gr (compiled: depth and leafv are set), whose features' bins are bins.
func (w *walker) reset(gr *grown, bins [][]uint8) {
	w.nodes = w.nodes[:0]
	for i, n := range gr.nodes {
		nd := wnode{col: bins[0], right: &w.zero, left: int32(i)}
		if n.Feature >= 0 {
			nd = wnode{col: bins[n.Feature], right: gr.luts[i], left: int32(n.Left)}
		}
		w.nodes = append(w.nodes, nd)
	}
	w.leafv, w.depth = gr.leafv, gr.depth
}

// add adds the tree's output to F for the rows rs, walking four at a time in lockstep.
func (w *walker) add(rs []int32, F []float64) {
	nodes := w.nodes
	k := 0
	for ; k+4 <= len(rs); k += 4 {
		r0, r1, r2, r3 := rs[k], rs[k+1], rs[k+2], rs[k+3]
		var i0, i1, i2, i3 int32
		for range w.depth {
			n0, n1, n2, n3 := &nodes[i0], &nodes[i1], &nodes[i2], &nodes[i3]
			i0 = n0.left + int32(n0.right[n0.col[r0]])
			i1 = n1.left + int32(n1.right[n1.col[r1]])
			i2 = n2.left + int32(n2.right[n2.col[r2]])
			i3 = n3.left + int32(n3.right[n3.col[r3]])
		}
		F[r0] += w.leafv[i0]
		F[r1] += w.leafv[i1]
		F[r2] += w.leafv[i2]
		F[r3] += w.leafv[i3]
	}
	for _, r := range rs[k:] {
		i := int32(0)
		for range w.depth {
			n := &nodes[i]
			i = n.left + int32(n.right[n.col[r]])
		}
		F[r] += w.leafv[i]
	}
}
