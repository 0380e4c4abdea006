package synth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// errInjected is the error a failingWriter returns.
var errInjected = errors.New("injected write error")

// failingWriter accepts limit bytes, then fails every write.
type failingWriter struct{ limit, n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errInjected
	}
	w.n += len(p)
	return len(p), nil
}

// runGuarded runs g.run and fails the test, with every goroutine's stack, if it has not
// returned after a generous while: the pipeline must return on an error, never hang.
func runGuarded(t *testing.T, ctx context.Context, g *generator, ws []io.Writer) error {
	t.Helper()
	res := make(chan error, 1)
	go func() {
		sum := &Summary{EventsByType: map[string]int64{}, PeopleByPersona: map[string]int64{}}
		res <- g.run(ctx, ws, newAccumulator(g, sum))
	}()
	select {
	case err := <-res:
		return err
	case <-time.After(2 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("generator did not return:\n%s", buf[:runtime.Stack(buf, true)])
		return nil
	}
}

// TestGenerateWriteErrorReturns injects a write error into each output file in turn, early
// (before anything, and after the magic number), and checks that the parallel pipeline returns that error instead of hanging.
func TestGenerateWriteErrorReturns(t *testing.T) {
	files := []string{ContactsFile, EventsFile, TransactionsFile, IdentitiesFile, TruthFile}
	for _, workers := range []int{1, 3} {
		for k, name := range files {
			for _, limit := range []int{0, 4} {
				t.Run(fmt.Sprintf("%s/workers=%d/after=%d", name, workers, limit), func(t *testing.T) {
					g := newGenerator(Options{Contacts: 3000, Seed: 3, Workers: workers}.EnsureDefaults())
					g.groupRows = 3000
					ws := make([]io.Writer, len(files))
					for i := range ws {
						ws[i] = io.Discard
					}
					ws[k] = &failingWriter{limit: limit}
					if err := runGuarded(t, context.Background(), g, ws); !errors.Is(err, errInjected) {
						t.Errorf("got %v, want the injected error", err)
					}
				})
			}
		}
	}
}

// TestGenerateCancelReturns cancels the context while people are being generated and checks
// that the pipeline returns the context's error.
func TestGenerateCancelReturns(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			g := newGenerator(Options{Contacts: 20000, Seed: 3, Workers: workers}.EnsureDefaults())
			g.groupRows = 3000
			ctx, cancel := context.WithCancel(context.Background())
			ws := make([]io.Writer, 5)
			for i := range ws {
				ws[i] = io.Discard
			}
			// The events writer cancels once the first row groups have been written.
			ws[1] = &cancelWriter{after: 256 << 10, cancel: cancel}
			if err := runGuarded(t, ctx, g, ws); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		})
	}
}

// cancelWriter discards what it is given and calls cancel once after bytes.
type cancelWriter struct {
	after, n int
	cancel   context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n >= w.after {
		w.cancel()
	}
	return len(p), nil
}
