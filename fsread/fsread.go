// Package fsread opens the files reprise reads from user-given paths:
// regular files only (never a FIFO, a device, a directory, a socket or a
// symbolic link at the path), read with a size limit and stopped by a
// context between chunks. Standard library only.
package fsread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped when a path holds something other than a
// regular file (a symbolic link included: it is not followed).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by every *TooLargeError.
var ErrTooLarge = errors.New("file too large")

// TooLargeError is a file over the limit of its kind: Limit bytes, raised
// by Flag (empty when no flag raises it).
type TooLargeError struct {
	Path  string
	Limit int64
	Flag  string
}

func (e *TooLargeError) Error() string {
	s := fmt.Sprintf("%s: %v: over the limit of %d bytes", e.Path, ErrTooLarge, e.Limit)
	if e.Flag != "" {
		s += " (" + e.Flag + " raises it)"
	}
	return s
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Open opens path for reading only if it is a regular file, and returns it
// with its size in bytes. It never follows a symbolic link at path
// (O_NOFOLLOW) and never blocks on a FIFO (O_NONBLOCK, checked with fstat,
// then cleared), so a pipe, a device or a link is refused at once. The
// error is a *fs.PathError wrapping fs.ErrNotExist for a missing file and
// ErrNotRegular, naming what was found, for anything else.
func Open(path string) (*os.File, int64, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err == syscall.ELOOP {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, 0, &fs.PathError{Op: "open", Path: path, Err: notRegular("a symbolic link (not followed)")}
		}
	}
	if err != nil {
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, 0, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: notRegular(kind(st.Mode))}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, 0, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), st.Size, nil
}

// OpenLimit is Open, refusing (a *TooLargeError) a file of more than limit
// bytes; flag names the flag that raises the limit.
func OpenLimit(path string, limit int64, flag string) (*os.File, int64, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, 0, err
	}
	if limit > 0 && size > limit {
		f.Close()
		return nil, 0, &TooLargeError{Path: path, Limit: limit, Flag: flag}
	}
	return f, size, nil
}

// ReadFile reads the regular file at path whole, refusing one of more than
// limit bytes (a *TooLargeError naming flag; a file that grows past the
// limit while read is refused too). It stops with ctx.Err() between
// chunks of 64 KiB.
func ReadFile(ctx context.Context, path string, limit int64, flag string) ([]byte, error) {
	f, size, err := OpenLimit(path, limit, flag)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 0, size+1)
	r := Reader(ctx, f)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if limit > 0 && int64(len(b)) > limit {
			return nil, &TooLargeError{Path: path, Limit: limit, Flag: flag}
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// chunk is the most a Reader reads at once.
const chunk = 64 << 10

// Reader returns a reader of r that returns ctx.Err() once ctx is done,
// checked before each read of at most 64 KiB.
func Reader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > chunk {
		p = p[:chunk]
	}
	return c.r.Read(p)
}

// ReaderAt returns a reader of r that returns ctx.Err() once ctx is done,
// checked before each read.
func ReaderAt(ctx context.Context, r io.ReaderAt) io.ReaderAt { return &ctxReaderAt{ctx, r} }

type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c *ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

type notRegularError struct{ kind string }

func notRegular(kind string) error { return notRegularError{kind} }

func (e notRegularError) Error() string { return "is " + e.kind + ", " + ErrNotRegular.Error() }
func (e notRegularError) Unwrap() error { return ErrNotRegular }

func kind(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return "a named pipe"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFSOCK:
		return "a socket"
	}
	return "not a regular file"
}
