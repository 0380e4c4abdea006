package progress

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the bar's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStartWithoutReporter: a job whose context carries no reporter gets a bar that does
// nothing (the command found no terminal).
func TestStartWithoutReporter(t *testing.T) {
	b := Start(context.Background(), "reading", 10, "rows")
	b.Add(5)
	b.Done()
	if _, ok := b.(nop); !ok {
		t.Fatalf("got %T, want the no-op bar", b)
	}
	if got := WithReporter(context.Background(), nil); got != context.Background() {
		t.Fatal("WithReporter(nil) changed the context")
	}
}

// TestTerminal: the bar shows the phase and the unit, and a known total, from Adds of several goroutines; Done may be called twice.
func TestTerminal(t *testing.T) {
	for _, total := range []int64{1000, -1} {
		var out syncBuffer
		ctx := WithReporter(context.Background(), NewTerminal(&out))
		b := Start(ctx, "reading events.parquet", total, "rows")
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 250 {
					b.Add(1)
				}
			}()
		}
		wg.Wait()
		b.Done()
		b.Done()
		s := out.String()
		wants := []string{"reading events.parquet", "rows"}
		if total > 0 {
			wants = append(wants, "/1000") // the total; the bar is cleared when done
		}
		for _, want := range wants {
			if !strings.Contains(s, want) {
				t.Errorf("total %d: output lacks %q: %q", total, want, s)
			}
		}
	}
}
