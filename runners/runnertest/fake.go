package runnertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
)

// FakeContract is the contract the tests' hand-written fake systems run
// (RunContract): a jsonl-stdio session of a read-only model file and a
// config file in a temporary folder, and a loan application as the input.
func FakeContract(t *testing.T) Contract {
	t.Helper()
	dir := t.TempDir()
	model, config := filepath.Join(dir, "model"), filepath.Join(dir, "config")
	for _, p := range []string{model, config} {
		if err := os.WriteFile(p, []byte(filepath.Base(p)), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return Contract{Spec: runners.Spec{ModelPath: model, ConfigPath: config, Codec: jsonl.Codec{}},
		Input: json.RawMessage(`{"income": 1}`)}
}
