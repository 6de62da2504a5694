package store_test

import (
	"io"
	"math/rand/v2"
	"path/filepath"
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
