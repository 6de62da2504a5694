package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

// TestBatch: batch blobs are readable only after Commit, a duplicate is
// written once, and Commit leaves no temporary file.
func TestBatch(t *testing.T) {
	ctx := context.Background()
	s, err := Init(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	d1, err := b.PutBytes(ctx, []byte("one"), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutBytes(ctx, []byte("one"), Meta{}); err != nil {
		t.Fatal(err)
	}
	d2, _ := b.PutBytes(ctx, []byte("two"), Meta{})
	if _, err := s.ReadAll(ctx, d1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before Commit: %v", err)
	}
	if n := batchFiles(t, s); n != 2 {
		t.Errorf("ingest holds %d batch files, want 2", n)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[digest.Digest]string{d1: "one", d2: "two"} {
		got, err := s.ReadAll(ctx, d)
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v", d, got, err)
		}
	}
	if n := batchFiles(t, s); n != 0 {
		t.Errorf("ingest holds %d batch files after Commit", n)
	}
	if fi, err := os.Stat(s.blobPath(d1)); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("blob mode: %v %v", fi, err)
	}
	if err := b.Commit(ctx); err != nil { // empty
		t.Fatal(err)
	}
	// an intact copy stays; the batch's is removed
	b.PutBytes(ctx, []byte("one"), Meta{})
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := batchFiles(t, s); n != 0 {
		t.Errorf("ingest holds %d batch files after a second Commit", n)
	}
}

func batchFiles(t *testing.T, s *Layout) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(s.ingestDir(), "batch-*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
