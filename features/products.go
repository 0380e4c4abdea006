package features

import "sort"

// dayNanos is one day in nanoseconds: the windows and day counts of the accumulators.
const dayNanos = int64(24 * 60 * 60 * 1e9)

// Products interns product (or category) names: Code gives each distinct name a code, in the
// order names are first seen, and counts its uses. TxAcc records the codes; Names turns them
// back into names for the preferred category.
type Products struct {
	ids map[string]int32
	// Names holds the name of each code.
	Names []string
	// Count holds the uses of each code.
	Count []int64
}

// NewProducts returns an empty interner.
func NewProducts() *Products { return &Products{ids: map[string]int32{}} }

// Code returns the code of name b, -1 for an empty name.
func (pr *Products) Code(b []byte) int32 {
	if len(b) == 0 {
		return -1
	}
	if c, ok := pr.ids[string(b)]; ok {
		pr.Count[c]++
		return c
	}
	c := int32(len(pr.Names))
	s := string(b)
	pr.ids[s] = c
	pr.Names = append(pr.Names, s)
	pr.Count = append(pr.Count, 1)
	return c
}

// TopCategories returns the most used names (up to MaxProductCategories, ties by name),
// sorted by name: the product categories discovered when Options.ProductCategories is empty.
func (pr *Products) TopCategories() []string {
	idx := make([]int, len(pr.Names))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if pr.Count[idx[a]] != pr.Count[idx[b]] {
			return pr.Count[idx[a]] > pr.Count[idx[b]]
		}
		return pr.Names[idx[a]] < pr.Names[idx[b]]
	})
	out := []string{}
	for _, i := range idx[:min(len(idx), MaxProductCategories)] {
		out = append(out, pr.Names[i])
	}
	sort.Strings(out)
	return out
}
