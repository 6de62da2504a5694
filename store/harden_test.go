package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/journal"
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

// dirNames lists dir's entries, to show nothing was created.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// TestOpenNeverCreates: Open is for readers; it creates nothing, and a
// layout without index.json is damaged, not new.
func TestOpenNeverCreates(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Open(missing)
	if !errors.Is(err, ErrNoStore) || err.Error() != "no such store: "+missing {
		t.Errorf("Open(missing) = %v, want ErrNoStore, \"no such store: %s\"", err, missing)
	}
	if _, err := os.Lstat(missing); err == nil {
		t.Errorf("Open(missing) created %s", missing)
	}

	empty := t.TempDir()
	if _, err := Open(empty); !errors.Is(err, ErrNotStore) {
		t.Errorf("Open(empty dir) = %v, want ErrNotStore", err)
	}
	if names := dirNames(t, empty); len(names) != 0 {
		t.Errorf("Open(empty dir) created %v", names)
	}

	s := newLayout(t)
	if err := os.Remove(filepath.Join(s.Root(), indexFile)); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*Layout, error){"Open": Open, "Init": Init} {
		if _, err := open(s.Root()); !errors.Is(err, ErrNotStore) || !strings.Contains(err.Error(), indexFile) {
			t.Errorf("%s(layout without index.json) = %v, want ErrNotStore naming index.json", name, err)
		}
		if _, err := os.Lstat(filepath.Join(s.Root(), indexFile)); err == nil {
			t.Fatalf("%s recreated index.json", name)
		}
	}
	if _, err := s.PutBytes(t.Context(), []byte("x"), Meta{Name: "x"}); !errors.Is(err, ErrNotStore) {
		t.Errorf("Put into a layout without index.json = %v, want ErrNotStore", err)
	}
	if _, err := os.Lstat(filepath.Join(s.Root(), indexFile)); err == nil {
		t.Fatal("Put recreated index.json")
	}
}

// TestInit: Init creates a store in a new or empty directory, opens an
// existing one, and refuses to scatter a layout into an unrelated directory.
func TestInit(t *testing.T) {
	ctx := t.Context()
	for name, dir := range map[string]string{"new": filepath.Join(t.TempDir(), "a", "b"), "empty": t.TempDir()} {
		s, err := Init(dir)
		if err != nil {
			t.Fatalf("Init(%s dir) = %v", name, err)
		}
		d, err := s.PutBytes(ctx, []byte("x"), Meta{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := Init(dir)
		if err != nil {
			t.Fatalf("Init(existing store) = %v", err)
		}
		if es, err := again.List(ctx); err != nil || len(es) != 3 { // blob, manifest, empty config
			t.Fatalf("List after reopening = %+v, %v", es, err)
		}
		if _, err := Open(dir); err != nil {
			t.Fatalf("Open(store made by Init) = %v", err)
		}
		if _, err := again.ReadAll(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	unrelated := t.TempDir()
	os.WriteFile(filepath.Join(unrelated, "README"), []byte("mine"), 0o644)
	if _, err := Init(unrelated); !errors.Is(err, ErrNotStore) {
		t.Errorf("Init(non-empty dir without oci-layout) = %v, want ErrNotStore", err)
	}
	if names := dirNames(t, unrelated); len(names) != 1 {
		t.Errorf("Init wrote into an unrelated directory: %v", names)
	}
}

// TestOpenForeignLayout: a layout another OCI tool wrote may lack blobs/
// and ingest/; it reads as empty and Put fills it in.
func TestOpenForeignLayout(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, layoutFile), []byte(layoutVersion), 0o644)
	os.WriteFile(filepath.Join(dir, indexFile), []byte(`{"schemaVersion":2,"manifests":[]}`), 0o644)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if es, err := s.List(ctx); err != nil || len(es) != 0 {
		t.Errorf("List = %+v, %v; want empty", es, err)
	}
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Errorf("VerifyAll = %+v, %v; want nothing", bad, err)
	}
	d := digest.FromBytes([]byte("x"))
	if _, err := s.ReadAll(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadAll = %v, want ErrNotFound", err)
	}
	if _, err := s.PutBytes(ctx, []byte("x"), Meta{Name: "x"}); err != nil {
		t.Fatalf("Put into a foreign layout: %v", err)
	}
	if _, err := s.ReadAll(ctx, d); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentInit: goroutines that Init the same new directory and put
// at once all succeed, and no put's index entry is lost to a late Init.
func TestConcurrentInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s, err := Init(dir)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.PutBytes(t.Context(), []byte(fmt.Sprint(i)), Meta{Name: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := s.readIndex()
	if err != nil || len(idx.Manifests) != 8 {
		t.Fatalf("index: %d entries, %v; want 8", len(idx.Manifests), err)
	}
}

// TestPutKeepsForeignIndexFields: index.json written by another OCI tool
// keeps every field the store does not model when Put rewrites it.
func TestPutKeepsForeignIndexFields(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)
	md := digest.FromBytes(manifest)
	os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
	os.WriteFile(filepath.Join(dir, "blobs", "sha256", md.Hex()), manifest, 0o444)
	os.WriteFile(filepath.Join(dir, layoutFile), []byte(layoutVersion), 0o644)
	foreignEntry := `{
		"mediaType": "application/vnd.oci.image.manifest.v1+json",
		"digest": "` + md.String() + `",
		"size": ` + fmt.Sprint(len(manifest)) + `,
		"annotations": {"org.opencontainers.image.ref.name": "v1"},
		"platform": {"architecture": "amd64", "os": "linux", "os.features": ["x"]},
		"urls": ["https://example.com/blob"],
		"artifactType": "application/x-thing",
		"data": "e30=",
		"x-unknown-entry": {"n": 1.5}
	}`
	original := `{
		"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.index.v1+json",
		"artifactType": "application/x-index",
		"annotations": {"org.example.top": "kept"},
		"subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "` + md.String() + `", "size": 1},
		"x-unknown-top": {"nested": [1, 2, 3], "null": null},
		"manifests": [` + foreignEntry + `]
	}`
	os.WriteFile(filepath.Join(dir, indexFile), []byte(original), 0o644)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.PutBytes(ctx, []byte("input"), Meta{MediaType: "application/json", Name: "in.json"})
	if err != nil {
		t.Fatal(err)
	}
	var before, after map[string]any
	if err := json.Unmarshal([]byte(original), &before); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, indexFile))
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatal(err)
	}
	for k, v := range before {
		if k != "manifests" && !reflect.DeepEqual(after[k], v) {
			t.Errorf("index.json %q = %v, want %v", k, after[k], v)
		}
	}
	ms, _ := after["manifests"].([]any)
	if len(ms) != 2 || !reflect.DeepEqual(ms[0], before["manifests"].([]any)[0]) {
		t.Fatalf("manifests = %v, want the foreign entry unchanged and ours after it", ms)
	}
	// The foreign entry is neither reported bad nor mistaken for ours.
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Errorf("VerifyAll = %+v, %v", bad, err)
	}
	es, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		switch e.Digest {
		case d:
			if e.Name != "in.json" || e.MediaType != "application/json" {
				t.Errorf("our blob: %+v", e)
			}
		case md:
			if e.Manifest || e.MediaType != "application/vnd.oci.image.manifest.v1+json" {
				t.Errorf("foreign manifest: %+v", e)
			}
		}
	}
}

// TestModesIgnoreUmask: file modes are explicit, so a strict umask changes
// only the directories (which keep a private umask's privacy), never the
// blobs, index.json, oci-layout or a CopyTo copy that a container running
// as another user must read. Not parallel: the umask is per process.
func TestModesIgnoreUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	ctx := t.Context()
	s := newLayout(t)
	d, err := s.PutBytes(ctx, []byte("weights"), Meta{Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := s.CopyTo(ctx, d, dst); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "atomic")
	if err := journal.WriteAtomic(tmp, []byte("x")); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		s.blobPath(d):                       0o444,
		filepath.Join(s.Root(), indexFile):  0o644,
		filepath.Join(s.Root(), layoutFile): 0o644,
		dst:                                 0o444,
		tmp:                                 0o644,
	}
	es, _ := s.List(ctx)
	for _, e := range es {
		want[s.blobPath(e.Digest)] = 0o444 // the manifest and its empty config too
	}
	for path, mode := range want {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
}
