// Package progress shows how far a long job has come: the phase, the rows or people done, the
// rate and the time left, on a terminal. Jobs do not know where it goes: they start a phase
// from their context (Start) and count what they finish (Bar.Add, safe from any goroutine and
// cheap enough for an inner loop); the command puts a Reporter into the context only when
// stderr is a terminal, so logs and --json output stay clean everywhere else.
package progress

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar counts the units done in one phase.
type Bar interface {
	// Add counts n more units done. It is safe for concurrent use.
	Add(n int64)
	// Done ends the phase. Calling it again does nothing.
	Done()
}

// Reporter starts phases.
type Reporter interface {
	// Start begins a phase of total units (rows, people, contacts); total < 0 when unknown.
	Start(phase string, total int64, unit string) Bar
}

type ctxKey struct{}

// WithReporter returns ctx carrying r; a nil r carries none.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, r)
}

// Start begins a phase with the Reporter of ctx, or returns a Bar that does nothing when ctx
// has none.
func Start(ctx context.Context, phase string, total int64, unit string) Bar {
	if r, ok := ctx.Value(ctxKey{}).(Reporter); ok {
		return r.Start(phase, total, unit)
	}
	return nop{}
}

type nop struct{}

func (nop) Add(int64) {}
func (nop) Done()     {}

// Terminal draws one progress bar at a time on w with github.com/schollz/progressbar/v3 and
// clears it when its phase is done. The zero Interval means 150 ms between redraws.
type Terminal struct {
	W        io.Writer
	Interval time.Duration
}

// NewTerminal returns the Reporter drawing on w, meant for a terminal.
func NewTerminal(w io.Writer) *Terminal { return &Terminal{W: w} }

// Start implements Reporter.
func (t *Terminal) Start(phase string, total int64, unit string) Bar {
	every := t.Interval
	if every <= 0 {
		every = 150 * time.Millisecond
	}
	max := total
	if max < 0 {
		max = -1 // a spinner with the count and rate
	}
	pb := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(t.W),
		progressbar.OptionSetDescription(phase),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(every),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	b := &termBar{pb: pb, stop: make(chan struct{}), stopped: make(chan struct{})}
	go b.loop(every)
	return b
}

// termBar counts atomically, so that Add costs an atomic add in the job's loops, and a
// goroutine hands the count to the progress bar at each redraw.
type termBar struct {
	n       atomic.Int64
	pb      *progressbar.ProgressBar
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func (b *termBar) Add(n int64) { b.n.Add(n) }

func (b *termBar) loop(every time.Duration) {
	defer close(b.stopped)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
			_ = b.pb.Set64(b.n.Load())
		}
	}
}

func (b *termBar) Done() {
	b.once.Do(func() {
		close(b.stop)
		<-b.stopped
		_ = b.pb.Set64(b.n.Load())
		_ = b.pb.Finish()
	})
}

// Recorder is a Reporter that remembers every phase started and the units added to it, for
// tests of the jobs that report.
type Recorder struct {
	mu     sync.Mutex
	phases []*Recorded
}

// Recorded is one phase seen by a Recorder.
type Recorded struct {
	Phase string
	Total int64
	Unit  string
	n     atomic.Int64
	done  atomic.Bool
}

// Done reports the units added so far and whether the phase is done.
func (r *Recorded) Done() (units int64, done bool) { return r.n.Load(), r.done.Load() }

// Start implements Reporter.
func (r *Recorder) Start(phase string, total int64, unit string) Bar {
	p := &Recorded{Phase: phase, Total: total, Unit: unit}
	r.mu.Lock()
	r.phases = append(r.phases, p)
	r.mu.Unlock()
	return recBar{p}
}

// Phases returns the phases started so far, in order.
func (r *Recorder) Phases() []*Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Recorded(nil), r.phases...)
}

type recBar struct{ p *Recorded }

func (b recBar) Add(n int64) { b.p.n.Add(n) }
func (b recBar) Done()       { b.p.done.Store(true) }

// Steps adapts a Bar to the callbacks of the model packages (which import nothing of ours):
// step(done, total) starts the phase on its first call and counts up to done; end ends it.
// Neither is safe for concurrent use; the model packages call step from one goroutine.
func Steps(ctx context.Context, phase, unit string) (step func(done, total int), end func()) {
	var bar Bar
	last := 0
	step = func(done, total int) {
		if bar == nil {
			bar = Start(ctx, phase, int64(total), unit)
		}
		if done > last {
			bar.Add(int64(done - last))
			last = done
		}
	}
	end = func() {
		if bar != nil {
			bar.Done()
		}
	}
	return step, end
}
