package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/record"
)

// ErrNoSegments: a log directory or glob names no segment.
var ErrNoSegments = errors.New("no decision log segments")

// IsSegmentSet reports whether log names a set of segments (a directory,
// or a glob pattern) rather than one log file.
func IsSegmentSet(log string) bool {
	if strings.ContainsAny(log, "*?[") {
		return true
	}
	fi, err := os.Stat(log)
	return err == nil && fi.IsDir()
}

// Segments lists the segments of log, a directory (its seg-*.parquet) or
// a glob pattern, in name order (time order for the proxy's names).
// Temporary files of a writer are never listed.
func Segments(log string) ([]string, error) {
	pattern := log
	if fi, err := os.Stat(log); err == nil && fi.IsDir() {
		pattern = filepath.Join(log, SegmentPrefix+"*"+SegmentExt)
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", log, err)
	}
	paths = slices.DeleteFunc(paths, func(p string) bool {
		fi, err := os.Stat(p)
		return strings.HasPrefix(filepath.Base(p), ".") || err != nil || !fi.Mode().IsRegular()
	})
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: %s matches no file", ErrNoSegments, log)
	}
	slices.Sort(paths)
	return paths, nil
}

// Concat writes the rows of the segments, in order, as one decision log at
// dst (a temporary file renamed into place): what nightly reads of a
// segment set. A row that is not a valid record stops it (the error
// names the segment and the row); the output is the same bytes for the
// same segments.
func Concat(paths []string, dst string, lim record.ParquetLimits) error {
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = writeLog(f, func(pw *record.ParquetWriter) error {
		for _, p := range paths {
			if err := copySegment(pw, p, lim); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return journal.SyncDir(filepath.Dir(dst))
}

func copySegment(pw *record.ParquetWriter, path string, lim record.ParquetLimits) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd) // the reader reads at offsets
	if err != nil {
		return err
	}
	l, err := record.OpenParquetLogContext(context.Background(), f, size, lim)
	if err != nil {
		return fmt.Errorf("segment %s: %w", path, err)
	}
	var werr error
	err = l.Scan(record.ScanOptions{}, func(row int64, rec *record.Record, rerr error) bool {
		if rerr != nil {
			werr = fmt.Errorf("segment %s: %w", path, rerr)
			return false
		}
		werr = pw.Write(rec)
		return werr == nil
	})
	if err != nil {
		return fmt.Errorf("segment %s: %w", path, err)
	}
	return werr
}
