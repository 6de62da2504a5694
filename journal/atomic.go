package journal

import (
	"os"
	"path/filepath"
)

// WriteAtomic writes b to path atomically: a temporary file in path's
// directory, fsynced, renamed over path (mode 0644 whatever the umask), and
// the directory synced. Readers see the old file or the new one, never a
// part; on error no temporary file is left.
func WriteAtomic(path string, b []byte) error {
	return WriteAtomicVia(filepath.Dir(path), path, b)
}

// WriteAtomicVia is WriteAtomic with the temporary file made in tmpDir,
// which must be on path's file system (a store keeps its temporary files
// out of its root).
func WriteAtomicVia(tmpDir, path string, b []byte) error {
	tmp, err := os.CreateTemp(tmpDir, "write-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	return err
}

// SyncDir fsyncs the directory dir, so that the names created, renamed or
// removed in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
