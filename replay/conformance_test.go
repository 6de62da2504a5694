package replay

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// TestFakeConformance: the hand-written fake systems of these tests keep
// the session contract every real runner keeps (runnertest.RunContract),
// so what the replay tests show of them holds of real sessions.
func TestFakeConformance(t *testing.T) {
	model := filepath.Join(t.TempDir(), "model")
	if err := os.WriteFile(model, []byte("model"), 0o444); err != nil {
		t.Fatal(err)
	}
	spec := runners.Spec{ModelPath: model, Codec: jsonl.Codec{}}
	sys := func(failAt int) fakeSystem {
		return fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: failAt}
	}
	for _, c := range []struct {
		name string
		r    func(failAt int) runnertest.Starter
	}{
		{"fakeSystem", func(at int) runnertest.Starter { s := sys(at); return &s }},
		{"batchingSystem", func(at int) runnertest.Starter { return &batchingSystem{fakeSystem: sys(at), conc: 4} }},
		{"errorSystem without faults", func(at int) runnertest.Starter { return &errorSystem{fakeSystem: sys(at), oosAt: -1} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			runnertest.RunContract(t, c.r(-1), runnertest.Contract{Spec: spec, Input: json.RawMessage(`{"income": 1}`),
				Crash: func(t *testing.T, at int) (runnertest.Starter, runners.Spec) { return c.r(at), spec }})
		})
	}
	t.Run("textSystem", func(t *testing.T) {
		runnertest.RunContract(t, textSystem{}, runnertest.Contract{Spec: spec, Input: json.RawMessage(`{"prompt": "x"}`)})
	})
}
