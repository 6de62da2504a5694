package launch

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
)

// countingRunner starts countingSessions and counts starts, closes and
// finishes; a session answers out of step at run oosAt (its own count).
type countingRunner struct {
	mu       sync.Mutex
	starts   int
	closed   int
	finished int
	specs    []runners.Spec
	oosAt    int // -1: never
	closedR  bool
}

func (r *countingRunner) Start(_ context.Context, spec runners.Spec) (runners.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts++
	r.specs = append(r.specs, spec)
	return &countingSession{r: r, model: spec.ModelPath}, nil
}

func (r *countingRunner) Close() error { r.closedR = true; return nil }

type countingSession struct {
	r     *countingRunner
	model string
	runs  int
}

func (s *countingSession) Run(context.Context, runners.Request) (runners.Response, error) {
	s.runs++
	if s.runs-1 == s.r.oosAt {
		return runners.Response{}, &runners.OutOfStepError{Since: s.r.oosAt}
	}
	l := "approved"
	return runners.Response{Raw: []byte(`{"label":"approved"}`), Output: output.Output{Label: &l}}, nil
}
func (s *countingSession) Info() runners.Info { return runners.Info{Runner: "counting", Pinned: true} }
func (s *countingSession) Close(context.Context) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.closed++
	return nil
}
func (s *countingSession) Finish(context.Context) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.finished++
	return nil
}

var _ runners.Finisher = (*countingSession)(nil)

// TestPoolShares: a sharing pool starts one session per system for any
// number of loans, numbers each borrower's runs from its own first, hides
// Finisher from borrowers, discards a broken session, and closes (after
// finishing) everything it started, and the runner it made, on Close.
func TestPoolShares(t *testing.T) {
	ctx := context.Background()
	blobs, tg := target(t)
	r := &countingRunner{oosAt: 4}
	p := NewPool(blobs, PoolOptions{NewRunner: func(context.Context) (Runner, error) { return r, nil }, Share: true,
		SharedLabels: map[string]string{"reprise.nightly": "1"}})
	opts := Options{HostClass: hw}
	var first *Session
	for i := range 2 {
		s, err := p.Acquire(ctx, tg, opts)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s
		}
		if _, ok := s.Session.(runners.Finisher); ok {
			t.Fatal("a lent session offers Finish")
		}
		for range 2 {
			if _, err := s.Run(ctx, runners.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Release(ctx, s, false); err != nil {
			t.Fatal(err)
		}
	}
	if r.starts != 1 || r.closed != 0 {
		t.Fatalf("%d starts, %d closes after two loans", r.starts, r.closed)
	}
	if sp := r.specs[0]; sp.SessionTimeout != SharedSessionTimeout || sp.Labels["reprise.nightly"] != "1" || sp.Labels["k"] != "" {
		t.Fatalf("shared spec: timeout %v, labels %v", sp.SessionTimeout, sp.Labels)
	}
	// The third loan's first run is the session's fifth (index 4): it
	// answers out of step since the session's run 4, the loan's run 0.
	s, err := p.Acquire(ctx, tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(ctx, runners.Request{})
	var oos *runners.OutOfStepError
	if !errors.As(err, &oos) || oos.Since != 0 {
		t.Fatalf("out of step: %v", err)
	}
	if err := p.Release(ctx, s, true); err != nil {
		t.Fatal(err)
	}
	if r.closed != 1 || r.finished != 1 {
		t.Fatalf("broken: %d closes, %d finishes", r.closed, r.finished)
	}
	if _, err := first.Run(ctx, runners.Request{}); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("run on a discarded session: %v", err)
	}
	// Another system's target gets a session of its own.
	other := tg
	other.HardwareClass = "cpu/arm64"
	if _, err := p.Acquire(ctx, other, opts); !errors.Is(err, ErrHardwareMismatch) {
		t.Fatalf("hardware mismatch: %v", err)
	}
	over := opts
	over.AllowHardwareMismatch = true
	s2, err := p.Acquire(ctx, other, over)
	if err != nil || !s2.HardwareOverride {
		t.Fatalf("override: %v %+v", err, s2)
	}
	if _, err := p.Acquire(ctx, tg, opts); err != nil {
		t.Fatal(err)
	}
	if r.starts != 3 {
		t.Fatalf("%d starts, want 3 (first, after the discard, the other class)", r.starts)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r.closed != 3 || r.finished != 3 || !r.closedR {
		t.Fatalf("after Close: %d closes, %d finishes, runner closed %v", r.closed, r.finished, r.closedR)
	}
	if _, err := p.Acquire(ctx, tg, opts); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("acquire after Close: %v", err)
	}
}

// TestPoolOwnSessions: a pool that does not share starts a session per
// loan, hands it over whole (Finisher included), closes it and removes its
// copies on Release, and leaves a runner it was given open.
func TestPoolOwnSessions(t *testing.T) {
	ctx := context.Background()
	blobs, tg := target(t)
	r := &countingRunner{oosAt: -1}
	p := NewPool(blobs, PoolOptions{Runner: r})
	for range 2 {
		s, err := p.Acquire(ctx, tg, Options{HostClass: hw})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Session.(runners.Finisher); !ok {
			t.Fatal("an own session hides Finish")
		}
		model := s.Session.(*countingSession).model
		if _, err := os.Stat(model); err != nil {
			t.Fatal(err)
		}
		if err := p.Release(ctx, s, false); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(model); !os.IsNotExist(err) {
			t.Fatalf("the session's copy is left: %v", err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r.starts != 2 || r.closed != 2 || r.closedR {
		t.Fatalf("%d starts, %d closes, runner closed %v", r.starts, r.closed, r.closedR)
	}
}
