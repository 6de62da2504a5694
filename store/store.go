package store

import (
	"context"
	"errors"
	"io"

	"github.com/reprise-dev/reprise/digest"
)

// Errors reported by the store; test with errors.Is.
var (
	// ErrNotFound: no blob with that digest in the store.
	ErrNotFound = errors.New("blob not found in store")
	// ErrCorrupt: a blob's bytes do not hash to its digest, or the blob is
	// not a regular file.
	ErrCorrupt = errors.New("corrupt blob")
	// ErrNoStore: Open was given a directory that does not exist.
	ErrNoStore = errors.New("no such store")
	// ErrNotStore: the directory exists but is not an OCI image layout, or
	// its layout is damaged (bad oci-layout, missing or malformed index.json).
	ErrNotStore = errors.New("not a reprise store (OCI image layout)")
	// ErrTooLarge: ReadAll was asked for a blob larger than MaxReadAll.
	ErrTooLarge = errors.New("blob too large to read into memory")
)

// MaxReadAll is the largest blob ReadAll returns, in bytes (256 MiB).
const MaxReadAll = 256 << 20

// Reader is what a consumer of blobs needs. Every method takes the context
// first and stops when it is done (returning an error wrapping ctx.Err()).
// A digest that is not valid (the zero Digest) gives an error wrapping
// digest.ErrInvalid; a blob that is absent gives ErrNotFound.
type Reader interface {
	// Open returns a reader of blob d and the blob's size in bytes when
	// opened. The reader hashes the bytes as they stream and ends with an
	// error wrapping ErrCorrupt instead of io.EOF when they do not hash to d;
	// bytes read before that error must be discarded. Each Read returns
	// ctx.Err() once ctx is done. The caller closes the reader.
	Open(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error)
	// ReadAll returns the bytes of blob d, which hash to d. It returns
	// ErrTooLarge for a blob larger than MaxReadAll bytes, ErrCorrupt (and
	// no bytes) when the bytes read do not hash to d.
	ReadAll(ctx context.Context, d digest.Digest) ([]byte, error)
	// CopyTo writes blob d to a new file dst (mode 0444; dst must not
	// exist), hashing while it copies. On any error, ErrCorrupt included,
	// dst is removed. The copy, unlike the store, cannot change under a
	// consumer such as a container.
	CopyTo(ctx context.Context, d digest.Digest, dst string) error
	// Materialize writes artifact d to a new path dst (dst must not
	// exist): a blob as CopyTo does, a tree (see the package
	// documentation) as a new directory dst (mode 0555, its folders 0555,
	// its files 0444 or 0555), every file verified while it streams. On
	// any error dst is removed; a file of a tree that is missing or
	// corrupt gives an error wrapping ErrCorrupt that names its path.
	Materialize(ctx context.Context, d digest.Digest, dst string) error
	// Verify reads blob d through the verifying reader and returns its
	// size in bytes, or ErrNotFound or ErrCorrupt. When d is a tree it
	// also verifies every file of the tree and returns the sum of their
	// sizes; a file missing or corrupt gives an error wrapping ErrCorrupt
	// (not ErrNotFound: the tree is there, damaged) that names its path.
	// A later read verifies again: Verify is a report, not a licence to
	// read unverified.
	Verify(ctx context.Context, d digest.Digest) (int64, error)
}

// Writer is what a producer of blobs needs.
type Writer interface {
	// Put stores the bytes read from r until EOF and returns their digest
	// and size in bytes. Putting bytes already stored is a no-op, except that
	// a stored copy that no longer verifies is replaced. With meta set the
	// blob is listed with its media type and name; the first metadata given
	// for a blob is kept. It stops when ctx is done.
	Put(ctx context.Context, r io.Reader, meta Meta) (digest.Digest, int64, error)
	// PutBytes is Put for a byte slice.
	PutBytes(ctx context.Context, b []byte, meta Meta) (digest.Digest, error)
}

// Store is a whole artifact store: reads, writes, listing and a full check.
type Store interface {
	Reader
	Writer
	// List returns every blob in digest order with what the store knows of
	// it. It does not verify the blobs.
	List(ctx context.Context) ([]Entry, error)
	// VerifyAll re-hashes every blob and returns those that fail (empty,
	// not an error, when the store is intact). The error is for failures
	// to read the store itself, or ctx.
	VerifyAll(ctx context.Context) ([]BadBlob, error)
}

// Meta describes a blob put into the store.
type Meta struct {
	MediaType string // e.g. "application/json"; "" when unknown
	Name      string // a human name, e.g. the file name; "" when none
}

// Entry is one blob as listed by List.
type Entry struct {
	Digest    digest.Digest `json:"digest"` // zero for a Layout file whose name is not a digest
	Size      int64         `json:"size"`   // bytes
	MediaType string        `json:"media_type,omitempty"`
	Name      string        `json:"name,omitempty"`
	// Manifest is true for a Layout's own artifact manifests.
	Manifest bool `json:"manifest,omitempty"`
}

// BadBlob is a blob that failed VerifyAll.
type BadBlob struct {
	// Path is relative to the store root: blobs/sha256/<hex> (for Mem, where
	// the blob would be in a layout), or index.json.
	Path string `json:"path"`
	// Digest is the blob's digest; zero when its file name is not a digest.
	Digest digest.Digest `json:"digest,omitzero"`
	// Problem starts with one of "corrupt", "missing", "misnamed", "not a
	// regular file", followed by details.
	Problem string `json:"problem"`
}

var (
	_ Store = (*Layout)(nil)
	_ Store = (*Mem)(nil)
)
