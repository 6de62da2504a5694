package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/reprise-dev/reprise/digest"
)

// Tree media types and annotations (see the package documentation).
const (
	// MediaTypeTree is the artifactType of a tree manifest.
	MediaTypeTree = "application/vnd.reprise.tree.v1+json"
	// MediaTypeTreeFile is the media type of every layer (file) of a tree.
	MediaTypeTreeFile = "application/octet-stream"
	// AnnotationMode holds a tree file's mode: "0444", or "0555" for a
	// file that had any execute bit.
	AnnotationMode = "dev.reprise.mode"
)

// Limits of a tree.
const (
	// MaxTreeFiles is the most files a tree holds.
	MaxTreeFiles = 65536
	// MaxTreeManifest is the largest tree manifest, in bytes (16 MiB). A
	// blob larger than this is never read as a tree.
	MaxTreeManifest = 16 << 20
)

// ErrTreeInput is wrapped by PutTree's errors about the directory given:
// an entry that is not a regular file or a directory (a symbolic link, a
// named pipe, a device, a socket), a path that is not valid UTF-8 or holds
// a control character, no file at all, more than MaxTreeFiles files. Each
// such error names the path.
var ErrTreeInput = errors.New("cannot store directory as a tree")

// treePrefix starts every tree manifest (the canonical encoding), so a blob
// is sniffed as a tree from its first bytes.
const treePrefix = `{"schemaVersion":2,"mediaType":"` + MediaTypeManifest + `","artifactType":"` + MediaTypeTree + `",`

// TreeFile is one file of a tree.
type TreeFile struct {
	// Path is slash-separated and relative to the tree's root
	// ("shards/model-00001.safetensors").
	Path   string
	Digest digest.Digest
	Size   int64 // bytes
	// Mode is 0o444, or 0o555 for an executable file.
	Mode fs.FileMode
}

// Tree is a directory stored as an OCI artifact manifest: its files, sorted
// by path (bytewise).
type Tree struct {
	Files []TreeFile
}

// Size is the sum of the files' sizes, in bytes.
func (t *Tree) Size() int64 {
	var n int64
	for _, f := range t.Files {
		n += f.Size
	}
	return n
}

// Encode returns the tree's canonical manifest, whose sha256 is the tree's
// digest (the package documentation spells the bytes out).
func (t *Tree) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(treePrefix)
	fmt.Fprintf(&b, `"config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[`,
		MediaTypeEmpty, digest.FromBytes([]byte(emptyJSON)), len(emptyJSON))
	for i, f := range t.Files {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"mediaType":"%s","digest":"%s","size":%d,"annotations":{"%s":"%04o","%s":%s}}`,
			MediaTypeTreeFile, f.Digest, f.Size, AnnotationMode, f.Mode.Perm(), AnnotationTitle, jsonString(f.Path))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// jsonString quotes s as the canonical encoding does: '"' and '\' escaped
// with a backslash, U+2028 and U+2029 as \u2028 and \u2029, every other
// character as itself (paths hold no control characters).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\u2028', '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Digest is the tree's digest: the sha256 of Encode().
func (t *Tree) Digest() digest.Digest { return digest.FromBytes(t.Encode()) }

// IsTreeManifest reports whether b starts as a tree manifest does.
func IsTreeManifest(b []byte) bool { return bytes.HasPrefix(b, []byte(treePrefix)) }

// ParseTree decodes a tree manifest. It accepts only the canonical
// encoding (re-encoding gives b back) of a valid tree: paths valid
// (fs.ValidPath: relative, slash-separated, no "." or ".." element), valid
// UTF-8 without control characters, unique, none a directory of another,
// modes 0444 or 0555. Any other manifest is an error wrapping ErrCorrupt.
func ParseTree(b []byte) (*Tree, error) {
	var m struct {
		Layers []descriptor `json:"layers"`
	}
	if !IsTreeManifest(b) {
		return nil, fmt.Errorf("%w: not a tree manifest", ErrCorrupt)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: tree manifest: %v", ErrCorrupt, err)
	}
	t := &Tree{Files: make([]TreeFile, len(m.Layers))}
	for i, l := range m.Layers {
		d, err := digest.Parse(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: tree manifest: layer %d: %v", ErrCorrupt, i, err)
		}
		mode, err := strconv.ParseUint(l.Annotations[AnnotationMode], 8, 32)
		if err != nil || (mode != 0o444 && mode != 0o555) {
			return nil, fmt.Errorf("%w: tree manifest: layer %d: mode %q is not 0444 or 0555", ErrCorrupt, i, l.Annotations[AnnotationMode])
		}
		t.Files[i] = TreeFile{Path: l.Annotations[AnnotationTitle], Digest: d, Size: l.Size, Mode: fs.FileMode(mode)}
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("%w: tree manifest: %v", ErrCorrupt, err)
	}
	if !bytes.Equal(t.Encode(), b) {
		return nil, fmt.Errorf("%w: tree manifest is not in canonical form", ErrCorrupt)
	}
	return t, nil
}

// check validates the paths: valid, sorted, unique, no file inside another.
func (t *Tree) check() error {
	files := make(map[string]bool, len(t.Files))
	for i, f := range t.Files {
		if err := checkTreePath(f.Path); err != nil {
			return err
		}
		if i > 0 && t.Files[i-1].Path >= f.Path {
			return fmt.Errorf("paths not sorted or repeated at %q", f.Path)
		}
		if f.Size < 0 {
			return fmt.Errorf("file %q: negative size", f.Path)
		}
		files[f.Path] = true
	}
	for _, f := range t.Files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if files[dir] {
				return fmt.Errorf("file %q is inside file %q", f.Path, dir)
			}
		}
	}
	return nil
}

// checkTreePath refuses a path that cannot be a tree's: not fs.ValidPath
// (absolute, ".", "..", empty elements: it would escape or be the root),
// not UTF-8, or with a control character.
func checkTreePath(p string) error {
	if !fs.ValidPath(p) || p == "." {
		return fmt.Errorf("path %q escapes the tree's root or is not a relative path", p)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("path %q is not valid UTF-8", p)
	}
	if i := strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return fmt.Errorf("path %q holds a control character", p)
	}
	return nil
}

// treeError names a file of a tree in a read's error; it wraps ErrCorrupt
// (a missing file included: the tree is damaged as a whole).
type treeError struct {
	tree digest.Digest
	path string
	err  error
}

func (e *treeError) Error() string {
	return fmt.Sprintf("tree %s: file %s: %v", e.tree, jsonString(e.path), e.err)
}

func (e *treeError) Unwrap() error { return ErrCorrupt }

// PutTree stores the directory dir as a tree: every regular file as a blob
// (streamed through w.Put, never read whole), then the tree manifest, named
// name (e.g. the directory's base name). It returns the tree's digest.
// Empty directories are not kept. A symbolic link, named pipe, device or
// socket anywhere under dir, a bad path, no file at all or more than
// MaxTreeFiles files is an error wrapping ErrTreeInput that names the path.
// dir itself may be reached through a symbolic link; nothing under it is
// (os.Root: no path escapes dir).
func PutTree(ctx context.Context, w Writer, dir, name string) (digest.Digest, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return digest.Digest{}, fmt.Errorf("%w: %v", ErrTreeInput, err)
	}
	defer root.Close()
	paths, err := treePaths(ctx, root, dir)
	if err != nil {
		return digest.Digest{}, err
	}
	t := &Tree{Files: make([]TreeFile, 0, len(paths))}
	for _, p := range paths {
		f, err := putTreeFile(ctx, w, root, dir, p)
		if err != nil {
			return digest.Digest{}, err
		}
		t.Files = append(t.Files, f)
	}
	b := t.Encode()
	if len(b) > MaxTreeManifest {
		return digest.Digest{}, fmt.Errorf("%w: %s: its manifest would be %d bytes, over %d", ErrTreeInput, dir, len(b), MaxTreeManifest)
	}
	if ix, ok := w.(treeIndexer); ok {
		return ix.putTreeManifest(ctx, b, name)
	}
	return w.PutBytes(ctx, b, Meta{MediaType: MediaTypeTree, Name: name})
}

// treeIndexer is a store that lists a tree manifest itself (Layout).
type treeIndexer interface {
	putTreeManifest(ctx context.Context, b []byte, name string) (digest.Digest, error)
}

// treePaths walks root and returns the slash-separated paths of its
// regular files, sorted bytewise.
func treePaths(ctx context.Context, root *os.Root, dir string) ([]string, error) {
	var paths []string
	err := fs.WalkDir(root.FS(), ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %v", ErrTreeInput, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := checkTreePath(p); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrTreeInput, full, err)
		}
		switch t := de.Type(); {
		case t.IsDir():
			return nil
		case t.IsRegular():
		default:
			return fmt.Errorf("%w: %s is %s: a tree holds regular files and directories only%s", ErrTreeInput, full, kindOf(t), linkHint(t))
		}
		if len(paths) == MaxTreeFiles {
			return fmt.Errorf("%w: %s: more than %d files", ErrTreeInput, dir, MaxTreeFiles)
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: %s holds no regular file", ErrTreeInput, dir)
	}
	slices.Sort(paths)
	return paths, nil
}

// kindOf names a file type that is not a regular file or a directory.
func kindOf(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

func linkHint(t fs.FileMode) string {
	if t&fs.ModeSymlink != 0 {
		return " (links are not followed; copy with cp -rL to resolve them, e.g. a Hugging Face cache snapshot)"
	}
	return ""
}

// putTreeFile stores one file of a tree, streamed. It is opened without
// following a link and without blocking, and checked to be a regular file
// once open (it may have changed since the walk).
func putTreeFile(ctx context.Context, w Writer, root *os.Root, dir, p string) (TreeFile, error) {
	full := filepath.Join(dir, filepath.FromSlash(p))
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return TreeFile{}, fmt.Errorf("%w: %s is a symbolic link: a tree holds regular files and directories only", ErrTreeInput, full)
		}
		return TreeFile{}, fmt.Errorf("%w: %v", ErrTreeInput, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return TreeFile{}, fmt.Errorf("%w: %v", ErrTreeInput, err)
	}
	if !fi.Mode().IsRegular() {
		return TreeFile{}, fmt.Errorf("%w: %s is %s: a tree holds regular files and directories only", ErrTreeInput, full, kindOf(fi.Mode().Type()))
	}
	mode := fs.FileMode(0o444)
	if fi.Mode().Perm()&0o111 != 0 {
		mode = 0o555
	}
	d, n, err := w.Put(ctx, f, Meta{})
	if err != nil {
		return TreeFile{}, fmt.Errorf("store %s: %w", full, err)
	}
	return TreeFile{Path: p, Digest: d, Size: n, Mode: mode}, nil
}

// readTree opens blob d and, when it is a tree manifest, returns the tree;
// otherwise it returns a nil tree and rc, the blob's verifying reader
// (sniffed bytes included), for the caller to read and close.
func readTree(ctx context.Context, o opener, d digest.Digest) (*Tree, io.ReadCloser, int64, error) {
	rc, size, err := o.Open(ctx, d)
	if err != nil {
		return nil, nil, 0, err
	}
	head := make([]byte, len(treePrefix))
	n, err := io.ReadFull(rc, head)
	head = head[:n]
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF || (err == nil && !IsTreeManifest(head)):
		// A short blob (fully read, verified) or one that is not a tree.
		return nil, readCloser{io.MultiReader(bytes.NewReader(head), rc), rc}, size, nil
	case err != nil:
		rc.Close()
		return nil, nil, 0, err
	}
	defer rc.Close()
	if size > MaxTreeManifest {
		return nil, nil, 0, fmt.Errorf("%s: %w: a tree manifest of %d bytes, over %d", d, ErrCorrupt, size, MaxTreeManifest)
	}
	b, err := io.ReadAll(io.LimitReader(rc, MaxTreeManifest))
	if err != nil {
		return nil, nil, 0, err
	}
	if _, err := io.Copy(io.Discard, rc); err != nil { // verify the end
		return nil, nil, 0, err
	}
	t, err := ParseTree(append(head, b...))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", d, err)
	}
	return t, nil, size, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// verifyArtifact implements Reader.Verify: blob d, and when it is a tree,
// every file of it. The size is the blob's, or the sum of a tree's files.
func verifyArtifact(ctx context.Context, o opener, d digest.Digest) (int64, error) {
	t, rc, _, err := readTree(ctx, o, d)
	if err != nil {
		return 0, err
	}
	if t == nil {
		defer rc.Close()
		return io.Copy(io.Discard, rc)
	}
	for _, f := range t.Files {
		n, err := verify(ctx, o, f.Digest)
		if err == nil && n != f.Size {
			err = fmt.Errorf("%w: %d bytes, the manifest says %d", ErrCorrupt, n, f.Size)
		}
		if err != nil {
			return 0, treeFileErr(ctx, d, f.Path, err)
		}
	}
	return t.Size(), nil
}

// treeFileErr wraps a read error of a tree's file (not a ctx error).
func treeFileErr(ctx context.Context, d digest.Digest, p string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return &treeError{tree: d, path: p, err: err}
}

// materialize implements Reader.Materialize.
func materialize(ctx context.Context, o opener, d digest.Digest, dst string) (err error) {
	t, rc, _, err := readTree(ctx, o, d)
	if err != nil {
		return err
	}
	if t == nil {
		defer rc.Close()
		return writeCopy(rc, d, dst)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("copy %s: %w", d, err)
	}
	defer func() {
		if err != nil {
			RemoveCopy(dst)
		}
	}()
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("copy %s: %w", d, err)
	}
	defer root.Close()
	dirs := map[string]bool{}
	for _, f := range t.Files {
		if dir := path.Dir(f.Path); dir != "." && !dirs[dir] {
			if err := root.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("copy %s: %w", d, err)
			}
			for ; dir != "." && !dirs[dir]; dir = path.Dir(dir) {
				dirs[dir] = true
			}
		}
		if err := materializeFile(ctx, o, root, f); err != nil {
			return treeFileErr(ctx, d, f.Path, err)
		}
	}
	// Read-only from the deepest folder up (longer paths first).
	for _, dir := range slices.SortedFunc(maps.Keys(dirs), func(a, b string) int { return len(b) - len(a) }) {
		if err := root.Chmod(dir, 0o555); err != nil {
			return fmt.Errorf("copy %s: %w", d, err)
		}
	}
	if err := os.Chmod(dst, 0o555); err != nil {
		return fmt.Errorf("copy %s: %w", d, err)
	}
	return nil
}

// materializeFile writes one file of a tree, verified while it streams.
func materializeFile(ctx context.Context, o opener, root *os.Root, f TreeFile) error {
	rc, _, err := o.Open(ctx, f.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := root.OpenFile(f.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, rc)
	if err == nil {
		err = out.Chmod(f.Mode)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// RemoveCopy removes a Materialize copy at p, a file or a tree whose
// folders are read-only (0555): it makes them writable first, which a
// user other than root needs to remove what they hold. A missing p is no
// error.
func RemoveCopy(p string) error {
	filepath.WalkDir(p, func(q string, de fs.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
