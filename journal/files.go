package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// JSON is v as the project's JSON files hold it: indented by two spaces,
// with a final newline.
func JSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteJSON writes v as JSON (see JSON) to path, atomically (WriteAtomic).
func WriteJSON(path string, v any) error {
	b, err := JSON(v)
	if err != nil {
		return err
	}
	return WriteAtomic(path, b)
}

// File is one file of WriteFiles: its name in the folder and its bytes.
type File struct {
	Name string
	Data []byte
}

// WriteFiles creates dir (mode 0755, with its parents) and writes each file
// into it atomically (WriteAtomic), in order; it stops at the first error,
// which names the file.
func WriteFiles(dir string, files ...File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := WriteAtomic(filepath.Join(dir, f.Name), f.Data); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

// SchemaError is ReadJSON's error for a document that names another schema
// than the reader's. It wraps the reader's condition (ReadJSON's bad).
type SchemaError struct {
	Path      string
	Schema    string // what the document names
	Want      string // what the reader reads
	Condition error
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%v: %s: schema %q, this reprise writes %q", e.Condition, e.Path, e.Schema, e.Want)
}

func (e *SchemaError) Unwrap() error { return e.Condition }

// ReadJSON reads the JSON document at path into v and checks that its
// "schema" field is schema. A file that cannot be read gives its error as
// it is (one wrapping os.ErrNotExist when it is missing). A document that
// does not decode gives an error wrapping bad that names path; one that
// names another schema a *SchemaError wrapping bad.
func ReadJSON(path, schema string, v any, bad error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %v", bad, path, err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Schema != schema {
		return &SchemaError{Path: path, Schema: head.Schema, Want: schema, Condition: bad}
	}
	return nil
}

// ReadFile returns the entries of the journal at path as Read does; a
// missing file is a journal with no entries.
func ReadFile[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read[T](f)
}

// LockDir takes the lock file name in dir without waiting (Lock) and
// returns the function that releases it. Its errors wrap out, the
// caller's condition of an output folder that cannot be used: when another
// process holds the lock, the error wraps locked too (which wraps
// ErrLocked) and says "<what>, <holder>, is writing into <dir>" (the
// holder when the lock file names one: "another night, PID 12 (reprise
// nightly …), is writing into out"); any other says "lock <path>: <error>".
func LockDir(dir, name, what string, out, locked error) (func(), error) {
	path := filepath.Join(dir, name)
	l, err := Lock(path)
	if errors.Is(err, ErrLocked) {
		if h := Holder(err); h != "" {
			what += ", " + h + ","
		}
		return nil, fmt.Errorf("%w: %w: %s is writing into %s", out, locked, what, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: lock %s: %v", out, path, err)
	}
	return func() { l.Discard() }, nil
}
