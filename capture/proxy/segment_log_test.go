package proxy

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/record"
)

func TestLogOf(t *testing.T) {
	if got, err := LogOf("log.parquet", t.TempDir(), record.ParquetLimits{}); err != nil || got != "log.parquet" {
		t.Errorf("LogOf(a file) = %q, %v; want the file itself", got, err)
	}
	var se *SegmentsError
	if _, err := LogOf(filepath.Join(t.TempDir(), "*.parquet"), t.TempDir(), record.ParquetLimits{}); !errors.As(err, &se) {
		t.Errorf("LogOf(a glob that matches nothing) = %v; want a *SegmentsError", err)
	}
}
