package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Journal is an append-only JSON Lines file of T, open for appending. Its
// methods are safe for concurrent use.
type Journal[T any] struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// Create creates a new, empty journal at path (mode 0644). It never
// truncates and never follows a symlink: when anything is at path (a
// symlink included) the error wraps fs.ErrExist; see KeepAside.
func Create[T any](path string) (*Journal[T], error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, err
	}
	return &Journal[T]{f: f, path: path}, nil
}

// KeepAside renames the file at path to the same name with now (UTC, to
// the nanosecond) before its extension: runs.journal.jsonl becomes
// runs.journal.20261122T120000.000000000Z.jsonl. It returns the new path.
// A symlink is renamed, not followed.
func KeepAside(path string, now time.Time) (string, error) {
	ext := filepath.Ext(path)
	kept := strings.TrimSuffix(path, ext) + "." + now.UTC().Format("20060102T150405.000000000Z") + ext
	if err := os.Rename(path, kept); err != nil {
		return "", err
	}
	return kept, nil
}

// Open opens the journal at path for appending, creating it when missing
// (a symlink is refused, ELOOP), and returns its entries in order. The last
// line, when a kill cut it short (no final newline) or it does not decode
// as a T, is truncated away, so the next append starts a line of its own;
// any other line that does not decode is skipped and left in place.
func Open[T any](path string) (*Journal[T], []T, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, nil, err
	}
	entries, keep, err := scan[T](f)
	if err == nil {
		err = f.Truncate(keep)
	}
	if err == nil {
		_, err = f.Seek(keep, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &Journal[T]{f: f, path: path}, entries, nil
}

// Read returns the entries of the journal r holds, as Open does, without
// changing it: a last line cut short or not decoding is ignored, as is any
// other line that does not decode.
func Read[T any](r io.Reader) ([]T, error) {
	entries, _, err := scan[T](r)
	return entries, err
}

// scan decodes the lines of r and returns the entries and the length of
// the prefix to keep: every complete line but an undecodable last one.
func scan[T any](r io.Reader) (entries []T, keep int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var end, lastStart int64 // the end of the complete lines; the start of the last one
	lastOK, torn := true, false
	for {
		line, err := br.ReadBytes('\n')
		if n := len(line); n > 0 && line[n-1] == '\n' {
			var v T
			lastOK = json.Unmarshal(line, &v) == nil
			if lastOK {
				entries = append(entries, v)
			}
			lastStart, end = end, end+int64(n)
		} else if n > 0 {
			torn = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	if !torn && !lastOK {
		return entries, lastStart, nil
	}
	return entries, end, nil
}

// Append writes v as one JSON line and fsyncs the file.
func (j *Journal[T]) Append(v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	_, err = j.Write(append(b, '\n'))
	return err
}

// Write appends p, one or more whole JSON lines of T already encoded, and
// fsyncs the file: the io.Writer of a caller that encodes its own lines.
// It returns the bytes written and the first error.
func (j *Journal[T]) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, fmt.Errorf("journal %s: %w", j.path, os.ErrClosed)
	}
	n, err := j.f.Write(p)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		return n, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return n, nil
}

// Path is the journal's path.
func (j *Journal[T]) Path() string { return j.path }

// Close closes the journal; the file stays. Safe to call more than once.
func (j *Journal[T]) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// Remove closes the journal and removes its file (a missing file is not an
// error).
func (j *Journal[T]) Remove() error {
	cerr := j.Close()
	if err := os.Remove(j.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return cerr
}
