package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
)

// TestRefusesNonRegularBlobs puts a symlink (to a file with the right
// bytes, and to /dev/zero) and a FIFO where a blob belongs: every read must
// refuse it promptly with ErrCorrupt naming the path, never read through it
// and never hang.
func TestRefusesNonRegularBlobs(t *testing.T) {
	good := []byte("model weights")
	d := digest.FromBytes(good)
	cases := map[string]func(t *testing.T, path string){
		"symlink to the right bytes": func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "outside")
			if err := os.WriteFile(target, good, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		},
		"symlink to /dev/zero": func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		},
		"fifo": func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
			// Should a read block in open(2) waiting for a writer, this
			// writer lets it through after the test gave up on it.
			t.Cleanup(func() {
				if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
			})
		},
	}
	reads := map[string]func(ctx context.Context, s *Layout) error{
		"Open": func(ctx context.Context, s *Layout) error {
			rc, _, err := s.Open(ctx, d)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"ReadAll": func(ctx context.Context, s *Layout) error { _, err := s.ReadAll(ctx, d); return err },
		"Verify":  func(ctx context.Context, s *Layout) error { _, err := s.Verify(ctx, d); return err },
		"CopyTo": func(ctx context.Context, s *Layout) error {
			return s.CopyTo(ctx, d, filepath.Join(t.TempDir(), "copy"))
		},
	}
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			s := newLayout(t)
			path := s.blobPath(d)
			plant(t, path)
			for rname, read := range reads {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				done := make(chan error, 1)
				go func() { done <- read(ctx, s) }()
				select {
				case err := <-done:
					if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
						t.Errorf("%s = %v, want ErrCorrupt naming %s", rname, err, path)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s hangs", rname)
				}
				cancel()
			}
			bad, err := s.VerifyAll(t.Context())
			if err != nil || len(bad) != 1 || bad[0].Problem != "not a regular file" {
				t.Errorf("VerifyAll = %+v, %v; want the blob, not a regular file", bad, err)
			}
			// Putting the right bytes replaces the impostor with a blob.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if _, err := s.PutBytes(ctx, good, Meta{}); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("after Put: %v %v, want a regular file", fi.Mode(), err)
			}
			if b, err := s.ReadAll(t.Context(), d); err != nil || string(b) != string(good) {
				t.Fatalf("after Put: ReadAll = %q, %v", b, err)
			}
		})
	}
}
