package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type doc struct {
	Schema string `json:"schema"`
	N      int    `json:"n"`
}

// TestReadJSON: a document written by WriteJSON reads back; a missing file
// gives os.ErrNotExist as it is; one that does not decode, or names
// another schema, wraps the reader's condition and names the file.
func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	bad := errors.New("bad doc")
	path := filepath.Join(dir, "d.json")
	var d doc
	if err := ReadJSON(path, "v1", &d, bad); !errors.Is(err, os.ErrNotExist) || errors.Is(err, bad) {
		t.Fatalf("missing: %v", err)
	}
	if err := WriteJSON(path, doc{Schema: "v1", N: 3}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, path); got != "{\n  \"schema\": \"v1\",\n  \"n\": 3\n}\n" {
		t.Fatalf("written %q", got)
	}
	if err := ReadJSON(path, "v1", &d, bad); err != nil || d.N != 3 {
		t.Fatalf("read %+v, %v", d, err)
	}
	var se *SchemaError
	err := ReadJSON(path, "v2", &d, bad)
	if !errors.Is(err, bad) || !errors.As(err, &se) || err.Error() != `bad doc: `+path+`: schema "v1", this reprise writes "v2"` {
		t.Fatalf("other schema: %v", err)
	}
	os.WriteFile(path, []byte(`{"schema": "v1", "n": "x"}`), 0o644)
	if err := ReadJSON(path, "v1", &d, bad); !errors.Is(err, bad) || errors.As(err, &se) || !strings.Contains(err.Error(), path) {
		t.Fatalf("undecodable: %v", err)
	}
}

// TestReadFile: a missing journal has no entries; a journal's entries are
// read as Read reads them.
func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	if es, err := ReadFile[entry](path); es != nil || err != nil {
		t.Fatalf("missing: %v, %v", es, err)
	}
	os.WriteFile(path, []byte("{\"n\":1}\n{\"n\":2}\n{\"n\":"), 0o644)
	if es, err := ReadFile[entry](path); err != nil || len(es) != 2 || es[1].N != 2 {
		t.Fatalf("read %v, %v", es, err)
	}
}

// TestWriteFiles: the folder is made and every file written; an error
// names the file.
func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "sub")
	if err := WriteFiles(dir, File{"a", []byte("1")}, File{"b", []byte("2")}); err != nil {
		t.Fatal(err)
	}
	if readAll(t, filepath.Join(dir, "a")) != "1" || readAll(t, filepath.Join(dir, "b")) != "2" {
		t.Fatal("files not written")
	}
	os.MkdirAll(filepath.Join(dir, "c", "inside"), 0o755)
	if err := WriteFiles(dir, File{"c", []byte("3")}); err == nil || !strings.HasPrefix(err.Error(), "c: ") {
		t.Fatalf("over a folder: %v", err)
	}
}

// TestLockDir: a folder locked twice gives the caller's conditions and
// names the holder and the folder; released, it locks again.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	out, locked := errors.New("out"), errors.New("locked")
	unlock, err := LockDir(dir, ".lock", "another thing", out, locked)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir, ".lock", "another thing", out, locked)
	if !errors.Is(err, out) || !errors.Is(err, locked) || !strings.HasPrefix(err.Error(), "out: locked: another thing, PID ") ||
		!strings.HasSuffix(err.Error(), ", is writing into "+dir) {
		t.Fatalf("second LockDir: %v", err)
	}
	unlock()
	unlock, err = LockDir(dir, ".lock", "another thing", out, locked)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	unlock()
	if _, err := LockDir(filepath.Join(dir, "absent"), ".lock", "x", out, locked); !errors.Is(err, out) || errors.Is(err, locked) ||
		!strings.HasPrefix(err.Error(), "out: lock ") {
		t.Fatalf("missing folder: %v", err)
	}
}
