package nightly

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// fakeRunner answers "approved" (p 0.9, score 0.9) or "denied" (p 0.1,
// score 0.1) by a PCG seeded with the request seed, and counts sessions.
type fakeRunner struct {
	starts, runs atomic.Int64
	closed       atomic.Int64
}

func (f *fakeRunner) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	if _, err := os.Stat(spec.ModelPath); err != nil {
		return nil, fmt.Errorf("model not handed over: %w", err)
	}
	f.starts.Add(1)
	return &fakeSession{f: f}, nil
}

type fakeSession struct{ f *fakeRunner }

func (s *fakeSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	s.f.runs.Add(1)
	l, p := "approved", 0.9
	if rand.New(rand.NewPCG(uint64(*req.Params.Seed), 1)).Float64() >= 0.9 {
		l, p = "denied", 0.1
	}
	raw, _ := json.Marshal(map[string]any{"label": l, "score": p})
	return runners.Response{Output: output.Output{Label: &l, Score: &p}, Raw: raw, Latency: time.Microsecond}, nil
}
func (s *fakeSession) Info() runners.Info              { return runners.Info{Runner: "fake", Pinned: true} }
func (s *fakeSession) Close(ctx context.Context) error { s.f.closed.Add(1); return nil }

// TestFakeConformance: the nights' fake runner keeps the session contract
// every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	runnertest.RunContract(t, &fakeRunner{}, runnertest.FakeContract(t))
}
