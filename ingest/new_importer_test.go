package ingest

import (
	"errors"
	"testing"

	"github.com/reprise-dev/reprise/record"
)

// TestNewImporterNamesTheBadFile: a version map that cannot be read is
// ErrVersionMap, a bad --column ErrColumnMap (read first).
func TestNewImporterNamesTheBadFile(t *testing.T) {
	lim, missing := record.ParquetLimits{}, t.TempDir()+"/versions.json"
	if _, err := NewImporter(missing, "", nil, lim); !errors.Is(err, ErrVersionMap) {
		t.Errorf("NewImporter(missing version map) = %v; want ErrVersionMap", err)
	}
	if _, err := NewImporter(missing, "", []string{"nonsense"}, lim); !errors.Is(err, ErrColumnMap) {
		t.Errorf("NewImporter(bad --column) = %v; want ErrColumnMap", err)
	}
}
