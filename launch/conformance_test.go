package launch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/runnertest"
)

// TestFakeConformance: the fake runners of these tests keep the session
// contract every real runner keeps (runnertest.RunContract).
func TestFakeConformance(t *testing.T) {
	dir := t.TempDir()
	model, config := filepath.Join(dir, "model"), filepath.Join(dir, "config")
	for _, p := range []string{model, config} {
		if err := os.WriteFile(p, []byte("bytes"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	c := runnertest.Contract{Spec: runners.Spec{ModelPath: model, ConfigPath: config, Codec: jsonl.Codec{}},
		Input: json.RawMessage(`{"income": 1}`)}
	t.Run("fakeRunner", func(t *testing.T) { runnertest.RunContract(t, &fakeRunner{}, c) })
	t.Run("modeRunner", func(t *testing.T) { runnertest.RunContract(t, &modeRunner{}, c) })
	t.Run("countingRunner", func(t *testing.T) { runnertest.RunContract(t, &countingRunner{oosAt: -1}, c) })
}
