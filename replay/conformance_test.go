package replay

import (
	"encoding/json"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// TestFakeConformance: the hand-written fake systems of these tests keep
// the session contract every real runner keeps (runnertest.RunContract),
// so what the replay tests show of them holds of real sessions.
func TestFakeConformance(t *testing.T) {
	c := runnertest.FakeContract(t)
	spec := c.Spec
	sys := func(failAt int) fakeSystem {
		return fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: failAt}
	}
	for _, r := range []struct {
		name string
		r    func(failAt int) runnertest.Starter
	}{
		{"fakeSystem", func(at int) runnertest.Starter { s := sys(at); return &s }},
		{"batchingSystem", func(at int) runnertest.Starter { return &batchingSystem{fakeSystem: sys(at), conc: 4} }},
		{"errorSystem without faults", func(at int) runnertest.Starter { return &errorSystem{fakeSystem: sys(at), oosAt: -1} }},
	} {
		t.Run(r.name, func(t *testing.T) {
			k := c
			k.Crash = func(t *testing.T, at int) (runnertest.Starter, runners.Spec) { return r.r(at), spec }
			runnertest.RunContract(t, r.r(-1), k)
		})
	}
	t.Run("textSystem", func(t *testing.T) {
		runnertest.RunContract(t, textSystem{}, runnertest.Contract{Spec: spec, Input: json.RawMessage(`{"prompt": "x"}`)})
	})
}
