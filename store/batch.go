package store

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/journal"
)

// Batch puts blobs whose durability waits for Commit, for a writer that
// makes many small blobs durable together (the recording proxy, once per
// segment) instead of paying two fsyncs for each. PutBytes writes a
// temporary file under ingest/ and does not sync it; Commit makes every
// pending file durable at once (syncfs(2) on Linux, an fsync per file
// elsewhere), renames each to blobs/sha256/<hex> (unless an intact copy is
// there) and fsyncs that directory once. A blob is never under its final
// name before its bytes are durable, and it is readable only after
// Commit. A process killed before Commit leaves the temporary files
// (batch-*) under ingest/, as a killed Put does. PutBytes may be called
// concurrently; Commit waits for none of them, so its caller calls it
// when no PutBytes is under way.
type Batch struct {
	s       *Layout
	mu      sync.Mutex
	pending map[digest.Digest]string // digest -> temporary file
}

// NewBatch returns an empty batch of s.
func (s *Layout) NewBatch() *Batch {
	return &Batch{s: s, pending: map[digest.Digest]string{}}
}

// PutBytes writes b to a temporary file of the batch (the meta is not
// used: batch blobs get no index.json entry) and returns its digest.
func (b *Batch) PutBytes(ctx context.Context, data []byte, _ Meta) (digest.Digest, error) {
	if err := ctx.Err(); err != nil {
		return digest.Digest{}, fmt.Errorf("store put: %w", err)
	}
	d := digest.FromBytes(data)
	b.mu.Lock()
	_, dup := b.pending[d]
	b.mu.Unlock()
	if dup {
		return d, nil
	}
	if err := b.s.makeDirs(); err != nil {
		return d, err
	}
	tmp, err := os.CreateTemp(b.s.ingestDir(), "batch-*")
	if err != nil {
		return d, fmt.Errorf("store put: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o444)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return d, fmt.Errorf("store put: %w", err)
	}
	b.mu.Lock()
	if _, dup := b.pending[d]; dup {
		os.Remove(tmp.Name())
	} else {
		b.pending[d] = tmp.Name()
	}
	b.mu.Unlock()
	return d, nil
}

// Commit makes the pending blobs durable and puts them under their final
// names; the batch is then empty (on an error too: its temporary files
// are removed).
func (b *Batch) Commit(ctx context.Context) error {
	b.mu.Lock()
	pending := b.pending
	b.pending = map[digest.Digest]string{}
	b.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	defer func() {
		for _, tmp := range pending {
			os.Remove(tmp) // those not renamed
		}
	}()
	paths := make([]string, 0, len(pending))
	for _, tmp := range pending {
		paths = append(paths, tmp)
	}
	if err := syncFiles(b.s.ingestDir(), paths); err != nil {
		return fmt.Errorf("store commit: %w", err)
	}
	for d, tmp := range pending {
		if _, err := verify(ctx, b.s, d); err == nil {
			continue // already stored and intact
		} else if ctx.Err() != nil {
			return fmt.Errorf("store commit: %w", ctx.Err())
		}
		if err := os.Rename(tmp, b.s.blobPath(d)); err != nil {
			return fmt.Errorf("store commit: %w", err)
		}
		delete(pending, d)
	}
	if err := journal.SyncDir(b.s.blobDir()); err != nil {
		return fmt.Errorf("store commit: %w", err)
	}
	return nil
}
