package capture

import (
	"testing"

	"github.com/reprise-dev/reprise/runners/runnertest"
)

// TestFakeConformance: the capture tests' fake runner keeps the session
// contract every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	runnertest.RunContract(t, oneAnswer{`{"label":"approved"}`}, runnertest.FakeContract(t))
}
