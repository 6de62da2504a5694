package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/journal"
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

// Layout is a store kept as an OCI image layout on disk. It is safe for
// concurrent use by several goroutines and processes.
type Layout struct {
	readers // ReadAll, CopyTo, Materialize and Verify over Open
	root    string
	// afterOpen, when set (by tests), runs after a blob file is opened
	// for reading and before any byte is read.
	afterOpen func(path string)
}

// Open opens the existing store at dir for reading (and for writing into
// it); it never creates or repairs anything. It returns an error wrapping
// ErrNoStore ("no such store: DIR") when dir does not exist, and
// ErrNotStore when dir is not an OCI image layout: no or a bad oci-layout
// file, or a missing or malformed index.json. A layout without blobs/ or
// ingest/ (as other OCI tools may write) is a valid, empty store.
func Open(dir string) (*Layout, error) {
	if dir == "" {
		return nil, errors.New("store: empty directory name")
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoStore, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("store %s: %w: not a directory", dir, ErrNotStore)
	}
	b, err := os.ReadFile(filepath.Join(dir, layoutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s: %w: no %s file", dir, ErrNotStore, layoutFile)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if json.Unmarshal(b, &l) != nil || l.Version == "" {
		return nil, fmt.Errorf("store %s: %w: bad %s file", dir, ErrNotStore, layoutFile)
	}
	s := &Layout{root: dir}
	s.readers = readers{s}
	if _, err := s.readIndex(); err != nil {
		return nil, err
	}
	return s, nil
}

// Init opens the store at dir for a writer, first creating an empty layout
// when dir does not exist or is empty (any missing parent directories
// too, mode 0755 less the umask). An existing store is opened as by Open;
// a damaged one (say, without index.json) is an error, not recreated. A
// non-empty directory that is not a layout gives ErrNotStore and is left
// as it was. Concurrent Inits of one directory, in several processes, are
// safe.
func Init(dir string) (*Layout, error) {
	if dir == "" {
		return nil, errors.New("store: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, layoutFile)); err == nil {
		return Open(dir)
	}
	// A new store: the directory holds nothing, or only what an Init
	// under way or cut short leaves (oci-layout is written last, and may
	// have appeared since the check above, when another Init finished).
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	for _, de := range des {
		if n := de.Name(); n != "blobs" && n != "ingest" && n != indexFile && n != layoutFile {
			return nil, fmt.Errorf("store %s: %w: directory is not empty (%s) and has no %s file", dir, ErrNotStore, n, layoutFile)
		}
	}
	s := &Layout{root: dir}
	s.readers = readers{s}
	if err := s.makeDirs(); err != nil {
		return nil, err
	}
	err = s.withLock(func() error {
		if _, err := os.Lstat(filepath.Join(dir, indexFile)); errors.Is(err, fs.ErrNotExist) {
			if err := s.writeIndex(newIndex()); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		_, err := os.Lstat(filepath.Join(dir, layoutFile))
		if errors.Is(err, fs.ErrNotExist) {
			err = journal.WriteAtomicVia(s.ingestDir(), filepath.Join(dir, layoutFile), []byte(layoutVersion+"\n"))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	return Open(dir)
}

// makeDirs creates blobs/sha256 and ingest/ when missing.
func (s *Layout) makeDirs() error {
	for _, d := range []string{s.blobDir(), s.ingestDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("store %s: %w", s.root, err)
		}
	}
	return nil
}

// Root returns the store directory.
func (s *Layout) Root() string { return s.root }

func (s *Layout) blobDir() string   { return filepath.Join(s.root, "blobs", "sha256") }
func (s *Layout) ingestDir() string { return filepath.Join(s.root, "ingest") }

func (s *Layout) blobPath(d digest.Digest) string { return filepath.Join(s.blobDir(), d.Hex()) }

// Put implements Writer. The bytes are hashed while they are written to a
// temporary file under ingest/, which is fsynced and renamed to
// blobs/sha256/<hex> unless an intact copy is already there. With meta set,
// an artifact manifest for the blob is added to index.json (once per blob);
// that gives ErrNotStore if index.json is missing or malformed. Put creates
// blobs/sha256 and ingest/ when missing.
func (s *Layout) Put(ctx context.Context, r io.Reader, meta Meta) (digest.Digest, int64, error) {
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

// PutBytes implements Writer.
func (s *Layout) PutBytes(ctx context.Context, b []byte, meta Meta) (digest.Digest, error) {
	d, _, err := s.Put(ctx, bytes.NewReader(b), meta)
	return d, err
}

func (s *Layout) putBlob(ctx context.Context, r io.Reader) (digest.Digest, int64, error) {
	if err := s.makeDirs(); err != nil {
		return digest.Digest{}, 0, err
	}
	tmp, err := os.CreateTemp(s.ingestDir(), "put-*")
	if err != nil {
		return digest.Digest{}, 0, fmt.Errorf("store put: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), fsread.Reader(ctx, r))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return digest.Digest{}, n, fmt.Errorf("store put: %w", err)
	}
	d := digest.FromHash(h)
	if _, err := verify(ctx, s, d); err == nil {
		return d, n, nil // already stored and intact
	} else if ctx.Err() != nil {
		return d, n, fmt.Errorf("store put: %w", ctx.Err())
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return d, n, fmt.Errorf("store put: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.blobPath(d)); err != nil {
		return d, n, fmt.Errorf("store put: %w", err)
	}
	if err := journal.SyncDir(s.blobDir()); err != nil {
		return d, n, fmt.Errorf("store put: %w", err)
	}
	return d, n, nil
}

// Open implements Reader: it opens blobs/sha256/<hex> and returns a reader
// that verifies while it streams. The size is the file's size when opened.
// Only a regular file is read: a symlink, named pipe, device or directory
// at that path gives an error wrapping ErrCorrupt that names the path.
func (s *Layout) Open(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if err := d.Validate(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", d, err)
	}
	path := s.blobPath(d)
	f, size, err := fsread.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, fmt.Errorf("%s: %w", d, ErrNotFound)
	case errors.Is(err, fsread.ErrNotRegular):
		return nil, 0, fmt.Errorf("%s: %w: %v", d, ErrCorrupt, err)
	case err != nil:
		return nil, 0, fmt.Errorf("open %s: %w", d, err)
	}
	if s.afterOpen != nil {
		s.afterOpen(path)
	}
	return newVerifyingReader(ctx, f, f, d), size, nil
}

// List implements Store. Media types and names come from the artifact
// manifests in index.json; the manifests themselves (and their empty
// config) are listed too, manifests with Manifest set. Files under
// blobs/sha256 whose names are not digests are listed with a zero Digest
// and their file name in Name.
func (s *Layout) List(ctx context.Context) ([]Entry, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	known := map[string]Entry{}
	for d, t := range s.indexTrees(ctx, idx) {
		for _, f := range t.Files {
			known[f.Digest.String()] = Entry{MediaType: MediaTypeTreeFile, Name: "file " + f.Path + " of tree " + shortDigest(d.String())}
		}
	}
	for _, m := range idx.Manifests {
		b, ours := m.Annotations[AnnotationBlob]
		if m.ArtifactType == MediaTypeTree {
			known[m.Digest] = Entry{MediaType: MediaTypeTree, Manifest: true, Name: m.Annotations[AnnotationTitle]}
			continue
		}
		if !ours {
			// Another tool's entry: only its media type is known.
			if _, seen := known[m.Digest]; !seen {
				known[m.Digest] = Entry{MediaType: m.MediaType}
			}
			continue
		}
		known[b] = Entry{MediaType: m.ArtifactType, Name: m.Annotations[AnnotationTitle]}
		known[m.Digest] = Entry{MediaType: MediaTypeManifest, Manifest: true, Name: "manifest of " + shortDigest(b)}
	}
	des, err := s.readBlobDir()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list %s: %w", s.root, err)
		}
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
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(strings.Compare(a.Digest.Hex(), b.Digest.Hex()), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// readBlobDir lists blobs/sha256; a layout without it has no blobs.
func (s *Layout) readBlobDir() ([]os.DirEntry, error) {
	des, err := os.ReadDir(s.blobDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	return des, nil
}

func shortDigest(s string) string {
	if d, err := digest.Parse(s); err == nil {
		return "sha256:" + d.Short()
	}
	return s
}

// VerifyAll implements Store. Besides re-hashing every file under
// blobs/sha256, it reports files that are not regular or whose names are
// not digests, and blobs that index.json names but that are missing.
func (s *Layout) VerifyAll(ctx context.Context) ([]BadBlob, error) {
	des, err := s.readBlobDir()
	if err != nil {
		return nil, err
	}
	var bad []BadBlob
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return bad, fmt.Errorf("verify %s: %w", s.root, err)
		}
		rel := filepath.Join("blobs", "sha256", de.Name())
		d, err := digest.FromHex(de.Name())
		if err != nil {
			bad = append(bad, BadBlob{Path: rel, Problem: "misnamed: file name is not a sha256 hex digest"})
			continue
		}
		if !de.Type().IsRegular() {
			bad = append(bad, BadBlob{Path: rel, Digest: d, Problem: "not a regular file"})
			continue
		}
		if _, err := verify(ctx, s, d); err != nil {
			switch {
			case ctx.Err() != nil:
				return bad, fmt.Errorf("verify %s: %w", s.root, ctx.Err())
			case errors.Is(err, ErrCorrupt):
				bad = append(bad, BadBlob{Path: rel, Digest: d, Problem: "corrupt: " + err.Error()})
			default:
				bad = append(bad, BadBlob{Path: rel, Digest: d, Problem: err.Error()})
			}
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		return bad, err
	}
	for _, m := range idx.Manifests {
		refs := []string{m.Digest}
		if b, ours := m.Annotations[AnnotationBlob]; ours {
			refs = append(refs, b)
		}
		for _, ref := range refs {
			d, err := digest.Parse(ref)
			if err != nil {
				bad = append(bad, BadBlob{Path: indexFile, Problem: fmt.Sprintf("misnamed: index.json names %q", ref)})
				continue
			}
			if _, err := os.Lstat(s.blobPath(d)); err != nil {
				bad = append(bad, BadBlob{Path: filepath.Join("blobs", "sha256", d.Hex()), Digest: d, Problem: "missing: named in index.json"})
			}
		}
	}
	return s.verifyTrees(ctx, idx, bad), nil
}

// verifyTrees adds to bad the files of the listed trees that are missing,
// and names the tree file a bad blob is.
func (s *Layout) verifyTrees(ctx context.Context, idx *index, bad []BadBlob) []BadBlob {
	trees := s.indexTrees(ctx, idx)
	for _, td := range slices.SortedFunc(maps.Keys(trees), func(a, b digest.Digest) int { return strings.Compare(a.Hex(), b.Hex()) }) {
		for _, f := range trees[td].Files {
			what := fmt.Sprintf("file %s of tree %s", jsonString(f.Path), td)
			found := false
			for i := range bad {
				if bad[i].Digest == f.Digest {
					bad[i].Problem += " (" + what + ")"
					found = true
				}
			}
			if _, err := os.Lstat(s.blobPath(f.Digest)); err != nil && !found {
				bad = append(bad, BadBlob{Path: filepath.Join("blobs", "sha256", f.Digest.Hex()), Digest: f.Digest, Problem: "missing: " + what})
			}
		}
	}
	return bad
}

// annotate adds an artifact manifest for blob d to index.json unless one is there.
func (s *Layout) annotate(ctx context.Context, d digest.Digest, size int64, meta Meta) error {
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
		idx.Manifests = append(idx.Manifests, indexEntry{descriptor: descriptor{
			MediaType: MediaTypeManifest, ArtifactType: mt, Digest: md.String(), Size: mn, Annotations: ann,
		}})
		return s.writeIndex(idx)
	})
}

// withLock runs f holding an exclusive lock on the store's index (waiting
// for it while another process holds it).
func (s *Layout) withLock(f func() error) error {
	l, err := journal.LockWait(context.Background(), filepath.Join(s.ingestDir(), "index.lock"))
	if err != nil {
		return err
	}
	defer l.Release()
	return f()
}

// putTreeManifest stores a tree manifest and lists it in index.json as
// the manifest it is (artifactType MediaTypeTree, titled name), once.
func (s *Layout) putTreeManifest(ctx context.Context, b []byte, name string) (digest.Digest, error) {
	d, n, err := s.putBlob(ctx, bytes.NewReader(b))
	if err != nil {
		return d, err
	}
	if _, _, err := s.putBlob(ctx, strings.NewReader(emptyJSON)); err != nil {
		return d, err
	}
	return d, s.withLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		for _, e := range idx.Manifests {
			if e.Digest == d.String() {
				return nil
			}
		}
		var ann map[string]string
		if name != "" {
			ann = map[string]string{AnnotationTitle: name}
		}
		idx.Manifests = append(idx.Manifests, indexEntry{descriptor: descriptor{
			MediaType: MediaTypeManifest, ArtifactType: MediaTypeTree, Digest: d.String(), Size: n, Annotations: ann,
		}})
		return s.writeIndex(idx)
	})
}

// indexTrees reads the trees index.json lists (those whose manifest
// blob is present and parses), by digest.
func (s *Layout) indexTrees(ctx context.Context, idx *index) map[digest.Digest]*Tree {
	trees := map[digest.Digest]*Tree{}
	for _, m := range idx.Manifests {
		if m.ArtifactType != MediaTypeTree {
			continue
		}
		d, err := digest.Parse(m.Digest)
		if err != nil {
			continue
		}
		if b, err := s.ReadAll(ctx, d); err == nil {
			if t, err := ParseTree(b); err == nil {
				trees[d] = t
			}
		}
	}
	return trees
}
