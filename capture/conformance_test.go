package capture

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// TestFakeConformance: the capture tests' fake runner keeps the session
// contract every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	model := filepath.Join(t.TempDir(), "model")
	if err := os.WriteFile(model, []byte("model"), 0o444); err != nil {
		t.Fatal(err)
	}
	runnertest.RunContract(t, oneAnswer{`{"label":"approved"}`}, runnertest.Contract{
		Spec: runners.Spec{ModelPath: model, Codec: jsonl.Codec{}}, Input: json.RawMessage(`{"income": 1}`)})
}
