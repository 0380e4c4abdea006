package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Identity stitching as distributed connected components.
//
// The identity graph has a node per identifier (contact id, e-mail, anonymous id) and an edge
// per link (a contact's e-mail, an identities row, an event carrying two or more ids). Its
// components are found with the alternating large-star / small-star rounds of Kiveris,
// Lattanzi, Mirrokni, Rastogi and Vassilvitskii, "Connected Components in MapReduce and
// Beyond" (SoCC 2014): each step is one group-by-node, neither keeps more than one node's
// neighbours in memory, and the paper bounds the alternation at O(log² n) rounds. We run a
// fixed number of rounds (a pipeline's shape is fixed before it runs), count after each
// large-star step the nodes that are not yet settled, and check at the end that every
// component is a star around its smallest identifier; if one is not, the job fails and
// asks for more rounds rather than writing a wrong answer.
//
//   - large-star(u): m = min(Γ(u) ∪ {u}); for each neighbour v > u, link v to m.
//   - small-star(u): N = {v ∈ Γ(u) : v < u} ∪ {u}, m = min N; link each v ∈ N, v ≠ m, to m.
//
// A node is settled when it has no smaller neighbour (a centre), or exactly one smaller
// neighbour and no larger one (a leaf); the graph is a set of stars around each component's
// smallest node exactly when every node is settled, and then each node's label (the
// smallest of itself and its neighbours) names its component.

func init() {
	beam.RegisterType(typeOf[largeStarFn]())
	beam.RegisterType(typeOf[smallStarFn]())
	beam.RegisterType(typeOf[labelFn]())
	beam.RegisterFunction(bothWays)
	beam.RegisterFunction(downward)
	beam.RegisterFunction(edgeKey)
	beam.RegisterFunction(edgeFromKey)
	beam.RegisterFunction(keepOne)
}

// StitchCounter names the counters of the stitching: unsettled nodes before round r.
func StitchCounter(round int) string { return fmt.Sprintf("unsettled_nodes_before_round_%02d", round) }

// stitchNamespace is the metrics namespace of the stitching counters.
const stitchNamespace = "propensity.stitch"

// connectedComponents returns KV<node, label> for every node on an edge of edges
// (KV<string, string>, self-links allowed and ignored): label is the smallest identifier of
// the node's component.
func connectedComponents(s beam.Scope, edges beam.PCollection, rounds int) beam.PCollection {
	s = s.Scope("stitch")
	// Links repeat (every event of a visitor carries the same pair): keep one of each.
	keyed := beam.ParDo(s, edgeKey, edges)
	e := beam.ParDo(s, edgeFromKey, beam.CombinePerKey(s, keepOne, keyed))
	for r := 1; r <= rounds; r++ {
		rs := s.Scope(fmt.Sprintf("round%02d", r))
		large := beam.ParDo(rs, &largeStarFn{Round: r}, beam.GroupByKey(rs, beam.ParDo(rs, bothWays, e)))
		e = beam.ParDo(rs, &smallStarFn{}, beam.GroupByKey(rs, beam.ParDo(rs, downward, large)))
	}
	return beam.ParDo(s, &labelFn{Rounds: rounds}, beam.GroupByKey(s, beam.ParDo(s, bothWays, e)))
}

// edgeKey turns a link into its canonical key (smaller id, NUL, larger id); self-links go.
func edgeKey(a, b string, emit func(string, int)) {
	if a == b {
		return
	}
	if b < a {
		a, b = b, a
	}
	emit(a+"\x00"+b, 1)
}

func keepOne(a, _ int) int { return a }

func edgeFromKey(k string, _ int, emit func(string, string)) {
	for i := range len(k) {
		if k[i] == 0 {
			emit(k[:i], k[i+1:])
			return
		}
	}
}

// bothWays keys an undirected edge by each of its ends.
func bothWays(a, b string, emit func(string, string)) {
	if a == b {
		return
	}
	emit(a, b)
	emit(b, a)
}

// downward keys an edge by its larger end, the value being the smaller.
func downward(a, b string, emit func(string, string)) {
	switch {
	case a < b:
		emit(b, a)
	case b < a:
		emit(a, b)
	}
}

// neighbours reads a node's distinct neighbours, sorted.
func neighbours(iter func(*string) bool) []string {
	var ns []string
	var v string
	for iter(&v) {
		ns = append(ns, v)
	}
	slices.Sort(ns)
	return slices.Compact(ns)
}

// settled reports whether node u with sorted distinct neighbours ns is a star's centre or leaf.
func settled(u string, ns []string) bool {
	smaller, _ := slices.BinarySearch(ns, u)
	larger := len(ns) - smaller
	return smaller == 0 || (smaller == 1 && larger == 0)
}

type largeStarFn struct {
	Round int
}

func (f *largeStarFn) ProcessElement(ctx context.Context, u string, iter func(*string) bool, emit func(string, string)) {
	ns := neighbours(iter)
	if !settled(u, ns) {
		beam.NewCounter(stitchNamespace, StitchCounter(f.Round)).Inc(ctx, 1)
	}
	m := u
	if len(ns) > 0 && ns[0] < m {
		m = ns[0]
	}
	for _, v := range ns {
		if v > u {
			emit(v, m)
		}
	}
}

type smallStarFn struct{}

func (f *smallStarFn) ProcessElement(u string, iter func(*string) bool, emit func(string, string)) {
	ns := neighbours(iter) // all smaller than u
	if len(ns) == 0 {
		return
	}
	m := ns[0]
	emit(u, m)
	for _, v := range ns[1:] {
		emit(v, m)
	}
}

// labelFn checks that the graph has become stars and labels each node with its centre.
type labelFn struct {
	Rounds int
}

func (f *labelFn) ProcessElement(u string, iter func(*string) bool, emit func(string, string)) error {
	ns := neighbours(iter)
	if !settled(u, ns) {
		return fmt.Errorf("identity stitching did not converge in %d rounds (node %q is not yet in a star): run again with a larger --stitch-rounds", f.Rounds, u)
	}
	if len(ns) > 0 && ns[0] < u {
		emit(u, ns[0])
	} else {
		emit(u, u)
	}
	return nil
}

// StitchRounds returns the number of large-star / small-star rounds the stitching of a
// finished job needed: the first round before which no node was unsettled, minus one (the
// remaining rounds of the fixed `rounds` changed nothing). It reads the job's counters, so
// it needs a runner that reports them.
func StitchRounds(res beam.PipelineResult, rounds int) (int, error) {
	if res == nil {
		return 0, fmt.Errorf("the runner reported no metrics")
	}
	unsettled := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == stitchNamespace {
			unsettled[c.Key.Name] += c.Result()
		}
	}
	for r := 1; r <= rounds; r++ {
		if unsettled[StitchCounter(r)] == 0 {
			return r - 1, nil
		}
	}
	return rounds, nil
}
