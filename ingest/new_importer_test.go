package ingest

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/record"
)

func TestNewImporterNamesTheBadFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "versions.json")
	if _, err := NewImporter(missing, "", nil, record.ParquetLimits{}); !errors.Is(err, ErrVersionMap) {
		t.Errorf("NewImporter(missing version map) = %v; want ErrVersionMap", err)
	}
	if _, err := NewImporter(missing, "", []string{"nonsense"}, record.ParquetLimits{}); !errors.Is(err, ErrColumnMap) {
		t.Errorf("NewImporter(bad --column) = %v; want ErrColumnMap", err)
	}
}
