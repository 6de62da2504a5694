// Package journal holds the project's file primitives that must survive a
// kill: the one file lock, the resumable append-only journal, and atomic
// writes. It imports only the standard library; no other package of the
// project calls flock(2).
//
// Lock takes an exclusive flock(2) on a lock file, opened without
// following a symlink, and returns the held FileLock. Its holder writes
// "pid <N> <command line>" into the file, so a process that finds it taken
// gets a *LockedError wrapping ErrLocked that names the holder ("in use by
// PID 123 (reprise replay a.json)"). The kernel releases the lock when its
// holder dies, SIGKILL included; the lock file is kept on Release, and
// removed by Discard while still held (a Lock or LockWait that opened the
// removed file sees it is no longer the file at the path and takes the new
// one, so two holders never overlap). Output folders' locks (a replay's,
// a night's, a comparison's, an eval run's) are discarded; a holder
// killed outright leaves its lock file, which the next holder takes.
// LockWait waits for the lock instead; LockNew creates the lock file
// exclusively (a lease); Held probes a lock without keeping it.
//
// A Journal[T] is a JSON Lines file of T, one entry per line, each append
// written and fsynced before it returns. Create starts a new journal and
// never truncates or follows a symlink (KeepAside moves an old one out of
// the way under a timestamped name); Open resumes one, cutting away a last
// line torn by a kill. A Journal is also an io.Writer of pre-encoded lines.
//
// WriteAtomic replaces a file so that readers see the old bytes or the new
// ones, never a part, and leaves no temporary file behind on error;
// WriteJSON writes a JSON document so, WriteFiles a folder's files.
// ReadJSON reads a JSON document back and checks the schema it names;
// ReadFile reads a journal without opening it for appending; LockDir locks
// an output folder and says who else is writing into it.
package journal
