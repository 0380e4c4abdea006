package servingtest

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// UnderMemoryLimit runs fn with a soft memory limit of limit bytes (debug.SetMemoryLimit)
// and a watchdog that ends the test binary should the live heap pass it, so that a test of
// a memory-exhaustion attack fails rather than exhausting the machine when the defence is
// missing. It returns the bytes allocated while fn ran (garbage included, and anything
// other goroutines allocated meanwhile). Not for parallel tests.
func UnderMemoryLimit(tb testing.TB, limit uint64, fn func()) uint64 {
	tb.Helper()
	old := debug.SetMemoryLimit(int64(limit))
	defer debug.SetMemoryLimit(old)
	runtime.GC()
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(allocs)
	before := allocs[0].Value.Uint64()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			metrics.Read(heap)
			if h := heap[0].Value.Uint64(); h > limit {
				panic(fmt.Sprintf("%s: live heap reached %d MiB, past the %d MiB limit", tb.Name(), h>>20, limit>>20))
			}
		}
	}()
	fn()
	close(stop)
	<-stopped
	metrics.Read(allocs)
	return allocs[0].Value.Uint64() - before
}
