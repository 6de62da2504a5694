package launch

import (
	"testing"

	"github.com/reprise-dev/reprise/runners/runnertest"
)

// TestFakeConformance: the fake runners of these tests keep the session
// contract every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	c := runnertest.FakeContract(t)
	t.Run("fakeRunner", func(t *testing.T) { runnertest.RunContract(t, &fakeRunner{}, c) })
	t.Run("modeRunner", func(t *testing.T) { runnertest.RunContract(t, &modeRunner{}, c) })
	t.Run("countingRunner", func(t *testing.T) { runnertest.RunContract(t, &countingRunner{oosAt: -1}, c) })
}
