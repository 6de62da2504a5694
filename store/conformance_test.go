package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/store/storetest"
)

func TestMemConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMem() })
}

func TestLayoutConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		l, err := store.Init(filepath.Join(t.TempDir(), "store"))
		if err != nil {
			t.Fatal(err)
		}
		return corruptibleLayout{l}
	})
}

// corruptibleLayout lets the suite damage a blob in place on disk.
type corruptibleLayout struct{ *store.Layout }

func (l corruptibleLayout) CorruptBlob(d digest.Digest) error {
	path := filepath.Join(l.Root(), "blobs", "sha256", d.Hex())
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		b = []byte{0}
	} else {
		b[0] ^= 0xff
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

var _ storetest.Corrupter = store.NewMem()
