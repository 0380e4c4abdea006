package gbt

import (
	"fmt"
	"math"
	"slices"

	"github.com/propensity-dev/propensity/models/frame"
)

// Contributions explains the prediction for one row of X with exact TreeSHAP values
// (Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree
// ensembles", Algorithm 2, path-dependent): contrib[j] is feature j's share (in the order of
// FeatureNames) and bias is the model's expected log-odds over the training data, so that
// bias + Σ contrib equals PredictLogOdds for that row.
func (m *Model) Contributions(X *frame.Frame, row int) (bias float64, contrib []float64, err error) {
	cols, err := m.columns(X)
	if err != nil {
		return 0, nil, err
	}
	if row < 0 || row >= X.Rows() {
		return 0, nil, fmt.Errorf("%w: %d of %d", ErrRow, row, X.Rows())
	}
	x := make([]float64, len(m.features))
	m.fillRows(cols, row, row+1, x)
	contrib = make([]float64, len(m.features))
	bias = m.base
	for _, t := range m.trees {
		bias += t.mean
	}
	m.contribRow(x, contrib, new(shapper))
	return bias, contrib, nil
}

// contribRow adds the TreeSHAP values of the row x (one value per model feature) to phi,
// tree by tree: from each tree's grouped tables where it has them, by Algorithm 2
// otherwise. The two differ only in the order of their float64 additions.
func (m *Model) contribRow(x, phi []float64, s *shapper) {
	tabs := m.shapTables()
	for i, t := range m.trees {
		if st := tabs[i]; st != nil {
			st.add(&t.tree, x, phi)
		} else {
			s.tree(&t.tree, x, phi)
		}
	}
}

// shapTableBudget bounds the float64 values the tables of one model hold (16 MiB); trees
// past it are explained by Algorithm 2 at each call.
const shapTableBudget = 2 << 20

// shapTables returns the model's per-tree tables (nil entries for trees left to Algorithm 2),
// built on first use.
func (m *Model) shapTables() []*shapTree {
	m.shapOnce.Do(func() {
		m.shapTabs = make([]*shapTree, len(m.trees))
		left := shapTableBudget
		for i, t := range m.trees {
			if shapTableSize(&t.tree) > left {
				continue
			}
			if st := groupShapTable(&t.tree, buildShapTable(&t.tree)); st.size() <= left {
				m.shapTabs[i] = st
				left -= st.size()
			}
		}
	})
	return m.shapTabs
}

// shapTable holds, for each leaf of one tree, what Algorithm 2 adds to the contributions when
// it reaches that leaf, for every pattern of the leaf's path: which of its edges the row
// follows (the "hot" child) and which it does not. The increments depend on the row only
// through that pattern. This is the precomputation of Fast TreeSHAP v2 (Yang 2021, "Fast
// TreeSHAP: Accelerating SHAP Value Computation for Trees", arXiv:2109.09847), here keyed by
// the path's edges rather than its features, and computed by the very operations of
// Algorithm 2 in the same order, so that each increment is equal to its float64 result bit
// for bit. groupShapTable folds the leaves' increments into the tables a row reads.
type shapTable struct {
	// Per node (leaves only): the number of path elements, their offset in feats, and the
	// offset of the leaf's increments in delta (2^depth patterns of n values each; bit k of
	// a pattern is set when the row takes the edge at depth k).
	n     []int32
	foff  []int32
	doff  []int32
	feats []int32
	delta []float64
}

// shapTableSize bounds the number of increments buildShapTable stores for t (every leaf
// counted at the tree's depth).
func shapTableSize(t *tree) int {
	if t.depth > 16 {
		return math.MaxInt
	}
	return (1 << t.depth) * t.depth * ((len(t.nodes) + 1) / 2)
}

func buildShapTable(t *tree) *shapTable {
	st := &shapTable{n: make([]int32, len(t.nodes)), foff: make([]int32, len(t.nodes)), doff: make([]int32, len(t.nodes))}
	need := (t.depth + 2) * (t.depth + 3) / 2
	buf := make([]pathElem, need)
	path := make([]int, 0, t.depth+1) // node indices from the root to the current node
	var visit func(j int)
	visit = func(j int) {
		path = append(path, j)
		defer func() { path = path[:len(path)-1] }()
		nd := &t.nodes[j]
		if nd.Feature >= 0 {
			visit(nd.Left)
			visit(nd.Right)
			return
		}
		d := len(path) - 1
		st.foff[j] = int32(len(st.feats))
		st.doff[j] = int32(len(st.delta))
		for pat := range 1 << d {
			m := replayPath(t, path, pat, buf)
			if pat == 0 {
				st.n[j] = int32(len(m) - 1)
				for i := 1; i < len(m); i++ {
					st.feats = append(st.feats, int32(m[i].feat))
				}
			}
			for i := 1; i < len(m); i++ {
				w := unwoundSum(m, i)
				st.delta = append(st.delta, w*(m[i].o-m[i].z)*nd.Value)
			}
		}
	}
	visit(0)
	return st
}

// replayPath runs Algorithm 2's path operations (recurse) from the root to the leaf
// path[len(path)-1], taking the edge at depth k as the hot one when bit k of pat is set, and
// returns the leaf's path (in buf).
func replayPath(t *tree, path []int, pat int, buf []pathElem) []pathElem {
	m := buf[:1]
	extend(m, 1, 1, -1)
	for k := 0; k+1 < len(path); k++ {
		nd := &t.nodes[path[k]]
		var iz, io float64
		m, iz, io = takeFeature(m, nd.Feature)
		child := path[k+1]
		po := 0.0
		if pat>>k&1 == 1 {
			po = io
		}
		m = m[:len(m)+1]
		extend(m, iz*t.nodes[child].Cover/nd.Cover, po, nd.Feature)
	}
	return m
}

// shapGroupBits is the most split outcomes that index one group's table (2^8 entries).
const shapGroupBits = 8

// shapTree is what a row reads to get one tree's TreeSHAP values. A walk of the per-leaf
// table reads an increment at every leaf, each from a different place in memory, and a
// score of two models of about 300 trees each then spent most of its time waiting on those
// reads. Yet a row's values from a tree depend only on the outcomes of its splits: each
// leaf's pattern is made of them. So the tree is cut into groups, subtrees whose own splits
// and ancestors number at most shapGroupBits (the whole tree when it is small enough), and
// each group keeps, for every combination of those outcomes, the sum of its leaves'
// increments by feature. A row evaluates the splits and reads one short vector per group:
// about one place in memory a tree instead of one a leaf.
type shapTree struct {
	groups []shapGroup
}

// shapGroup is one subtree's table.
type shapGroup struct {
	// nodes are the internal nodes whose outcomes (0: left, 1: right) make the index, bit j
	// for nodes[j]: the subtree root's ancestors, then the subtree's own splits.
	nodes []int32
	// feats are the features the group's leaves add to; vals holds, for each index, one sum
	// per feature (2^len(nodes) × len(feats) values).
	feats []int32
	vals  []float64
}

func (st *shapTree) size() int {
	n := 0
	for i := range st.groups {
		n += len(st.groups[i].vals)
	}
	return n
}

// add adds the row x's TreeSHAP values from the tree t to phi.
func (st *shapTree) add(t *tree, x, phi []float64) {
	for i := range st.groups {
		g := &st.groups[i]
		idx := 0
		for j, nd := range g.nodes {
			idx |= int(t.next(nd, x)-t.flat[nd].left) << j
		}
		nf := len(g.feats)
		for j, v := range g.vals[idx*nf:][:nf] {
			phi[g.feats[j]] += v
		}
	}
}

// groupShapTable cuts t into groups (see shapTree) and fills their tables from the leaves'
// increments in lt: for each index, the leaves of the group in depth-first order, left
// first, each leaf's increments in its path's order.
func groupShapTable(t *tree, lt *shapTable) *shapTree {
	st := &shapTree{}
	var anc []int32 // the current node's ancestors, from the root
	var visit func(r int32)
	visit = func(r int32) {
		inner := subtreeSplits(t, r, nil)
		if t.nodes[r].Feature < 0 || len(anc)+len(inner) <= shapGroupBits {
			st.groups = append(st.groups, makeShapGroup(t, lt, anc, r, inner))
			return
		}
		anc = append(anc, r)
		visit(int32(t.nodes[r].Left))
		visit(int32(t.nodes[r].Right))
		anc = anc[:len(anc)-1]
	}
	visit(0)
	return st
}

// subtreeSplits appends the internal nodes of the subtree rooted at r to dst, depth first.
func subtreeSplits(t *tree, r int32, dst []int32) []int32 {
	nd := &t.nodes[r]
	if nd.Feature < 0 {
		return dst
	}
	dst = append(dst, r)
	dst = subtreeSplits(t, int32(nd.Left), dst)
	return subtreeSplits(t, int32(nd.Right), dst)
}

func makeShapGroup(t *tree, lt *shapTable, anc []int32, r int32, inner []int32) shapGroup {
	g := shapGroup{nodes: append(slices.Clone(anc), inner...)}
	bit := make(map[int32]int, len(g.nodes))
	for j, nd := range g.nodes {
		bit[nd] = j
	}
	// The group's leaves in depth-first order, left first. A leaf's pattern has bit k set
	// when the outcome of the split at depth k on its path (index bit bits[k]) is the
	// outcome want[k] that leads to the leaf.
	type leaf struct {
		node       int32
		bits, want []int
		pos        []int // the position in g.feats of each of its increments
	}
	var leaves []leaf
	var bits, want []int
	var walk func(j int32)
	walk = func(j int32) {
		nd := &t.nodes[j]
		if nd.Feature < 0 {
			leaves = append(leaves, leaf{node: j, bits: slices.Clone(bits), want: slices.Clone(want)})
			return
		}
		for side, child := range [2]int{nd.Left, nd.Right} {
			bits, want = append(bits, bit[j]), append(want, side)
			walk(int32(child))
			bits, want = bits[:len(bits)-1], want[:len(want)-1]
		}
	}
	// The ancestors' outcomes that lead to r, then r's subtree.
	for k, a := range anc {
		next := r
		if k+1 < len(anc) {
			next = anc[k+1]
		}
		bits, want = append(bits, k), append(want, int(next)-t.nodes[a].Left)
	}
	walk(r)
	pos := map[int32]int{}
	for i := range leaves {
		l := &leaves[i]
		n, off := lt.n[l.node], lt.foff[l.node]
		for _, f := range lt.feats[off : off+n] {
			p, ok := pos[f]
			if !ok {
				p = len(g.feats)
				pos[f] = p
				g.feats = append(g.feats, f)
			}
			l.pos = append(l.pos, p)
		}
	}
	nf := len(g.feats)
	g.vals = make([]float64, (1<<len(g.nodes))*nf)
	for idx := range 1 << len(g.nodes) {
		v := g.vals[idx*nf:][:nf]
		for _, l := range leaves {
			pat := 0
			for k, b := range l.bits {
				if idx>>b&1 == l.want[k] {
					pat |= 1 << k
				}
			}
			n := len(l.pos)
			for e, d := range lt.delta[int(lt.doff[l.node])+pat*n:][:n] {
				v[l.pos[e]] += d
			}
		}
	}
	return g
}

// pathElem is one feature on the path to the current node: the fraction of "zero" (feature
// unknown) and "one" (feature known) paths that flow through, and the permutation weight.
type pathElem struct {
	feat   int
	z, o   float64
	weight float64
}

type shapper struct {
	buf []pathElem
}

func (s *shapper) tree(t *tree, x []float64, phi []float64) {
	need := (t.depth + 2) * (t.depth + 3) / 2
	if cap(s.buf) < need {
		s.buf = make([]pathElem, need)
	}
	s.recurse(t, x, phi, 0, s.buf[:0], 1, 1, -1, s.buf)
}

// recurse follows Algorithm 2 of Lundberg et al. (2018). path holds the parent's path; it is
// copied into fresh space at the start of free, so that siblings see the parent's path.
func (s *shapper) recurse(t *tree, x, phi []float64, j int, parent []pathElem, pz, po float64, pf int, free []pathElem) {
	l := len(parent)
	m := free[:l+1]
	copy(m, parent)
	free = free[l+1:]
	extend(m, pz, po, pf)
	nd := &t.nodes[j]
	if nd.Feature < 0 {
		for i := 1; i < len(m); i++ {
			w := unwoundSum(m, i)
			phi[m[i].feat] += w * (m[i].o - m[i].z) * nd.Value
		}
		return
	}
	hot := int(t.next(int32(j), x))
	cold := nd.Left
	if hot == nd.Left {
		cold = nd.Right
	}
	m, iz, io := takeFeature(m, nd.Feature)
	rj := nd.Cover
	s.recurse(t, x, phi, hot, m, iz*t.nodes[hot].Cover/rj, io, nd.Feature, free)
	s.recurse(t, x, phi, cold, m, iz*t.nodes[cold].Cover/rj, 0, nd.Feature, free)
}

// takeFeature removes feature f from the path m when it is on it (a split on a feature
// already on the path), returning the shorter path and the removed element's fractions;
// otherwise m and fractions 1, 1.
func takeFeature(m []pathElem, f int) ([]pathElem, float64, float64) {
	for k := 1; k < len(m); k++ {
		if m[k].feat == f {
			z, o := m[k].z, m[k].o
			unwind(m, k)
			return m[:len(m)-1], z, o
		}
	}
	return m, 1, 1
}

// extend grows the path m (whose last element is new) by feature pf with fractions pz, po.
func extend(m []pathElem, pz, po float64, pf int) {
	l := len(m) - 1
	m[l] = pathElem{feat: pf, z: pz, o: po}
	if l == 0 {
		m[l].weight = 1
	}
	for i := l - 1; i >= 0; i-- {
		m[i+1].weight += po * m[i].weight * float64(i+1) / float64(l+1)
		m[i].weight = pz * m[i].weight * float64(l-i) / float64(l+1)
	}
}

// unwind removes element i from the path m in place (m keeps its length; the caller drops the
// last element).
func unwind(m []pathElem, i int) {
	l := len(m) - 1
	o, z := m[i].o, m[i].z
	n := m[l].weight
	for j := l - 1; j >= 0; j-- {
		if o != 0 {
			t := m[j].weight
			m[j].weight = n * float64(l+1) / (float64(j+1) * o)
			n = t - m[j].weight*z*float64(l-j)/float64(l+1)
		} else {
			m[j].weight = m[j].weight * float64(l+1) / (z * float64(l-j))
		}
	}
	for j := i; j < l; j++ {
		m[j].feat, m[j].z, m[j].o = m[j+1].feat, m[j+1].z, m[j+1].o
	}
}

// unwoundSum is the total weight of the path with element i removed, without changing m.
func unwoundSum(m []pathElem, i int) float64 {
	l := len(m) - 1
	o, z := m[i].o, m[i].z
	n := m[l].weight
	total := 0.0
	for j := l - 1; j >= 0; j-- {
		if o != 0 {
			w := n * float64(l+1) / (float64(j+1) * o)
			total += w
			n = m[j].weight - w*z*float64(l-j)/float64(l+1)
		} else {
			total += m[j].weight * float64(l+1) / (z * float64(l-j))
		}
	}
	if math.IsNaN(total) {
		return 0
	}
	return total
}
