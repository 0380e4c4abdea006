package history

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// DefaultMemory is the memory budget of a run when none is given: a quarter of the
// machine's RAM (from /proc/meminfo), or 4 GiB where that cannot be read. The budget covers
// the whole run: the stitched identities and contacts, held whole, and the people's state,
// which partitions shrink (docs/operations.md).
func DefaultMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 4 << 30
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil && kb > 0 {
				return kb * 1024 / 4
			}
		}
	}
	return 4 << 30
}
