package nightly

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"

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
	return &runnertest.DecisionSession{Decide: approveByPCG, Latency: time.Microsecond, Runs: &f.runs, Closed: &f.closed}, nil
}

// approveByPCG is "approved" (0.9) with probability 0.9, else "denied"
// (0.1), by a PCG seeded with the request seed.
func approveByPCG(req runners.Request) (string, float64) {
	if rand.New(rand.NewPCG(uint64(*req.Params.Seed), 1)).Float64() >= 0.9 {
		return "denied", 0.1
	}
	return "approved", 0.9
}

// TestFakeConformance: the nights' fake runner keeps the session contract
// every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	runnertest.RunContract(t, &fakeRunner{}, runnertest.FakeContract(t))
}
