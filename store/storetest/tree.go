package storetest

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteTree writes files (slash paths under the folder, to their contents)
// into a new temporary folder of t and returns it: the folders 0755, the
// files 0644, as a model or component directory a test stores as a tree.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
