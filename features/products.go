package features

// dayNanos is one day in nanoseconds: the windows and day counts of the accumulators.
const dayNanos = int64(24 * 60 * 60 * 1e9)

// products interns product names.
type products struct {
	ids   map[string]int32
	names []string
	count []int64
}

func (pr *products) code(b []byte) int32 {
	if len(b) == 0 {
		return -1
	}
	if c, ok := pr.ids[string(b)]; ok {
		pr.count[c]++
		return c
	}
	c := int32(len(pr.names))
	s := string(b)
	pr.ids[s] = c
	pr.names = append(pr.names, s)
	pr.count = append(pr.count, 1)
	return c
}
