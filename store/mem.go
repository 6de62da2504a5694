package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
)

// Mem is an in-memory Store for tests. It behaves as Layout does, as
// package storetest checks, except that List shows only the blobs put (no
// manifests). The zero value is not usable; call NewMem. It is safe for
// concurrent use.
type Mem struct {
	readers // ReadAll, CopyTo, Materialize and Verify over Open
	mu      sync.Mutex
	blobs   map[digest.Digest]*memBlob
}

type memBlob struct {
	data []byte // never modified in place: readers hold the slice
	meta Meta
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem {
	m := &Mem{blobs: map[digest.Digest]*memBlob{}}
	m.readers = readers{m}
	return m
}

// Put implements Writer.
func (m *Mem) Put(ctx context.Context, r io.Reader, meta Meta) (digest.Digest, int64, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(fsread.Reader(ctx, r)); err != nil {
		return digest.Digest{}, 0, fmt.Errorf("store put: %w", err)
	}
	data := buf.Bytes()
	d, n := digest.FromBytes(data), int64(len(data))
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blobs[d]
	if b == nil {
		b = &memBlob{data: data}
		m.blobs[d] = b
	} else if digest.FromBytes(b.data) != d {
		b.data = data // repair
	}
	if b.meta == (Meta{}) {
		b.meta = meta
	}
	return d, n, nil
}

// PutBytes implements Writer. The store keeps its own copy of b.
func (m *Mem) PutBytes(ctx context.Context, b []byte, meta Meta) (digest.Digest, error) {
	d, _, err := m.Put(ctx, bytes.NewReader(b), meta)
	return d, err
}

// Open implements Reader.
func (m *Mem) Open(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if err := d.Validate(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", d, err)
	}
	m.mu.Lock()
	b := m.blobs[d]
	var data []byte
	if b != nil {
		data = b.data
	}
	m.mu.Unlock()
	if b == nil {
		return nil, 0, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	r := bytes.NewReader(data)
	return newVerifyingReader(ctx, r, io.NopCloser(r), d), int64(len(data)), nil
}

// List implements Store.
func (m *Mem) List(ctx context.Context) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Entry, 0, len(m.blobs))
	for d, b := range m.blobs {
		out = append(out, Entry{Digest: d, Size: int64(len(b.data)), MediaType: b.meta.MediaType, Name: b.meta.Name})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Digest.Hex(), b.Digest.Hex()) })
	return out, nil
}

// VerifyAll implements Store.
func (m *Mem) VerifyAll(ctx context.Context) ([]BadBlob, error) {
	entries, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	var bad []BadBlob
	for _, e := range entries {
		if _, err := verify(ctx, m, e.Digest); err != nil {
			if ctx.Err() != nil {
				return bad, fmt.Errorf("verify: %w", ctx.Err())
			}
			bad = append(bad, BadBlob{Path: path.Join("blobs", "sha256", e.Digest.Hex()), Digest: e.Digest, Problem: "corrupt: " + err.Error()})
		}
	}
	return bad, nil
}

// CorruptBlob replaces blob d's bytes with bytes that no longer hash to d
// (the first byte flipped, or one byte for an empty blob), as damage on
// disk would. It is a test aid (storetest.Corrupter); it returns
// ErrNotFound for an absent blob.
func (m *Mem) CorruptBlob(d digest.Digest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blobs[d]
	if b == nil {
		return fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	data := slices.Clone(b.data)
	if len(data) == 0 {
		data = []byte{0}
	} else {
		data[0] ^= 0xff
	}
	b.data = data
	return nil
}
