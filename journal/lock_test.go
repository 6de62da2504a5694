package journal

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLockContention: a second Lock of a taken lock file fails with
// ErrLocked and names the holder's pid; after Release it succeeds, and
// the lock file stays.
func TestLockContention(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	pid := "PID " + strconv.Itoa(os.Getpid())
	if !strings.Contains(err.Error(), "in use by "+pid+" (") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path and %s", err, pid)
	}
	if h := Holder(err); !strings.HasPrefix(h, pid+" (") {
		t.Errorf("Holder %q", h)
	}
	if held, err := Held(path); err != nil || !held {
		t.Errorf("Held = %v, %v while taken", held, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if held, err := Held(path); err != nil || held {
		t.Errorf("Held = %v, %v after Release", held, err)
	}
	l2, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	l2.Release()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the lock file was removed: %v", err)
	}
}

// TestLockUnsigned: a lock file that does not say who holds it still gives
// ErrLocked, with no holder.
func TestLockUnsigned(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) || Holder(err) != "" || err.Error() != path+": in use" {
		t.Fatalf("Lock: %v (holder %q)", err, Holder(err))
	}
}

// TestLockSymlinkRefused: a symlink at the lock's path is not followed: its
// target is neither created nor written.
func TestLockSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	for _, target := range []string{victim, filepath.Join(dir, "absent")} {
		path := filepath.Join(dir, "link-"+filepath.Base(target))
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if l, err := Lock(path); !errors.Is(err, syscall.ELOOP) {
			l.Release()
			t.Errorf("Lock of a symlink to %s: %v, want ELOOP", target, err)
		}
		if _, err := Held(path); !errors.Is(err, syscall.ELOOP) {
			t.Errorf("Held of a symlink to %s: %v, want ELOOP", target, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}

// TestLockNew: LockNew refuses an existing file, and removes nothing of it.
func TestLockNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lease")
	l, err := LockNew(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := LockNew(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("LockNew of an existing file: %v", err)
	}
	if held, err := Held(path); err != nil || !held {
		t.Fatalf("Held = %v, %v", held, err)
	}
	if _, err := Held(filepath.Join(filepath.Dir(path), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Held of a missing file: %v", err)
	}
}

// TestLockWait: LockWait waits for a Release, and gives up when its
// context is done.
func TestLockWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := LockWait(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockWait while held: %v", err)
	}
	time.AfterFunc(50*time.Millisecond, func() { l.Release() })
	start := time.Now()
	l2, err := LockWait(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 40*time.Millisecond {
		t.Errorf("LockWait returned before the release")
	}
	if h := Holder(holder(path)); !strings.HasPrefix(h, "PID "+strconv.Itoa(os.Getpid())) {
		t.Errorf("the waited lock is not signed: %q", h)
	}
	l2.Release()
	// The waiter that gave up took the lock late and let it go.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l3, err := Lock(path)
		if err == nil {
			l3.Release()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock is still taken: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDiscard: a discarded lock leaves no file; a Lock that opened the
// file before the Discard removed it does not hold a lock on the removed
// file (it takes the new one), so two holders never overlap.
func TestDiscard(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".reprise.lock")
	a, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := os.OpenFile(path, os.O_RDWR, 0) // a later Lock's open, before the Discard
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	if err := a.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock file stays: %v", err)
	}
	if current(stale, path) {
		t.Fatal("the removed file counts as the lock")
	}
	b, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second holder: %v, want ErrLocked", err)
	}
	if err := b.Discard(); err != nil {
		t.Fatal(err)
	}
	// A waiter that had the file open when it was discarded takes the new
	// one.
	c, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *FileLock)
	go func() {
		l, err := LockWait(context.Background(), path)
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	time.Sleep(20 * time.Millisecond)
	c.Discard()
	d := <-done
	if d == nil || !current(d.f, path) {
		t.Fatal("the waiter holds no lock on the file at the path")
	}
	d.Discard()
}
