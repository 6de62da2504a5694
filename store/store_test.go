package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenCreatesLayout(t *testing.T) {
	s := newStore(t)
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

func TestPutGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := make([]byte, 3<<20)
	rand.Read(data)
	d, n, err := s.Put(ctx, bytes.NewReader(data), Meta{MediaType: "application/octet-stream", Name: "big.bin"})
	if err != nil || n != int64(len(data)) || d != digest.FromBytes(data) {
		t.Fatalf("Put = %s %d %v", d, n, err)
	}
	got, err := s.ReadAll(d)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll: %v", err)
	}
	rc, _, err := s.Open(d)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("Open returned other bytes")
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := s.CopyTo(d, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("CopyTo wrote other bytes")
	}
	// Putting the same bytes again is a no-op: same digest, one index entry.
	before, _ := os.ReadFile(filepath.Join(s.Root(), "index.json"))
	d2, _, err := s.Put(ctx, bytes.NewReader(data), Meta{MediaType: "application/octet-stream", Name: "big.bin"})
	after, _ := os.ReadFile(filepath.Join(s.Root(), "index.json"))
	if err != nil || d2 != d || !bytes.Equal(before, after) {
		t.Fatalf("second Put changed the store: %v", err)
	}
	entries, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		if e.Digest == d {
			found = e.Name == "big.bin" && e.MediaType == "application/octet-stream" && e.Size == int64(len(data))
		}
	}
	if !found {
		t.Fatalf("List does not show the blob with its metadata: %+v", entries)
	}
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("VerifyAll = %v %v", bad, err)
	}
}

func TestNotFound(t *testing.T) {
	s := newStore(t)
	d := digest.FromBytes([]byte("absent"))
	if _, err := s.ReadAll(d); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadAll = %v", err)
	}
	if _, _, err := s.Open(d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open = %v", err)
	}
	if err := s.CopyTo(d, filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("CopyTo = %v", err)
	}
}

func corrupt(t *testing.T, path string) {
	t.Helper()
	os.Chmod(path, 0o644)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptBlobNeverReturned(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	d, err := s.PutBytes(ctx, []byte("model weights"), Meta{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.PutBytes(ctx, []byte("intact"), Meta{})
	corrupt(t, s.BlobPath(d))
	if _, err := s.ReadAll(d); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ReadAll = %v, want ErrCorrupt", err)
	}
	if _, _, err := s.Open(d); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open = %v, want ErrCorrupt", err)
	}
	dst := filepath.Join(t.TempDir(), "x")
	if err := s.CopyTo(d, dst); !errors.Is(err, ErrCorrupt) {
		t.Errorf("CopyTo = %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("CopyTo left a corrupt copy behind")
	}
	// A misnamed file and a blob the index names but that is missing.
	os.WriteFile(filepath.Join(s.blobDir(), "not-a-digest"), []byte("x"), 0o644)
	bad, err := s.VerifyAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{d.Hex(): "corrupt", "not-a-digest": "misnamed"}
	if len(bad) != len(want) {
		t.Fatalf("VerifyAll = %+v, want %v", bad, want)
	}
	for _, b := range bad {
		if !strings.HasPrefix(b.Problem, want[filepath.Base(b.Path)]) {
			t.Errorf("bad blob %+v", b)
		}
		if filepath.Base(b.Path) == other.Hex() {
			t.Errorf("intact blob reported: %+v", b)
		}
	}
	// Putting the original bytes again repairs the blob.
	if _, err := s.PutBytes(ctx, []byte("model weights"), Meta{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAll(d); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	os.Remove(s.BlobPath(d))
	bad, _ = s.VerifyAll(ctx)
	found := false
	for _, b := range bad {
		found = found || (filepath.Base(b.Path) == d.Hex() && strings.HasPrefix(b.Problem, "missing"))
	}
	if !found {
		t.Errorf("a blob named in index.json but missing is not reported: %+v", bad)
	}
}

func TestConcurrentPutInProcess(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := []byte(fmt.Sprintf("blob %d", i%4)) // same and different bytes
			if _, err := s.PutBytes(ctx, data, Meta{Name: fmt.Sprint(i % 4)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("VerifyAll = %v %v", bad, err)
	}
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
	if bad, err := s.VerifyAll(context.Background()); err != nil || len(bad) != 0 {
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
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
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
