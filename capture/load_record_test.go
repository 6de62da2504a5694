package capture

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/record"
)

func TestLoadRecordNamesThePath(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadRecord(t.Context(), filepath.Join(dir, "none.json")); !errors.Is(err, ErrSystemFile) {
		t.Errorf("LoadRecord(missing) = %v; want ErrSystemFile", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRecord(t.Context(), bad); !errors.Is(err, record.ErrMalformed) {
		t.Errorf("LoadRecord(malformed) = %v; want record.ErrMalformed", err)
	}
}
