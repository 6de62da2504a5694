package store_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
)

// BenchmarkOpenRead64MiB measures Open and a full verifying read of a
// 64 MiB blob (MB/s is bytes read and hashed per second).
func BenchmarkOpenRead64MiB(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{}).Read(data)
	for _, s := range []struct {
		name string
		open func() store.Store
	}{
		{"Layout", func() store.Store {
			l, err := store.Init(filepath.Join(b.TempDir(), "store"))
			if err != nil {
				b.Fatal(err)
			}
			return l
		}},
		{"Mem", func() store.Store { return store.NewMem() }},
	} {
		b.Run(s.name, func(b *testing.B) {
			st := s.open()
			d, err := st.PutBytes(b.Context(), data, store.Meta{})
			if err != nil || d != digest.FromBytes(data) {
				b.Fatal(d, err)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				rc, _, err := st.Open(b.Context(), d)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

// BenchmarkTree64MiB measures PutTree, Verify and Materialize of a Layout
// tree of four 16 MiB files (MB/s is the tree's bytes per second), next to
// the plain-blob read above.
func BenchmarkTree64MiB(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 16<<20)
	for i := range 4 {
		rand.NewChaCha8([32]byte{byte(i)}).Read(data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("model-%05d.safetensors", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	l, err := store.Init(filepath.Join(b.TempDir(), "store"))
	if err != nil {
		b.Fatal(err)
	}
	d, err := store.PutTree(b.Context(), l, dir, "m")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("PutTree", func(b *testing.B) {
		b.SetBytes(64 << 20)
		for b.Loop() {
			if _, err := store.PutTree(b.Context(), l, dir, "m"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		b.SetBytes(64 << 20)
		for b.Loop() {
			if _, err := l.Verify(b.Context(), d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Materialize", func(b *testing.B) {
		b.SetBytes(64 << 20)
		out := b.TempDir()
		i := 0
		for b.Loop() {
			dst := filepath.Join(out, strconv.Itoa(i))
			i++
			if err := l.Materialize(b.Context(), d, dst); err != nil {
				b.Fatal(err)
			}
			store.RemoveCopy(dst)
		}
	})
}
