package evals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/record/parquettest"
)

// TestLoadDirRefusesHostileFiles: a suite folder whose items.jsonl is a
// symbolic link to a host file, a FIFO or /dev/zero, or is over the
// limit, is refused at once (ErrSuite and fsread's condition), naming the
// file; the linked file's content never shows.
func TestLoadDirRefusesHostileFiles(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("TOP-SECRET-CONTENT\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		setup func(items string) error
		lim   SuiteLimits
		cause error
		want  string
	}{
		{"symlink", func(items string) error { return os.Symlink(secret, items) }, SuiteLimits{}, fsread.ErrNotRegular,
			"items.jsonl: is a symbolic link (not followed), not a regular file"},
		{"fifo", func(items string) error { return syscall.Mkfifo(items, 0o600) }, SuiteLimits{}, fsread.ErrNotRegular,
			"items.jsonl: is a named pipe, not a regular file"},
		{"dev zero", func(items string) error { return os.Symlink("/dev/zero", items) }, SuiteLimits{}, fsread.ErrNotRegular,
			"items.jsonl: is a symbolic link (not followed), not a regular file"},
		{"too large", func(items string) error { return os.WriteFile(items, []byte(labelItems), 0o644) }, SuiteLimits{MaxItemsSize: 10}, fsread.ErrTooLarge,
			"items.jsonl: file too large: over the limit of 10 bytes (--max-items-size raises it)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, SpecFile), []byte(labelSpec), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(filepath.Join(dir, ItemsFile)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := LoadDirContext(context.Background(), dir, c.lim)
			if !errors.Is(err, ErrSuite) || !errors.Is(err, c.cause) {
				t.Fatalf("err = %v, want ErrSuite and %v", err, c.cause)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, c.want)) || strings.Contains(err.Error(), "TOP-SECRET") {
				t.Errorf("err = %q, want %q and no content", err, c.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if _, err := LoadDirContext(context.Background(), writeSuite(t, labelSpec, labelItems), SuiteLimits{}); err != nil {
		t.Errorf("a good suite: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadDirContext(ctx, writeSuite(t, labelSpec, labelItems), SuiteLimits{}); !errors.Is(err, context.Canceled) || errors.Is(err, ErrSuite) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestParquetDatasetBomb: a training file whose first text page declares
// 1 GiB is refused when packed (ErrDataset, record.ErrParquetLimit).
func TestParquetDatasetBomb(t *testing.T) {
	bomb, err := parquettest.Patch{Column: "text", Declared: 1 << 30, Data: parquettest.ZstdZeros(1 << 30)}.Apply(leakyParquet(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "train.parquet")
	if err := os.WriteFile(path, bomb, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ParquetTextColumns(path, nil)
	if !errors.Is(err, ErrDataset) || !errors.Is(err, record.ErrParquetLimit) ||
		!strings.Contains(err.Error(), "train.parquet: Parquet file refused: column text, row group 0, page 0: declares 1073741824 bytes uncompressed") {
		t.Errorf("err = %v", err)
	}
}

// TestParseStopsOnContext: parsing a large items.jsonl stops when its
// context is done (Ctrl-C during `evals pack` of a big suite), with the
// context's error, not after the last line; the same items parse with a
// live context.
func TestParseStopsOnContext(t *testing.T) {
	spec := []byte(`{"name":"big","version":"1","scorer":{"type":"label"}}`)
	var b strings.Builder
	for i := range 3 * parseCheckEvery {
		fmt.Fprintf(&b, `{"id":"i%d","input":{"x":%d},"reference":"a"}`+"\n", i, i)
	}
	items := []byte(b.String())
	if s, err := parse(context.Background(), "suite.json", "items.jsonl", spec, items); err != nil || len(s.Items) != 3*parseCheckEvery {
		t.Fatalf("live context: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := parse(ctx, "suite.json", "items.jsonl", spec, items); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v, want context.Canceled", err)
	}
}
