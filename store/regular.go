package store

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// errNotRegular is wrapped (with ErrCorrupt) when a blob's path holds
// something other than a regular file.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading only if it is a regular file, and
// returns it with its size in bytes. It never follows a symlink at path
// (O_NOFOLLOW) and never blocks on a FIFO (O_NONBLOCK, checked with fstat,
// then cleared), so a planted pipe, device or link is refused at once. The
// error wraps fs.ErrNotExist for a missing file and errNotRegular, naming
// what was found, for anything else.
func openRegular(path string) (*os.File, int64, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err == syscall.ELOOP {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, 0, &fs.PathError{Op: "open", Path: path, Err: notRegular("a symlink")}
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
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: notRegular(fileKind(st.Mode))}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, 0, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), st.Size, nil
}

type notRegularError struct{ kind string }

func notRegular(kind string) error { return notRegularError{kind} }

func (e notRegularError) Error() string { return "is " + e.kind + ", " + errNotRegular.Error() }
func (e notRegularError) Unwrap() error { return errNotRegular }

func fileKind(mode uint32) string {
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
	case syscall.S_IFLNK:
		return "a symlink"
	}
	return "not a regular file"
}
