package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
)

// writeTree writes files (path → content) under a new directory; paths
// ending in "*" are made executable (the star is dropped).
func writeTree(t *testing.T, files map[string]string, mode fs.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		m := mode
		if strings.HasSuffix(p, "*") {
			p, m = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, m); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var snapshot = map[string]string{
	"config.json":                          `{"model_type":"tiny"}`,
	"tokenizer.json":                       `{"vocab":["a","b"]}`,
	"shards/model-00001-of-00002.bin":      "first shard",
	"shards/model-00002-of-00002.bin":      "second shard",
	"a-b":                                  "sorts before a/…",
	"a/b":                                  "inside a",
	"bin/run*":                             "#!/bin/true\n",
	"name with \"quote\" and \\ and é.txt": "odd name",
}

// recompute is the package documentation's recipe, written independently
// of Tree.Encode: the canonical manifest of dir's files.
func recompute(t *testing.T, dir string) digest.Digest {
	t.Helper()
	var layers []string
	var paths []string
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err == nil && de.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	// Sorted bytewise (sort.Strings is bytewise).
	for i := range paths {
		for j := i + 1; j < len(paths); j++ {
			if paths[j] < paths[i] {
				paths[i], paths[j] = paths[j], paths[i]
			}
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join(dir, p))
		mode := "0444"
		if fi.Mode()&0o111 != 0 {
			mode = "0555"
		}
		sum := sha256.Sum256(b)
		title := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p)
		layers = append(layers, fmt.Sprintf(`{"mediaType":"application/octet-stream","digest":"sha256:%s","size":%d,"annotations":{"dev.reprise.mode":"%s","org.opencontainers.image.title":"%s"}}`,
			hex.EncodeToString(sum[:]), len(b), mode, title))
	}
	m := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.reprise.tree.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},` +
		`"layers":[` + strings.Join(layers, ",") + `]}`
	return digest.FromBytes([]byte(m))
}

func TestTreeDeterministic(t *testing.T) {
	ctx := context.Background()
	a := writeTree(t, snapshot, 0o644)
	b := writeTree(t, snapshot, 0o600) // other read modes, other mtimes
	os.Chtimes(filepath.Join(b, "config.json"), time.Unix(1, 0), time.Unix(1, 0))
	os.MkdirAll(filepath.Join(b, "empty", "dirs"), 0o755) // not kept
	st, err := Init(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	da, err := PutTree(ctx, st, a, "snap")
	if err != nil {
		t.Fatal(err)
	}
	db, err := PutTree(ctx, NewMem(), b, "other name")
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Fatalf("same files, different digests: %s %s", da, db)
	}
	if want := recompute(t, a); da != want {
		t.Fatalf("digest %s, the documented recipe gives %s", da, want)
	}
	// Any change to content, name or executable bit changes the digest.
	for name, change := range map[string]func(dir string) error{
		"one byte": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "shards/model-00002-of-00002.bin"), []byte("second shard!"), 0o644)
		},
		"rename": func(dir string) error {
			return os.Rename(filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "tokenizer2.json"))
		},
		"exec bit": func(dir string) error { return os.Chmod(filepath.Join(dir, "config.json"), 0o744) },
	} {
		c := writeTree(t, snapshot, 0o644)
		if err := change(c); err != nil {
			t.Fatal(err)
		}
		dc, err := PutTree(ctx, NewMem(), c, "")
		if err != nil {
			t.Fatal(err)
		}
		if dc == da || dc != recompute(t, c) {
			t.Errorf("%s: digest %s (original %s, recipe %s)", name, dc, da, recompute(t, c))
		}
	}
	// The layout lists the tree and names its files.
	entries, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sawTree, sawFile bool
	for _, e := range entries {
		sawTree = sawTree || (e.Digest == da && e.MediaType == MediaTypeTree && e.Name == "snap")
		sawFile = sawFile || strings.HasPrefix(e.Name, "file shards/model-00001-of-00002.bin of tree ")
	}
	if !sawTree || !sawFile {
		t.Fatalf("List does not show the tree and its files: %+v", entries)
	}
}

func TestTreeRefusesSpecialFiles(t *testing.T) {
	cases := map[string]struct {
		make func(dir string) error
		want string
	}{
		"symlink":                          {func(dir string) error { return os.Symlink("config.json", filepath.Join(dir, "sub", "link.json")) }, "is a symbolic link"},
		"dangling symlink out of the root": {func(dir string) error { return os.Symlink("../../etc/passwd", filepath.Join(dir, "sub", "link")) }, "is a symbolic link"},
		"fifo":                             {func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "sub", "fifo"), 0o644) }, "is a named pipe"},
		"socket":                           {func(dir string) error { return listenUnix(t, filepath.Join(dir, "sub", "sock")) }, "is a socket"},
		"control character":                {func(dir string) error { return os.WriteFile(filepath.Join(dir, "sub", "a\nb"), nil, 0o644) }, "control character"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"config.json": "{}", "sub/x": "x"}, 0o644)
			if err := c.make(dir); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st := NewMem()
			_, err := PutTree(ctx, st, dir, "")
			if !errors.Is(err, ErrTreeInput) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Join(dir, "sub")) {
				t.Fatalf("err = %v, want ErrTreeInput %q naming the path", err, c.want)
			}
			// Files walked before the bad entry may be stored; the tree
			// manifest never is.
			l, _ := st.List(ctx)
			for _, e := range l {
				if e.MediaType == MediaTypeTree {
					t.Fatalf("tree stored despite the error: %+v", e)
				}
			}
		})
	}
	if _, err := PutTree(context.Background(), NewMem(), t.TempDir(), ""); !errors.Is(err, ErrTreeInput) || !strings.Contains(err.Error(), "holds no regular file") {
		t.Fatalf("empty directory: %v", err)
	}
}

func listenUnix(t *testing.T, p string) error {
	l, err := net.Listen("unix", p)
	if err == nil {
		t.Cleanup(func() { l.Close() })
	}
	return err
}

// corruptFile flips one byte of blob d in the layout.
func corruptFile(t *testing.T, st *Layout, d digest.Digest) {
	t.Helper()
	p := st.blobPath(d)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
}

func TestTreeVerifyAndMaterialize(t *testing.T) {
	ctx := context.Background()
	src := writeTree(t, snapshot, 0o640)
	st, err := Init(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := PutTree(ctx, st, src, "snap")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.Verify(ctx, d); err != nil || n != int64(treeBytes(snapshot)) {
		t.Fatalf("Verify = %d, %v; want %d bytes", n, err, treeBytes(snapshot))
	}
	dst := filepath.Join(t.TempDir(), "model")
	if err := st.Materialize(ctx, d, dst); err != nil {
		t.Fatal(err)
	}
	for p, c := range snapshot {
		want := fs.FileMode(0o444)
		if strings.HasSuffix(p, "*") {
			p, want = strings.TrimSuffix(p, "*"), 0o555
		}
		full := filepath.Join(dst, filepath.FromSlash(p))
		b, err := os.ReadFile(full)
		fi, _ := os.Lstat(full)
		if err != nil || string(b) != c || fi.Mode() != want {
			t.Errorf("%s: %q, mode %v, %v; want %q, %v", p, b, fi.Mode(), err, c, want)
		}
	}
	for _, dir := range []string{dst, filepath.Join(dst, "shards"), filepath.Join(dst, "a")} {
		if fi, err := os.Lstat(dir); err != nil || fi.Mode() != fs.ModeDir|0o555 {
			t.Errorf("%s: mode %v, %v; want dr-xr-xr-x", dir, fi.Mode(), err)
		}
	}
	if err := RemoveCopy(dst); err != nil {
		t.Fatal(err)
	}

	// One byte changed in one shard: Verify, Materialize and VerifyAll
	// name that file.
	b, _ := st.ReadAll(ctx, d)
	tree, err := ParseTree(b)
	if err != nil {
		t.Fatal(err)
	}
	var shard TreeFile
	for _, f := range tree.Files {
		if f.Path == "shards/model-00002-of-00002.bin" {
			shard = f
		}
	}
	corruptFile(t, st, shard.Digest)
	want := `file "shards/model-00002-of-00002.bin"`
	if _, err := st.Verify(ctx, d); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Verify after one changed byte: %v", err)
	}
	if err := st.Materialize(ctx, d, dst); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Materialize after one changed byte: %v", err)
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed Materialize left %s behind (%v)", dst, err)
	}
	bad, err := st.VerifyAll(ctx)
	if err != nil || len(bad) != 1 || !strings.Contains(bad[0].Problem, "file \"shards/model-00002-of-00002.bin\" of tree "+d.String()) {
		t.Fatalf("VerifyAll = %+v, %v", bad, err)
	}
	// A missing file is corruption of the tree, not a missing tree.
	os.Remove(st.blobPath(shard.Digest))
	if _, err := st.Verify(ctx, d); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Verify with a file missing: %v", err)
	}
	bad, _ = st.VerifyAll(ctx)
	if len(bad) != 1 || !strings.HasPrefix(bad[0].Problem, "missing: file \"shards/model-00002-of-00002.bin\"") {
		t.Fatalf("VerifyAll with a file missing = %+v", bad)
	}
}

func treeBytes(files map[string]string) int {
	n := 0
	for _, c := range files {
		n += len(c)
	}
	return n
}

func TestParseTreeRefusesBadManifests(t *testing.T) {
	ctx := context.Background()
	file := func(p, mode string) TreeFile {
		m := fs.FileMode(0o444)
		if mode == "x" {
			m = 0o555
		}
		return TreeFile{Path: p, Digest: digest.FromBytes([]byte("x")), Size: 1, Mode: m}
	}
	cases := map[string]*Tree{
		"escapes the root": {Files: []TreeFile{file("../etc/passwd", "")}},
		"absolute":         {Files: []TreeFile{file("/etc/passwd", "")}},
		"dot":              {Files: []TreeFile{file("a/./b", "")}},
		"repeated":         {Files: []TreeFile{file("a", ""), file("a", "")}},
		"unsorted":         {Files: []TreeFile{file("b", ""), file("a", "")}},
		"file as a folder": {Files: []TreeFile{file("a", ""), file("a/b", "")}},
	}
	for name, tr := range cases {
		b := tr.Encode()
		if _, err := ParseTree(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ParseTree = %v, want ErrCorrupt", name, err)
		}
		// Put as a blob, such a manifest is refused on every read and
		// writes nothing.
		st := NewMem()
		st.PutBytes(ctx, []byte("x"), Meta{})
		d, _ := st.PutBytes(ctx, b, Meta{})
		dst := filepath.Join(t.TempDir(), "m")
		if err := st.Materialize(ctx, d, dst); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Materialize = %v", name, err)
		}
		if _, err := os.Lstat(dst); err == nil {
			t.Errorf("%s: Materialize wrote %s", name, dst)
		}
		if _, err := os.Lstat(filepath.Join(filepath.Dir(dst), "..", "etc")); err == nil && name == "escapes the root" {
			t.Errorf("%s: wrote outside", name)
		}
	}
	good := (&Tree{Files: []TreeFile{file("a", "")}}).Encode()
	for name, b := range map[string]string{
		"bad mode":      strings.Replace(string(good), `"0444"`, `"0777"`, 1),
		"not canonical": strings.Replace(string(good), `"size":1,`, `"size": 1,`, 1),
	} {
		if _, err := ParseTree([]byte(b)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ParseTree = %v", name, err)
		}
	}
	if tr, err := ParseTree(good); err != nil || len(tr.Files) != 1 {
		t.Fatalf("good manifest: %v", err)
	}
}

// TestPutTreeStreams stores and materializes a tree with a 256 MiB file:
// the bytes allocated stay far below its size, so it is never read whole.
func TestPutTreeStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 256 MiB several times; skipped with -short")
	}
	ctx := context.Background()
	dir := t.TempDir()
	const size = 256 << 20
	f, err := os.Create(filepath.Join(dir, "big.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse: no disk needed
		t.Fatal(err)
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
	st, err := Init(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, err := PutTree(ctx, st, dir, "big")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.Verify(ctx, d); err != nil || n != size+2 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	dst := filepath.Join(t.TempDir(), "m")
	if err := st.Materialize(ctx, d, dst); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("put, verify and materialize of a %d-byte file allocated %d bytes: not streamed", size, alloc)
	}
	if fi, err := os.Stat(filepath.Join(dst, "big.safetensors")); err != nil || fi.Size() != size {
		t.Fatalf("materialized: %v %v", fi, err)
	}
}

// TestTreeDigestPythonRecipe runs the package documentation's Python
// recipe on a directory and compares its digest with PutTree's.
func TestTreeDigestPythonRecipe(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH to run the documented recipe")
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "e.g. in Python:\n//\n")
	code, _, _ := strings.Cut(rest, "//\n// The system id")
	var src strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(code, "\n"), "\n") {
		src.WriteString(strings.TrimPrefix(line, "//\t") + "\n")
	}
	src.WriteString("import sys\nprint(tree_digest(sys.argv[1]))\n")
	files := maps.Clone(snapshot)
	files["line\u2028sep"] = "x"
	dir := writeTree(t, files, 0o644)
	out, err := exec.Command(py, "-c", src.String(), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s\n%s", err, out, src.String())
	}
	d, err := PutTree(context.Background(), NewMem(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != d.String() {
		t.Fatalf("the documented recipe gives %s, PutTree %s", got, d)
	}
}
