package fsread

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenRefuses: only a regular file opens; every other kind is refused
// at once with what it is, and a missing file wraps fs.ErrNotExist.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []struct {
		path, want string
	}{
		{fifo, "is a named pipe, not a regular file"},
		{"/dev/zero", "is a character device, not a regular file"},
		{dir, "is a directory, not a regular file"},
		{link, "is a symbolic link (not followed), not a regular file"},
		{sock, "no such device or address"}, // open(2) of a socket: ENXIO
	} {
		start := time.Now()
		f, _, err := Open(c.path)
		if err == nil {
			f.Close()
			t.Errorf("%s: opened", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.path+": "+c.want) {
			t.Errorf("%s: err = %q, want %q", c.path, err, c.want)
		}
		if c.path != sock && !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: err = %v, want ErrNotRegular", c.path, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", c.path, d)
		}
	}
	if _, _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	f, size, err := Open(file)
	if err != nil || size != 5 {
		t.Fatalf("regular file: %v, size %d", err, size)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" {
		t.Errorf("read %q", b)
	}
}

// TestReadFileLimit: a file over its limit is a *TooLargeError naming the
// path, the limit and the flag; at the limit it reads whole.
func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.jsonl")
	data := bytes.Repeat([]byte("x"), 200<<10)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(context.Background(), path, int64(len(data)), "--max")
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("at the limit: %v, %d bytes", err, len(b))
	}
	_, err = ReadFile(context.Background(), path, int64(len(data))-1, "--max")
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || err.Error() != path+": file too large: over the limit of 204799 bytes (--max raises it)" {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadFile(context.Background(), "/dev/zero", 10, ""); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/zero: %v", err)
	}
}

// TestReaderStops: a done context stops Reader and ReaderAt before the
// next read, and ReadFile with context.Canceled.
func TestReaderStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, bytes.NewReader(make([]byte, 1<<20)))
	p := make([]byte, 1<<20)
	if n, err := r.Read(p); err != nil || n != chunk {
		t.Fatalf("first read: %d %v, want %d bytes", n, err, chunk)
	}
	cancel()
	if _, err := r.Read(p); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
	if _, err := ReaderAt(ctx, bytes.NewReader(p)).ReadAt(p[:1], 0); !errors.Is(err, context.Canceled) {
		t.Errorf("ReaderAt after cancel: %v", err)
	}
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, p, 0o644)
	if _, err := ReadFile(ctx, path, 0, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFile after cancel: %v", err)
	}
}
