// Package store is reprise's content-addressed artifact store: an OCI image
// layout directory (oci-layout, index.json, blobs/sha256/<hex>) so standard
// OCI tools can read it.
//
// Inputs, models, configs, eval suites and image archives are blobs addressed
// by their sha256 digest. Each blob put with a media type or name also gets a
// small OCI artifact manifest (artifactType = the blob's media type, one layer
// = the blob, annotation org.opencontainers.image.title = the name) listed in
// index.json, which is how `ls` knows media types and names.
//
// Writes are atomic: bytes go to a temporary file under ingest/, are fsynced
// and renamed into place; index.json is rewritten the same way under an
// exclusive file lock, so several processes can put concurrently. Every read
// re-hashes the blob: a blob that does not hash to its name is reported as
// ErrCorrupt and never returned.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/reprise-dev/reprise/digest"
)

// Errors reported by the store; test with errors.Is.
var (
	// ErrNotFound: no blob with that digest in the store.
	ErrNotFound = errors.New("blob not found in store")
	// ErrCorrupt: a blob's bytes do not hash to its name, or its name is not a digest.
	ErrCorrupt = errors.New("corrupt blob")
	// ErrNotStore: the directory exists but is not an OCI image layout.
	ErrNotStore = errors.New("not a reprise store (OCI image layout)")
)

// OCI media types and annotations used by the store.
const (
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeEmpty    = "application/vnd.oci.empty.v1+json"
	AnnotationTitle   = "org.opencontainers.image.title"
	AnnotationBlob    = "dev.reprise.blob"
	layoutFile        = "oci-layout"
	indexFile         = "index.json"
	layoutVersion     = `{"imageLayoutVersion":"1.0.0"}`
	emptyJSON         = "{}"
)

// Store is an OCI image layout on disk.
type Store struct {
	root string
}

// Open opens the store at dir, creating an empty layout when dir does not
// exist or is empty.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: empty directory name")
	}
	s := &Store{root: dir}
	if err := os.MkdirAll(s.blobDir(), 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "ingest"), 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, layoutFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeFileAtomic(s.ingestDir(), filepath.Join(dir, layoutFile), []byte(layoutVersion+"\n")); err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", dir, err)
	default:
		var l struct {
			Version string `json:"imageLayoutVersion"`
		}
		if json.Unmarshal(b, &l) != nil || l.Version == "" {
			return nil, fmt.Errorf("store %s: %w: bad oci-layout file", dir, ErrNotStore)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, indexFile)); errors.Is(err, fs.ErrNotExist) {
		err := s.withLock(func() error {
			if _, err := os.Stat(filepath.Join(dir, indexFile)); err == nil {
				return nil
			}
			return s.writeIndex(&index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []descriptor{}})
		})
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
	}
	return s, nil
}

// Root returns the store directory.
func (s *Store) Root() string { return s.root }

func (s *Store) blobDir() string   { return filepath.Join(s.root, "blobs", "sha256") }
func (s *Store) ingestDir() string { return filepath.Join(s.root, "ingest") }

// BlobPath returns where the blob with digest d lives (it may not exist).
func (s *Store) BlobPath(d digest.Digest) string { return filepath.Join(s.blobDir(), d.Hex()) }

// Meta describes a blob put into the store.
type Meta struct {
	MediaType string // e.g. "application/json"; "" when unknown
	Name      string // a human name, e.g. the file name; "" when none
}

// Put stores the bytes read from r and returns their digest and size.
// Putting bytes that are already stored is a no-op (the stored blob is
// re-verified and repaired if it was corrupt). With meta set, the blob is
// listed in index.json through an artifact manifest.
func (s *Store) Put(ctx context.Context, r io.Reader, meta Meta) (digest.Digest, int64, error) {
	d, n, err := s.putBlob(ctx, r)
	if err != nil {
		return d, n, err
	}
	if meta.MediaType != "" || meta.Name != "" {
		if err := s.annotate(ctx, d, n, meta); err != nil {
			return d, n, err
		}
	}
	return d, n, nil
}

// PutBytes is Put for a byte slice.
func (s *Store) PutBytes(ctx context.Context, b []byte, meta Meta) (digest.Digest, error) {
	d, _, err := s.Put(ctx, strings.NewReader(string(b)), meta)
	return d, err
}

func (s *Store) putBlob(ctx context.Context, r io.Reader) (digest.Digest, int64, error) {
	tmp, err := os.CreateTemp(s.ingestDir(), "put-*")
	if err != nil {
		return digest.Digest{}, 0, fmt.Errorf("store put: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := newHasher()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return digest.Digest{}, n, fmt.Errorf("store put: %w", err)
	}
	d := h.digest()
	final := s.BlobPath(d)
	if _, _, err := s.verifyFile(final, d); err == nil {
		return d, n, nil // already stored and intact
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return d, n, fmt.Errorf("store put: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return d, n, fmt.Errorf("store put: %w", err)
	}
	if err := syncDir(s.blobDir()); err != nil {
		return d, n, fmt.Errorf("store put: %w", err)
	}
	return d, n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// verifyFile hashes path and checks it against want.
func (s *Store) verifyFile(path string, want digest.Digest) (digest.Digest, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return digest.Digest{}, 0, fmt.Errorf("%s: %w", want, ErrNotFound)
	}
	if err != nil {
		return digest.Digest{}, 0, err
	}
	defer f.Close()
	got, n, err := digest.FromReader(f)
	if err != nil {
		return got, n, fmt.Errorf("read %s: %w", path, err)
	}
	if got != want {
		return got, n, fmt.Errorf("%s: %w: its bytes hash to %s", want, ErrCorrupt, got)
	}
	return got, n, nil
}

// Verify re-hashes the blob d. It returns ErrNotFound or ErrCorrupt.
func (s *Store) Verify(d digest.Digest) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	_, n, err := s.verifyFile(s.BlobPath(d), d)
	return n, err
}

// Open verifies blob d and then opens it for reading. The caller closes it.
func (s *Store) Open(d digest.Digest) (io.ReadCloser, int64, error) {
	n, err := s.Verify(d)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(s.BlobPath(d))
	if err != nil {
		return nil, 0, err
	}
	return f, n, nil
}

// MaxReadAll is the largest blob ReadAll returns, in bytes.
const MaxReadAll = 256 << 20

// ReadAll reads blob d into memory and verifies the bytes read (so what is
// returned is exactly what hashes to d).
func (s *Store) ReadAll(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.BlobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxReadAll+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxReadAll {
		return nil, fmt.Errorf("%s: blob larger than %d bytes", d, MaxReadAll)
	}
	if got := digest.FromBytes(b); got != d {
		return nil, fmt.Errorf("%s: %w: its bytes hash to %s", d, ErrCorrupt, got)
	}
	return b, nil
}

// CopyTo verifies blob d while copying it to a new file at dst (mode 0444),
// removing dst when the bytes do not match. Use it to hand a verified copy to
// a runner: the copy cannot change under the store.
func (s *Store) CopyTo(d digest.Digest, dst string) error {
	f, err := os.Open(s.BlobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		return err
	}
	h := newHasher()
	_, err = io.Copy(io.MultiWriter(out, h), f)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && h.digest() != d {
		err = fmt.Errorf("%s: %w: its bytes hash to %s", d, ErrCorrupt, h.digest())
	}
	if err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

// Entry is one blob as listed by List.
type Entry struct {
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"media_type,omitempty"`
	Name      string        `json:"name,omitempty"`
	// Manifest is true for the store's own artifact manifests.
	Manifest bool `json:"manifest,omitempty"`
}

// List returns every blob in digest order with what the index knows of it.
// Files under blobs/sha256 whose names are not digests are listed with a zero
// Digest and their file name in Name.
func (s *Store) List() ([]Entry, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	known := map[string]Entry{}
	for _, m := range idx.Manifests {
		b := m.Annotations[AnnotationBlob]
		known[b] = Entry{MediaType: m.ArtifactType, Name: m.Annotations[AnnotationTitle]}
		known[m.Digest] = Entry{MediaType: MediaTypeManifest, Manifest: true, Name: "manifest of " + shortDigest(b)}
	}
	des, err := os.ReadDir(s.blobDir())
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		info, err := de.Info()
		if err != nil {
			return nil, err
		}
		d, err := digest.FromHex(de.Name())
		if err != nil {
			out = append(out, Entry{Size: info.Size(), Name: de.Name()})
			continue
		}
		e := known[d.String()]
		e.Digest, e.Size = d, info.Size()
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest.Hex()+out[i].Name < out[j].Digest.Hex()+out[j].Name })
	return out, nil
}

func shortDigest(s string) string {
	if d, err := digest.Parse(s); err == nil {
		return "sha256:" + d.Short()
	}
	return s
}

// BadBlob is a blob that failed verification.
type BadBlob struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}

// VerifyAll re-hashes every blob and checks that every blob the index names
// exists. It returns the bad blobs (empty when the store is intact).
func (s *Store) VerifyAll(ctx context.Context) ([]BadBlob, error) {
	des, err := os.ReadDir(s.blobDir())
	if err != nil {
		return nil, err
	}
	var bad []BadBlob
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return bad, err
		}
		rel := filepath.Join("blobs", "sha256", de.Name())
		if !de.Type().IsRegular() {
			bad = append(bad, BadBlob{rel, "not a regular file"})
			continue
		}
		d, err := digest.FromHex(de.Name())
		if err != nil {
			bad = append(bad, BadBlob{rel, "misnamed: file name is not a sha256 hex digest"})
			continue
		}
		if got, _, err := s.verifyFile(filepath.Join(s.blobDir(), de.Name()), d); err != nil {
			if errors.Is(err, ErrCorrupt) {
				bad = append(bad, BadBlob{rel, "corrupt: bytes hash to " + got.String()})
			} else {
				bad = append(bad, BadBlob{rel, err.Error()})
			}
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		return bad, err
	}
	for _, m := range idx.Manifests {
		for _, ref := range []string{m.Digest, m.Annotations[AnnotationBlob]} {
			d, err := digest.Parse(ref)
			if err != nil {
				bad = append(bad, BadBlob{indexFile, fmt.Sprintf("bad digest %q", ref)})
				continue
			}
			if _, err := os.Stat(s.BlobPath(d)); err != nil {
				bad = append(bad, BadBlob{filepath.Join("blobs", "sha256", d.Hex()), "missing: named in index.json"})
			}
		}
	}
	return bad, nil
}

// index.json and manifests (the subset of the OCI types the store writes).
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func (s *Store) readIndex() (*index, error) {
	b, err := os.ReadFile(filepath.Join(s.root, indexFile))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("store %s: %w: index.json: %v", s.root, ErrNotStore, err)
	}
	return &idx, nil
}

func (s *Store) writeIndex(idx *index) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.ingestDir(), filepath.Join(s.root, indexFile), append(b, '\n'))
}

// annotate adds an artifact manifest for blob d to index.json unless one is there.
func (s *Store) annotate(ctx context.Context, d digest.Digest, size int64, meta Meta) error {
	mt := meta.MediaType
	if mt == "" {
		mt = "application/octet-stream"
	}
	layer := descriptor{MediaType: mt, Digest: d.String(), Size: size}
	if meta.Name != "" {
		layer.Annotations = map[string]string{AnnotationTitle: meta.Name}
	}
	m := manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		ArtifactType:  mt,
		Config:        descriptor{MediaType: MediaTypeEmpty, Digest: digest.FromBytes([]byte(emptyJSON)).String(), Size: int64(len(emptyJSON))},
		Layers:        []descriptor{layer},
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, _, err := s.putBlob(ctx, strings.NewReader(emptyJSON)); err != nil {
		return err
	}
	md, mn, err := s.putBlob(ctx, strings.NewReader(string(mb)))
	if err != nil {
		return err
	}
	return s.withLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		for _, e := range idx.Manifests {
			if e.Annotations[AnnotationBlob] == d.String() {
				return nil
			}
		}
		ann := map[string]string{AnnotationBlob: d.String()}
		if meta.Name != "" {
			ann[AnnotationTitle] = meta.Name
		}
		idx.Manifests = append(idx.Manifests, descriptor{
			MediaType: MediaTypeManifest, ArtifactType: mt, Digest: md.String(), Size: mn, Annotations: ann,
		})
		return s.writeIndex(idx)
	})
}

// withLock runs f holding an exclusive lock on the store's index.
func (s *Store) withLock(f func() error) error {
	lf, err := os.OpenFile(filepath.Join(s.ingestDir(), "index.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock index: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	return f()
}

// WriteAtomic writes b to path atomically: a temporary file in the same
// directory, fsynced, renamed over path (mode 0644), and the directory synced.
// Readers see the old file or the new one, never a part.
func WriteAtomic(path string, b []byte) error {
	return writeFileAtomic(filepath.Dir(path), path, b)
}

// writeFileAtomic writes b to a temp file in tmpDir, fsyncs it and renames it to path.
func writeFileAtomic(tmpDir, path string, b []byte) error {
	tmp, err := os.CreateTemp(tmpDir, "write-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
