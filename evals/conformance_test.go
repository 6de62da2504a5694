package evals

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// starter starts the sessions new makes.
type starter func() runners.Session

func (s starter) Start(context.Context, runners.Spec) (runners.Session, error) { return s(), nil }

// TestFakeConformance: the fake sessions of these tests keep the session
// contract every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	spec := runners.Spec{Codec: jsonl.Codec{}}
	runnertest.RunContract(t, starter(func() runners.Session { return &fakeSession{} }), runnertest.Contract{
		Spec: spec, Input: json.RawMessage(`{"x": 2}`),
		Crash: func(t *testing.T, at int) (runnertest.Starter, runners.Spec) {
			return starter(func() runners.Session { return &crashingSession{failAt: at} }), spec
		}})
}
