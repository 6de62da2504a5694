package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked: the lock is held by another process (or by another open file
// of this one).
var ErrLocked = errors.New("in use")

// LockedError is the error of a lock found taken: it wraps ErrLocked and
// names the holder when the lock file says who it is (PID 0 when it does
// not).
type LockedError struct {
	Path    string
	PID     int
	Command string
}

func (e *LockedError) Error() string {
	if h := e.Holder(); h != "" {
		return e.Path + ": in use by " + h
	}
	return e.Path + ": in use"
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Holder is "PID <N> (<command line>)", or "" when the lock file did not
// name its holder.
func (e *LockedError) Holder() string {
	if e.PID == 0 {
		return ""
	}
	if e.Command == "" {
		return "PID " + strconv.Itoa(e.PID)
	}
	return "PID " + strconv.Itoa(e.PID) + " (" + e.Command + ")"
}

// Holder returns the holder that err (a *LockedError, maybe wrapped) names,
// as LockedError.Holder, or "".
func Holder(err error) string {
	var le *LockedError
	if errors.As(err, &le) {
		return le.Holder()
	}
	return ""
}

// FileLock is a held lock: an open lock file with an exclusive flock(2) on
// it. Release it when done; the kernel releases it if the process dies.
type FileLock struct {
	f    *os.File
	path string
}

const lockFlags = os.O_RDWR | syscall.O_NOFOLLOW | syscall.O_CLOEXEC

// Lock takes the exclusive lock of the lock file at path without waiting,
// creating the file (mode 0644) if it is missing; a symlink at path is
// refused (ELOOP). When another holder has it, the error is a
// *LockedError wrapping ErrLocked.
func Lock(path string) (*FileLock, error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|lockFlags, 0o644)
		if err != nil {
			return nil, err
		}
		l, err := take(f, path)
		if err != nil {
			f.Close()
			return nil, err
		}
		if current(f, path) {
			return l, nil
		}
		f.Close() // a Discard removed the file between open and flock: take the new one
	}
}

// current reports whether f, locked, is still the file at path: a holder
// that Discards its lock removes the file while holding it, so a lock
// taken on the removed file would lock nothing.
func current(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// LockNew is Lock of a lock file that must not exist yet (O_EXCL): an
// existing one gives an error wrapping fs.ErrExist. If the lock cannot be
// taken, the file it created is removed.
func LockNew(path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|lockFlags, 0o644)
	if err != nil {
		return nil, err
	}
	l, err := take(f, path)
	if err != nil {
		f.Close()
		os.Remove(path)
	}
	return l, err
}

// LockWait is Lock, but waits for the lock while another holder has it,
// until ctx is done (then it returns ctx's error and does not take it).
func LockWait(ctx context.Context, path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|lockFlags, 0o644)
	if err != nil {
		return nil, err
	}
	got := make(chan error, 1)
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		go func() { got <- flock(f, syscall.LOCK_EX) }()
	} else {
		got <- err
	}
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !current(f, path) { // removed by a Discard while we waited
			f.Close()
			return LockWait(ctx, path)
		}
		return signed(f, path), nil
	case <-ctx.Done():
		go func() { <-got; f.Close() }() // closing releases a lock taken late
		return nil, ctx.Err()
	}
}

// take flocks f without waiting, and signs the lock file on success.
func take(f *os.File, path string) (*FileLock, error) {
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, holder(path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return signed(f, path), nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// maxCommand bounds the command line written into a lock file (bytes).
const maxCommand = 200

// signed is the lock held on f, after writing "pid <N> <command line>\n"
// into the lock file: a courtesy to whoever finds the lock taken, so a
// failure to write is ignored.
func signed(f *os.File, path string) *FileLock {
	cmd := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.Join(os.Args, " "))
	if len(cmd) > maxCommand {
		cmd = strings.ToValidUTF8(cmd[:maxCommand], "") + "…"
	}
	line := "pid " + strconv.Itoa(os.Getpid()) + " " + cmd + "\n"
	if _, err := f.WriteAt([]byte(line), 0); err == nil {
		f.Truncate(int64(len(line)))
	}
	return &FileLock{f: f, path: path}
}

// holder reads who holds the lock file at path, as a *LockedError.
func holder(path string) error {
	e := &LockedError{Path: path}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return e
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 4<<10))
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	rest, ok := strings.CutPrefix(string(line), "pid ")
	if !ok {
		return e
	}
	pid, cmd, _ := strings.Cut(rest, " ")
	if n, err := strconv.Atoi(pid); err == nil && n > 0 {
		e.PID, e.Command = n, cmd
	}
	return e
}

// Path is the lock file's path.
func (l *FileLock) Path() string { return l.path }

// Discard removes the lock file, while the lock is held (so no other
// holder is locking it: a Lock that opened it before checks it is still
// the file at its path), then releases it: for a lock that should leave
// nothing behind (an output folder's). Safe to call more than once and on
// nil.
func (l *FileLock) Discard() error {
	if l == nil || l.f == nil {
		return nil
	}
	if current(l.f, l.path) {
		os.Remove(l.path)
	}
	return l.Release()
}

// Release releases the lock and closes the lock file, which stays. Safe to
// call more than once and on nil.
func (l *FileLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Held reports whether another holder has the lock of the lock file at
// path, by taking it for an instant when it is free. A missing file is an
// error wrapping fs.ErrNotExist; a symlink is refused.
func Held(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	switch err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		flock(f, syscall.LOCK_UN)
		return false, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, nil
	default:
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
}
