package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

func newLayout(t *testing.T) *Layout {
	t.Helper()
	s, err := Init(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInitCreatesLayout(t *testing.T) {
	s := newLayout(t)
	b, err := os.ReadFile(filepath.Join(s.Root(), "oci-layout"))
	if err != nil || !strings.Contains(string(b), `"imageLayoutVersion":"1.0.0"`) {
		t.Fatalf("oci-layout: %q %v", b, err)
	}
	b, err = os.ReadFile(filepath.Join(s.Root(), "index.json"))
	if err != nil || !strings.Contains(string(b), `"schemaVersion": 2`) {
		t.Fatalf("index.json: %q %v", b, err)
	}
	// A directory with a bad oci-layout is refused.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte("nope"), 0o644)
	if _, err := Open(dir); !errors.Is(err, ErrNotStore) {
		t.Fatalf("Open(bad layout) = %v, want ErrNotStore", err)
	}
}

// TestPutIndexesOnce: putting the same blob again leaves index.json as it
// was, and List shows the artifact manifest beside the blob.
func TestPutIndexesOnce(t *testing.T) {
	ctx := t.Context()
	s := newLayout(t)
	meta := Meta{MediaType: "application/octet-stream", Name: "big.bin"}
	d, err := s.PutBytes(ctx, []byte("weights"), meta)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(s.Root(), "index.json"))
	if _, err := s.PutBytes(ctx, []byte("weights"), meta); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(s.Root(), "index.json"))
	if !bytes.Equal(before, after) {
		t.Fatalf("second Put changed index.json:\n%s\n%s", before, after)
	}
	entries, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var manifests int
	for _, e := range entries {
		if e.Manifest {
			manifests++
			if e.Name != "manifest of sha256:"+d.Short() || e.MediaType != MediaTypeManifest {
				t.Errorf("manifest entry %+v", e)
			}
		}
	}
	if manifests != 1 {
		t.Errorf("List shows %d manifests, want 1: %+v", manifests, entries)
	}
}

func TestVerifyAllMisnamedAndMissing(t *testing.T) {
	ctx := t.Context()
	s := newLayout(t)
	d, err := s.PutBytes(ctx, []byte("model weights"), Meta{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.blobDir(), "not-a-digest"), []byte("x"), 0o644)
	os.Remove(s.blobPath(d))
	bad, err := s.VerifyAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{d.Hex(): "missing", "not-a-digest": "misnamed"}
	if len(bad) != len(want) {
		t.Fatalf("VerifyAll = %+v, want %v", bad, want)
	}
	for _, b := range bad {
		if !strings.HasPrefix(b.Problem, want[filepath.Base(b.Path)]) {
			t.Errorf("bad blob %+v", b)
		}
	}
}

// swapInPlace overwrites the blob file's bytes in place (same inode), as
// a process writing into the store would.
func swapInPlace(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSwapAfterOpenIsCaught changes a blob's bytes on disk after it was
// opened (and after a successful Verify) but before it is read: every read
// path must end in ErrCorrupt, never hand over the swapped bytes as good.
func TestSwapAfterOpenIsCaught(t *testing.T) {
	good := bytes.Repeat([]byte("good weights "), 10000)
	evil := bytes.Repeat([]byte("evil weights "), 10000)
	reads := map[string]func(ctx context.Context, s *Layout, d digest.Digest) ([]byte, error){
		"Open": func(ctx context.Context, s *Layout, d digest.Digest) ([]byte, error) {
			rc, _, err := s.Open(ctx, d)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			var out bytes.Buffer
			_, err = io.Copy(&out, rc) // as `store get` to stdout
			return out.Bytes(), err
		},
		"ReadAll": func(ctx context.Context, s *Layout, d digest.Digest) ([]byte, error) {
			return s.ReadAll(ctx, d)
		},
		"CopyTo": func(ctx context.Context, s *Layout, d digest.Digest) ([]byte, error) {
			dst := filepath.Join(t.TempDir(), "copy")
			err := s.CopyTo(ctx, d, dst)
			if _, serr := os.Lstat(dst); err != nil && serr == nil {
				t.Errorf("CopyTo failed (%v) but left %s", err, dst)
			}
			b, _ := os.ReadFile(dst)
			return b, err
		},
		"Verify": func(ctx context.Context, s *Layout, d digest.Digest) ([]byte, error) {
			_, err := s.Verify(ctx, d)
			return nil, err
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			s := newLayout(t)
			d, err := s.PutBytes(ctx, good, Meta{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(ctx, d); err != nil {
				t.Fatal(err)
			}
			s.afterOpen = func(path string) { swapInPlace(t, path, evil) }
			got, err := read(ctx, s, d)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s after an in-place swap = %v, want ErrCorrupt", name, err)
			}
			if name != "Open" && len(got) != 0 {
				t.Fatalf("%s handed over %d bytes with the error", name, len(got))
			}
		})
	}
	// A swap by rename (a new file) after the open: the reader keeps
	// reading the file it opened, so it serves the good bytes or nothing,
	// never the swapped ones.
	t.Run("Rename", func(t *testing.T) {
		ctx := t.Context()
		s := newLayout(t)
		d, err := s.PutBytes(ctx, good, Meta{})
		if err != nil {
			t.Fatal(err)
		}
		s.afterOpen = func(path string) {
			tmp := path + ".tmp"
			if err := os.WriteFile(tmp, evil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ReadAll(ctx, d)
		if err != nil || !bytes.Equal(got, good) {
			t.Fatalf("ReadAll after a rename swap = %d bytes, %v; want the good bytes", len(got), err)
		}
		s.afterOpen = nil
		if _, err := s.ReadAll(ctx, d); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ReadAll of the swapped file = %v, want ErrCorrupt", err)
		}
	})
}

// TestConcurrentPutProcesses starts several processes (this test binary,
// re-executed) that put the same and different blobs into one store at once;
// the store must verify and index every blob exactly once.
func TestConcurrentPutProcesses(t *testing.T) {
	if dir := os.Getenv("REPRISE_STORE_WORKER"); dir != "" {
		worker(t, dir)
		return
	}
	dir := filepath.Join(t.TempDir(), "store")
	const procs = 6
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentPutProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "REPRISE_STORE_WORKER="+dir, "REPRISE_STORE_WORKER_ID="+strconv.Itoa(i))
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("worker %d: %v\n%s", i, err, outs[i])
		}
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bad, err := s.VerifyAll(t.Context()); err != nil || len(bad) != 0 {
		t.Fatalf("VerifyAll = %v %v", bad, err)
	}
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	// 20 shared blobs + 20 per process, each indexed once.
	if want := 20 + 20*procs; len(idx.Manifests) != want {
		t.Fatalf("index has %d entries, want %d", len(idx.Manifests), want)
	}
}

func worker(t *testing.T, dir string) {
	id := os.Getenv("REPRISE_STORE_WORKER_ID")
	s, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 20 {
		shared := bytes.Repeat([]byte(fmt.Sprintf("shared %d ", i)), 5000)
		if _, err := s.PutBytes(ctx, shared, Meta{Name: fmt.Sprintf("shared-%d", i)}); err != nil {
			t.Fatal(err)
		}
		own := []byte(fmt.Sprintf("own %s %d", id, i))
		if _, err := s.PutBytes(ctx, own, Meta{Name: "own", MediaType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
	}
}
