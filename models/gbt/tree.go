package gbt

import "math"

// node is one node of a tree as stored in the JSON. Children always come after their parent.
type node struct {
	// Feature is the index of the split feature in the model's features, or -1 for a leaf.
	Feature int `json:"feature"`
	// Threshold: a numeric value <= Threshold goes left.
	Threshold float64 `json:"threshold,omitempty"`
	// Categories lists the categorical bins that go left; the others go right.
	Categories []int `json:"categories,omitempty"`
	// DefaultLeft sends missing (and unseen) values left.
	DefaultLeft bool `json:"default_left,omitempty"`
	Left        int  `json:"left,omitempty"`
	Right       int  `json:"right,omitempty"`
	// Value is a leaf's addition to the log-odds (learning rate applied).
	Value float64 `json:"value,omitempty"`
	// Cover is the sum of hessians of the training rows that reached the node.
	Cover float64 `json:"cover"`
	// Gain is the split's loss reduction.
	Gain float64 `json:"gain,omitempty"`
}

// fnode is the compact form used to predict.
type fnode struct {
	val         float64 // threshold, or leaf value
	feat        int32   // -1 for a leaf
	left        int32   // the right child is left+1
	defaultLeft bool
	set         int32 // categorical split: index into tree.sets; -1 for a numeric one
}

type tree struct {
	nodes []node
	flat  []fnode
	sets  [][4]uint64 // categorical splits' left bins
	leafv []float64   // leaf values by node index
	depth int         // the longest root-to-leaf path
	mean  float64     // meanValue, kept by compile: Contributions needs it for every row
}

// compile builds the prediction form. Leaves become fixed points of next (a numeric split at
// +Inf whose left child is the leaf itself), so every walk takes exactly depth steps: no
// data-dependent loop exit, and several rows can be walked in lockstep.
func (t *tree) compile(feats []feature) {
	t.flat = make([]fnode, len(t.nodes))
	t.leafv = make([]float64, len(t.nodes))
	t.sets = nil
	depth := make([]int, len(t.nodes))
	t.depth = 0
	for i, n := range t.nodes {
		if n.Feature < 0 {
			t.flat[i] = fnode{val: math.Inf(1), left: int32(i), defaultLeft: true, set: -1}
			t.leafv[i] = n.Value
			t.depth = max(t.depth, depth[i])
			continue
		}
		depth[n.Left], depth[n.Right] = depth[i]+1, depth[i]+1
		f := fnode{val: n.Threshold, feat: int32(n.Feature), left: int32(n.Left), defaultLeft: n.DefaultLeft, set: -1}
		if feats[n.Feature].categorical() {
			var set [4]uint64
			for _, c := range n.Categories {
				set[c>>6] |= 1 << (c & 63)
			}
			f.set = int32(len(t.sets))
			t.sets = append(t.sets, set)
		}
		t.flat[i] = f
	}
	t.mean = t.meanValue()
}

// next returns the child of internal node i that x goes to. Right children follow their left
// siblings (checkTree), so the common numeric case needs no branch: trees' 50/50 turns would
// mispredict half the time.
func (t *tree) next(i int32, x []float64) int32 {
	n := &t.flat[i]
	v := x[n.feat]
	if n.set < 0 && v == v {
		return n.left + b2i(v > n.val)
	}
	return t.nextSlow(n, v)
}

// nextSlow is next for a missing value or a categorical split, kept apart so that next inlines.
//
//go:noinline
func (t *tree) nextSlow(n *fnode, v float64) int32 {
	var right bool
	switch {
	case v != v: // NaN: missing or unseen
		right = !n.defaultLeft
	default:
		c := int(v)
		right = t.sets[n.set][c>>6]>>(c&63)&1 == 0
	}
	return n.left + b2i(right)
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// leaf returns the index of the leaf that x (one value per model feature, see feature.code)
// reaches.
func (t *tree) leaf(x []float64) int32 {
	i := int32(0)
	for range t.depth {
		i = t.next(i, x)
	}
	return i
}

func (t *tree) predict(x []float64) float64 { return t.leafv[t.leaf(x)] }

// addBlock adds the tree's output for the rows of x (row-major, nf values each) to out,
// walking four rows at a time to overlap their memory latencies.
func (t *tree) addBlock(x []float64, nf int, out []float64) {
	flat := t.flat
	r := 0
	for ; r+4 <= len(out); r += 4 {
		x0, x1, x2, x3 := x[r*nf:(r+1)*nf], x[(r+1)*nf:(r+2)*nf], x[(r+2)*nf:(r+3)*nf], x[(r+3)*nf:(r+4)*nf]
		var i0, i1, i2, i3 int32
		for range t.depth {
			// next, written out: the compiler does not inline it.
			n0, n1, n2, n3 := &flat[i0], &flat[i1], &flat[i2], &flat[i3]
			v0, v1, v2, v3 := x0[n0.feat], x1[n1.feat], x2[n2.feat], x3[n3.feat]
			if n0.set < 0 && v0 == v0 {
				i0 = n0.left + b2i(v0 > n0.val)
			} else {
				i0 = t.nextSlow(n0, v0)
			}
			if n1.set < 0 && v1 == v1 {
				i1 = n1.left + b2i(v1 > n1.val)
			} else {
				i1 = t.nextSlow(n1, v1)
			}
			if n2.set < 0 && v2 == v2 {
				i2 = n2.left + b2i(v2 > n2.val)
			} else {
				i2 = t.nextSlow(n2, v2)
			}
			if n3.set < 0 && v3 == v3 {
				i3 = n3.left + b2i(v3 > n3.val)
			} else {
				i3 = t.nextSlow(n3, v3)
			}
		}
		out[r] += t.leafv[i0]
		out[r+1] += t.leafv[i1]
		out[r+2] += t.leafv[i2]
		out[r+3] += t.leafv[i3]
	}
	for ; r < len(out); r++ {
		out[r] += t.predict(x[r*nf : (r+1)*nf])
	}
}

// meanValue is the cover-weighted mean of the leaves: the tree's expected output.
func (t *tree) meanValue() float64 {
	var rec func(i int) float64
	rec = func(i int) float64 {
		n := &t.nodes[i]
		if n.Feature < 0 {
			return n.Value
		}
		l, r := &t.nodes[n.Left], &t.nodes[n.Right]
		return (l.Cover*rec(n.Left) + r.Cover*rec(n.Right)) / (l.Cover + r.Cover)
	}
	return rec(0)
}
