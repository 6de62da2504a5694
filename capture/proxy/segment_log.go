package proxy

import (
	"os"
	"path/filepath"

	"github.com/reprise-dev/reprise/record"
)

// LogOf is the decision log a reader of log reads: log itself, or, for a
// directory or glob of segments (IsSegmentSet), their rows concatenated
// into dir/segments.parquet (the same bytes for the same segments, so a
// night resumes while no segment is added). An error of the segments (none
// match, one cannot be read) is a *SegmentsError.
func LogOf(log, dir string, lim record.ParquetLimits) (string, error) {
	if !IsSegmentSet(log) {
		return log, nil
	}
	paths, err := Segments(log)
	if err != nil {
		return "", &SegmentsError{err}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "segments.parquet")
	if err := Concat(paths, dst, lim); err != nil {
		return "", &SegmentsError{err}
	}
	return dst, nil
}

// SegmentsError is an error of the segments LogOf reads.
type SegmentsError struct{ Err error }

func (e *SegmentsError) Error() string { return e.Err.Error() }
func (e *SegmentsError) Unwrap() error { return e.Err }
