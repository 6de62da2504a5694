package evals

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/journal"
)

// JournalDirError: the folder of the run journals cannot be made. Err is
// the file system's error.
type JournalDirError struct {
	Dir string
	Err error
}

func (e *JournalDirError) Error() string {
	return fmt.Sprintf("eval journal folder %s: %v", e.Dir, e.Err)
}

// Unwrap returns Err.
func (e *JournalDirError) Unwrap() error { return e.Err }

// JournalError: the journal of a run cannot be used. When another run
// holds it, Err wraps journal.ErrLocked and the message names the holder.
type JournalError struct {
	Path string
	Err  error
}

func (e *JournalError) Error() string {
	if !errors.Is(e.Err, journal.ErrLocked) {
		return fmt.Sprintf("journal %s: %v", e.Path, e.Err)
	}
	who := ""
	if h := journal.Holder(e.Err); h != "" {
		who = ", " + h + ","
	}
	return fmt.Sprintf("journal %s: another evals run of the same suite, system and seed%s is writing it", e.Path, who)
}

// Unwrap returns Err.
func (e *JournalError) Unwrap() error { return e.Err }

// DefaultJournalDir is the folder of the run journals of the store at
// storeDir: evals-journals beside it.
func DefaultJournalDir(storeDir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(storeDir)), "evals-journals")
}

// RunJournal is the journal of one run being made: the rows of an earlier,
// unfinished run with the same suite, system, run seed, epochs and
// parameters, and the journal.Journal new rows are appended to. Its lock
// is held while it is open. It is an io.Writer of encoded rows
// (RunOptions.Journal).
type RunJournal struct {
	*journal.Journal[Row]
	lock   *journal.FileLock
	resume []Row
}

// JournalPath is the journal of run m in dir: evals-run-<16 hex>.jsonl,
// the first 16 hex digits of sha256 over the suite digest, system id, run
// seed, epochs and parameters.
func JournalPath(dir string, m *RunManifest) string {
	params, _ := json.Marshal(m.Params)
	key := digest.FromBytes(fmt.Appendf(nil, "reprise/evals/journal/v1\n%s\n%s\n%d\n%d\n%s", m.Suite, m.System.ID, m.RunSeed, m.Epochs, params))
	return filepath.Join(dir, "evals-run-"+key.Hex()[:16]+".jsonl")
}

// OpenRunJournal opens the journal of run m in dir (JournalPath), making
// dir, and takes its lock (the file beside it with ".lock" added). The rows
// already there are Resume (journal.Open drops a last line cut short by a
// kill, and lines that are not rows). Errors: a *JournalDirError when dir
// cannot be made; a *JournalError otherwise, wrapping journal.ErrLocked
// when another run holds the journal.
func OpenRunJournal(dir string, m *RunManifest) (*RunJournal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &JournalDirError{Dir: dir, Err: err}
	}
	path := JournalPath(dir, m)
	lock, err := journal.Lock(path + ".lock")
	if err != nil {
		return nil, &JournalError{Path: path, Err: err}
	}
	j, rows, err := journal.Open[Row](path)
	if err != nil {
		lock.Release()
		return nil, &JournalError{Path: path, Err: err}
	}
	rj := &RunJournal{Journal: j, lock: lock}
	for _, r := range rows {
		if r.Item != "" {
			rj.resume = append(rj.resume, r)
		}
	}
	return rj, nil
}

// Resume are the rows of the earlier, unfinished run (RunOptions.Resume).
func (j *RunJournal) Resume() []Row { return j.resume }

// Close closes the journal, which stays, and releases its lock. Safe to
// call more than once.
func (j *RunJournal) Close() error {
	err := j.Journal.Close()
	j.lock.Discard()
	return err
}

// Remove deletes the journal of a stored run and its lock file (while it
// still holds the lock), then releases the lock.
func (j *RunJournal) Remove() error {
	err := j.Journal.Remove()
	if rerr := os.Remove(j.lock.Path()); err == nil && rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	j.lock.Discard()
	return err
}

// Interrupted is the error of a run stopped by err after rows were scored:
// with nothing to resume from (no rows, none resumed) the journal is
// removed and err returned; otherwise the journal stays and the error says
// where and how to resume.
func (j *RunJournal) Interrupted(err error, rows []Row) error {
	if len(rows) == 0 && len(j.resume) == 0 {
		j.Remove()
		return err
	}
	return fmt.Errorf("%w (the answers scored so far are kept in %s; run the same command again to resume)", err, j.Path())
}
