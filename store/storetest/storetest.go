// Package storetest is the conformance suite every store.Store passes: the
// on-disk store.Layout and the in-memory store.Mem run the same tests, so a
// fake cannot drift from the real thing.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
)

// Corrupter is implemented by a store under test that can damage a stored
// blob so that its bytes no longer hash to d (as a flipped bit on disk
// would). Run skips the corruption tests, saying so, for a store without it.
type Corrupter interface {
	CorruptBlob(d digest.Digest) error
}

// Run runs the conformance suite. open returns a new, empty store for each
// subtest; it may use t.TempDir and t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyBlob", testEmptyBlob},
		{"IdempotentPut", testIdempotentPut},
		{"NotFound", testNotFound},
		{"InvalidDigest", testInvalidDigest},
		{"Corrupt", testCorrupt},
		{"List", testList},
		{"VerifyAllIntact", testVerifyAllIntact},
		{"ContextCancelled", testContextCancelled},
		{"CancelWhileReading", testCancelWhileReading},
		{"ConcurrentPut", testConcurrentPut},
		{"Tree", testTree},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, open(t)) })
	}
}

// blob returns n pseudo-random bytes, the same for the same seed.
func blob(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

// readEverything reads blob d through Open, ReadAll, CopyTo and Verify and
// fails the test unless each gives exactly want.
func readEverything(t *testing.T, s store.Store, d digest.Digest, want []byte) {
	t.Helper()
	ctx := t.Context()
	rc, size, err := s.Open(ctx, d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) || size != int64(len(want)) {
		t.Fatalf("Open: read %d bytes (size %d), want %d; err %v", len(got), size, len(want), err)
	}
	got, err = s.ReadAll(ctx, d)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll: %d bytes, want %d; err %v", len(got), len(want), err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := s.CopyTo(ctx, d, dst); err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("CopyTo wrote %d bytes, want %d; err %v", len(got), len(want), err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("CopyTo: dst mode %v, want 0444 (err %v)", fi.Mode().Perm(), err)
	}
	if n, err := s.Verify(ctx, d); err != nil || n != int64(len(want)) {
		t.Fatalf("Verify = %d, %v; want %d, nil", n, err, len(want))
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	data := blob(1, 3<<20+17)
	d, n, err := s.Put(t.Context(), bytes.NewReader(data), store.Meta{MediaType: "application/octet-stream", Name: "big.bin"})
	if err != nil || n != int64(len(data)) || d != digest.FromBytes(data) {
		t.Fatalf("Put = %s, %d, %v; want %s, %d, nil", d, n, err, digest.FromBytes(data), len(data))
	}
	readEverything(t, s, d, data)
	small := []byte(`{"income": 1}`)
	d2, err := s.PutBytes(t.Context(), small, store.Meta{})
	if err != nil || d2 != digest.FromBytes(small) {
		t.Fatalf("PutBytes = %s, %v", d2, err)
	}
	readEverything(t, s, d2, small)
}

func testEmptyBlob(t *testing.T, s store.Store) {
	d, err := s.PutBytes(t.Context(), nil, store.Meta{Name: "empty"})
	if err != nil || d != digest.FromBytes(nil) {
		t.Fatalf("PutBytes(empty) = %s, %v", d, err)
	}
	readEverything(t, s, d, []byte{})
}

// entries returns the List entries for d.
func entries(t *testing.T, s store.Store, d digest.Digest) []store.Entry {
	t.Helper()
	all, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var out []store.Entry
	for _, e := range all {
		if e.Digest == d {
			out = append(out, e)
		}
	}
	return out
}

func testIdempotentPut(t *testing.T, s store.Store) {
	data := []byte("model weights")
	meta := store.Meta{MediaType: "application/octet-stream", Name: "m.onnx"}
	d1, err := s.PutBytes(t.Context(), data, meta)
	if err != nil {
		t.Fatal(err)
	}
	d2, n, err := s.Put(t.Context(), bytes.NewReader(data), store.Meta{MediaType: "text/plain", Name: "other"})
	if err != nil || d2 != d1 || n != int64(len(data)) {
		t.Fatalf("second Put = %s, %d, %v; want %s", d2, n, err, d1)
	}
	es := entries(t, s, d1)
	if len(es) != 1 || es[0].MediaType != meta.MediaType || es[0].Name != meta.Name {
		t.Fatalf("List after two puts: %+v, want one entry with the first metadata %+v", es, meta)
	}
	readEverything(t, s, d1, data)
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.PutBytes(ctx, []byte("present"), store.Meta{}); err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes([]byte("absent"))
	if _, _, err := s.Open(ctx, d); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Open = %v, want ErrNotFound", err)
	}
	readsFail(t, ctx, s, d, store.ErrNotFound)
}

// readsFail checks that ReadAll (with no bytes), Verify and CopyTo of d
// fail with want, and that CopyTo leaves no file behind.
func readsFail(t *testing.T, ctx context.Context, s store.Store, d digest.Digest, want error) {
	t.Helper()
	if b, err := s.ReadAll(ctx, d); !errors.Is(err, want) || b != nil {
		t.Errorf("ReadAll = %d bytes, %v; want no bytes, %v", len(b), err, want)
	}
	if _, err := s.Verify(ctx, d); !errors.Is(err, want) {
		t.Errorf("Verify = %v, want %v", err, want)
	}
	dst := filepath.Join(t.TempDir(), "x")
	if err := s.CopyTo(ctx, d, dst); !errors.Is(err, want) {
		t.Errorf("CopyTo = %v, want %v", err, want)
	}
	if _, err := os.Lstat(dst); err == nil {
		t.Errorf("CopyTo failing with %v left a file behind", want)
	}
}

func testInvalidDigest(t *testing.T, s store.Store) {
	ctx := t.Context()
	var zero digest.Digest
	if _, _, err := s.Open(ctx, zero); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Open(zero digest) = %v, want digest.ErrInvalid", err)
	}
	if _, err := s.ReadAll(ctx, zero); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("ReadAll(zero digest) = %v, want digest.ErrInvalid", err)
	}
	if _, err := s.Verify(ctx, zero); !errors.Is(err, digest.ErrInvalid) {
		t.Errorf("Verify(zero digest) = %v, want digest.ErrInvalid", err)
	}
}

func testCorrupt(t *testing.T, s store.Store) {
	c, ok := s.(Corrupter)
	if !ok {
		t.Skipf("%T does not implement storetest.Corrupter: cannot damage a blob", s)
	}
	ctx := t.Context()
	data := blob(2, 100<<10)
	d, err := s.PutBytes(ctx, data, store.Meta{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	intact, err := s.PutBytes(ctx, []byte("intact"), store.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CorruptBlob(d); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Open(ctx, d)
	if err != nil {
		t.Fatalf("Open of a corrupt blob: %v (the error belongs at the end of the read)", err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("reading from Open = %v, want ErrCorrupt", err)
	}
	readsFail(t, ctx, s, d, store.ErrCorrupt)
	bad, err := s.VerifyAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Digest != d || !strings.HasPrefix(bad[0].Problem, "corrupt") {
		t.Errorf("VerifyAll = %+v, want only %s, corrupt", bad, d)
	}
	for _, b := range bad {
		if b.Digest == intact {
			t.Errorf("intact blob reported: %+v", b)
		}
	}
	// Putting the original bytes again repairs the blob.
	if _, err := s.PutBytes(ctx, data, store.Meta{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	readEverything(t, s, d, data)
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Errorf("VerifyAll after repair = %+v, %v", bad, err)
	}
}

func testList(t *testing.T, s store.Store) {
	ctx := t.Context()
	puts := []struct {
		data []byte
		meta store.Meta
	}{
		{[]byte(`{"a":1}`), store.Meta{MediaType: "application/json", Name: "input.json"}},
		{[]byte("weights"), store.Meta{MediaType: "application/octet-stream"}},
		{[]byte("named only"), store.Meta{Name: "notes"}},
		{[]byte("anonymous"), store.Meta{}},
	}
	for _, p := range puts {
		if _, err := s.PutBytes(ctx, p.data, p.meta); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(all, func(a, b store.Entry) int { return strings.Compare(a.Digest.Hex(), b.Digest.Hex()) }) {
		t.Errorf("List is not in digest order: %+v", all)
	}
	for _, p := range puts {
		d := digest.FromBytes(p.data)
		es := entries(t, s, d)
		if len(es) != 1 {
			t.Fatalf("List has %d entries for %s, want 1", len(es), d)
		}
		e := es[0]
		if e.Size != int64(len(p.data)) || e.Name != p.meta.Name || e.Manifest {
			t.Errorf("List entry %+v, want size %d name %q", e, len(p.data), p.meta.Name)
		}
		// A Layout records a name without a media type as
		// application/octet-stream; a media type given is kept exactly.
		if p.meta.MediaType != "" && e.MediaType != p.meta.MediaType {
			t.Errorf("List entry %+v, want media type %q", e, p.meta.MediaType)
		}
		if p.meta == (store.Meta{}) && (e.MediaType != "" || e.Name != "") {
			t.Errorf("List entry %+v for a blob put without metadata", e)
		}
	}
}

func testVerifyAllIntact(t *testing.T, s store.Store) {
	ctx := t.Context()
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("VerifyAll(empty store) = %+v, %v", bad, err)
	}
	for i := range 5 {
		if _, err := s.PutBytes(ctx, blob(uint64(i), 1000*i), store.Meta{Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("VerifyAll = %+v, %v", bad, err)
	}
}

func testContextCancelled(t *testing.T, s store.Store) {
	data := []byte("present")
	d, err := s.PutBytes(t.Context(), data, store.Meta{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.Put(ctx, strings.NewReader("more"), store.Meta{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put = %v, want context.Canceled", err)
	}
	if _, err := s.ReadAll(t.Context(), digest.FromBytes([]byte("more"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled Put stored its blob: ReadAll = %v", err)
	}
	if rc, _, err := s.Open(ctx, d); err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read after Open = %v, want context.Canceled", err)
		}
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Open = %v, want context.Canceled", err)
	}
	readsFail(t, ctx, s, d, context.Canceled)
	if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List = %v, want context.Canceled", err)
	}
	if _, err := s.VerifyAll(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyAll = %v, want context.Canceled", err)
	}
}

func testCancelWhileReading(t *testing.T, s store.Store) {
	data := blob(3, 1<<20)
	d, err := s.PutBytes(t.Context(), data, store.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, _, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if n, err := rc.Read(make([]byte, 4096)); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %d, %v; want 0, context.Canceled", n, err)
	}
}

func testConcurrentPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			data := blob(uint64(i%4), 64<<10) // four distinct blobs, each put four times
			if _, err := s.PutBytes(ctx, data, store.Meta{Name: fmt.Sprint(i % 4)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if bad, err := s.VerifyAll(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("VerifyAll = %+v, %v", bad, err)
	}
	for i := range 4 {
		data := blob(uint64(i), 64<<10)
		d := digest.FromBytes(data)
		if es := entries(t, s, d); len(es) != 1 || es[0].Name != fmt.Sprint(i) {
			t.Errorf("List for blob %d: %+v, want one entry named %d", i, es, i)
		}
		readEverything(t, s, d, data)
	}
}

// testTree: a directory put with store.PutTree verifies and materializes
// file by file; a damaged file fails both, naming its path, and leaves no
// copy behind.
func testTree(t *testing.T, s store.Store) {
	ctx := t.Context()
	dir := t.TempDir()
	files := map[string][]byte{"config.json": []byte("{}"), "shards/a.bin": blob(3, 70<<10), "shards/b.bin": blob(4, 1)}
	for p, b := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := store.PutTree(ctx, s, dir, "tree")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Verify(ctx, d); err != nil || n != int64(2+70<<10+1) {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := s.Materialize(ctx, d, dst); err != nil {
		t.Fatal(err)
	}
	for p, b := range files {
		got, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: %d bytes, %v", p, len(got), err)
		}
	}
	if err := store.RemoveCopy(dst); err != nil {
		t.Fatal(err)
	}
	// A plain blob materializes as a file.
	pd, _ := s.PutBytes(ctx, []byte("plain"), store.Meta{})
	if err := s.Materialize(ctx, pd, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "plain" {
		t.Fatalf("plain blob: %q, %v", b, err)
	}
	os.Remove(dst)
	c, ok := s.(Corrupter)
	if !ok {
		t.Skipf("%T does not implement storetest.Corrupter: cannot damage a tree's file", s)
	}
	if err := c.CorruptBlob(digest.FromBytes(files["shards/a.bin"])); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, d); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `file "shards/a.bin"`) {
		t.Errorf("Verify of a damaged tree = %v", err)
	}
	if err := s.Materialize(ctx, d, dst); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `file "shards/a.bin"`) {
		t.Errorf("Materialize of a damaged tree = %v", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		t.Errorf("a failed Materialize left %s", dst)
	}
}
