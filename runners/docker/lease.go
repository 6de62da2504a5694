package docker

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reprise-dev/reprise/journal"
)

// Leases say which containers are still owned. A reprise process writes the
// lease of a container before creating it, a file
// os.TempDir()/reprise-leases/<container name>, holds an exclusive flock(2)
// on it (journal.LockNew, which writes the owner's pid into it) and renews
// it (touches its mtime) every LeaseRenew while the session is open; Close
// removes it. A container is orphaned when its lease is
// missing, when its lock is free (the kernel releases it when the owner dies,
// SIGKILL included, so a clean right after a kill finds it), or when it has
// not been renewed for LeaseTTL (an owner that is stopped or hung).
//
// Unlike a pid and a hostname, a lease cannot be mistaken for another
// process's (a reused pid, a process in another PID namespace): only its
// owner holds its lock and renews it. The lease directory has a random id
// (reprise-leases/.id), stored on the container as LabelLease
// "<dir id>/<name>"; a container is judged only by a process that sees the
// same lease directory, so a clean run in another container, on another
// host sharing the engine, or with another TMPDIR keeps the containers whose
// leases it cannot see (unless --all).
const (
	LeaseRenew = 5 * time.Second
	LeaseTTL   = 30 * time.Second
	// LabelLease holds "<lease dir id>/<container name>".
	LabelLease = "reprise.lease"
)

// LeaseDir is where leases are kept (os.TempDir()/reprise-leases).
func LeaseDir() string { return filepath.Join(os.TempDir(), "reprise-leases") }

var dirIDOnce struct {
	sync.Mutex
	id, dir string // the id is cached for dir (TMPDIR may change)
}

// leaseDirID returns the id of the lease directory, creating both (the
// directory is shared by every user of the host: mode 1777, like /tmp).
func leaseDirID() (string, error) {
	dirIDOnce.Lock()
	defer dirIDOnce.Unlock()
	dir := LeaseDir()
	if dirIDOnce.id != "" && dirIDOnce.dir == dir {
		if _, err := os.Stat(dir); err == nil {
			return dirIDOnce.id, nil
		}
	}
	dirIDOnce.id, dirIDOnce.dir = "", dir
	if err := os.Mkdir(dir, 0o1777); err == nil {
		os.Chmod(dir, 0o1777) // the umask cut the mode
	} else if !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("lease directory: %w", err)
	}
	idPath := filepath.Join(dir, ".id")
	for range 3 {
		if b, err := os.ReadFile(idPath); err == nil && len(strings.TrimSpace(string(b))) == 32 {
			dirIDOnce.id = strings.TrimSpace(string(b))
			return dirIDOnce.id, nil
		}
		b := make([]byte, 16)
		rand.Read(b)
		f, err := os.OpenFile(idPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			time.Sleep(10 * time.Millisecond) // another process is writing it
			continue
		}
		_, werr := f.WriteString(hex.EncodeToString(b))
		if cerr := f.Close(); werr != nil || cerr != nil {
			return "", fmt.Errorf("lease directory id: %v %v", werr, cerr)
		}
	}
	b, err := os.ReadFile(idPath)
	if err != nil || len(strings.TrimSpace(string(b))) != 32 {
		return "", fmt.Errorf("lease directory id %s unreadable: %v", idPath, err)
	}
	dirIDOnce.id = strings.TrimSpace(string(b))
	return dirIDOnce.id, nil
}

// Lease is a renewed claim on one container.
type Lease struct {
	dirID, name, path string
	lock              *journal.FileLock
	stop              chan struct{}
	done              chan struct{}
	once              sync.Once
}

// newLease writes the lease of the container to be named name and starts
// renewing it.
func newLease(name string) (*Lease, error) {
	id, err := leaseDirID()
	if err != nil {
		return nil, err
	}
	l := &Lease{dirID: id, name: name, path: filepath.Join(LeaseDir(), name), stop: make(chan struct{}), done: make(chan struct{})}
	if l.lock, err = journal.LockNew(l.path); err != nil {
		return nil, fmt.Errorf("lease: %w", err)
	}
	go l.renew()
	return l, nil
}

func (l *Lease) renew() {
	defer close(l.done)
	t := time.NewTicker(LeaseRenew)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			os.Chtimes(l.path, now, now)
		}
	}
}

func (l *Lease) label() string { return l.dirID + "/" + l.name }

// Release stops renewing and removes the lease. Safe to call more than once
// and on nil.
func (l *Lease) Release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		os.Remove(l.path)
		l.lock.Release()
	})
}

// leaseState judges the lease label of a container at now: whether this
// process can see the lease (same lease directory) and, if so, whether it
// is stale (missing, unlocked or older than LeaseTTL).
func leaseState(label string, now time.Time) (visible, stale bool) {
	dirID, name, ok := strings.Cut(label, "/")
	if !ok || name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return false, false
	}
	id, err := leaseDirID()
	if err != nil || id != dirID {
		return false, false
	}
	path := filepath.Join(LeaseDir(), name)
	held, err := journal.Held(path)
	if err != nil {
		return true, errors.Is(err, fs.ErrNotExist)
	}
	if !held {
		return true, true // no owner holds it
	}
	fi, err := os.Stat(path)
	if err != nil {
		return true, false
	}
	return true, now.Sub(fi.ModTime()) > LeaseTTL
}
