package replay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/verdict"
)

// Source is one record of a batch: a name for messages (its path) and how
// to load it.
type Source struct {
	Name string
	Load func() (*record.Record, error)
}

// Files is the batch of record files at paths.
func Files(paths []string) iter.Seq[Source] {
	return func(yield func(Source) bool) {
		for _, p := range paths {
			if !yield(Source{Name: p, Load: func() (*record.Record, error) { return LoadRecord(p) }}) {
				return
			}
		}
	}
}

// BatchOptions configure Batch.
type BatchOptions struct {
	// Options is the template of every record's replay.
	Options
	// Out is where reports go: "" means out/<request_id>; with Single, Out
	// itself; otherwise Out/<request_id>.
	Out    string
	Single bool
	// NewRunner creates the runner on first need (integrity failures need
	// no engine); it is shared by every record of the batch.
	NewRunner func(ctx context.Context) (Runner, error)
	// Share lends one session per system to all of its records (a
	// launch.Pool that shares) instead of starting one per record.
	Share bool
	// Progress, when set, returns the progress callback of one record.
	Progress func(requestID string) func(done, total int)
}

// Outcome is one record's result in a batch.
type Outcome struct {
	Source    string          `json:"record"`
	RequestID string          `json:"request_id,omitempty"`
	Verdict   verdict.Verdict `json:"verdict"`
	Basis     string          `json:"basis,omitempty"`
	// Reports is the folder holding report.json, report.md and runs.parquet;
	// "" when nothing was written (e.g. an integrity failure).
	Reports string `json:"reports,omitempty"`
	// Notes are things the user must know that are not the verdict (e.g. a
	// journal of a killed replay that was kept under another name).
	Notes []string `json:"notes,omitempty"`
	Err   error    `json:"-"`
}

// ReportsDir is the folder of one record's reports under the batch policy.
func (o *BatchOptions) ReportsDir(requestID string) string {
	switch {
	case o.Out == "":
		return filepath.Join("out", requestID)
	case o.Single:
		return o.Out
	}
	return filepath.Join(o.Out, requestID)
}

// JournalName is the file, in a record's reports folder, that receives each
// run as it completes; it is replaced by runs.parquet when the replay ends
// in any way but a kill.
const JournalName = "runs.journal.jsonl"

// LockName is the lock file in a reports folder: a replay holds an
// exclusive flock on it from before its journal is opened until its reports
// are written, so two replays never write into one folder.
const LockName = ".reprise.lock"

// ErrLocked: another replay is writing into the reports folder. It wraps
// journal.ErrLocked.
var ErrLocked = fmt.Errorf("reports folder %w", journal.ErrLocked)

// ErrReportsDir: a record's reports folder cannot be created or locked.
var ErrReportsDir = errors.New("reports folder cannot be used")

// ErrDuplicateRequest: a request id seen before in the batch.
var ErrDuplicateRequest = errors.New("duplicate request id")

// lockDir takes the folder's lock without waiting; the returned function
// releases it. The lock file is kept (removing it would race with a
// replay that just opened it).
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, LockName)
	l, err := journal.Lock(path)
	if errors.Is(err, journal.ErrLocked) {
		who := "another replay"
		if h := journal.Holder(err); h != "" {
			who += ", " + h + ","
		}
		return nil, inputf(ErrLocked, "%w: %s is writing into %s (it holds %s); use another --output", ErrLocked, who, dir, path)
	}
	if err != nil {
		return nil, inputf(ErrReportsDir, "lock %s: %v", path, err)
	}
	return func() { l.Discard() }, nil
}

// createJournal creates the folder's journal, never following a symlink
// and never truncating: a journal already there (a killed replay's runs,
// or anything planted at that name) is kept, renamed to
// runs.journal.<time>.jsonl, and the note says so.
func createJournal(dir string, now time.Time) (j *journal.Journal[RunRow], note string, err error) {
	path := filepath.Join(dir, JournalName)
	j, err = journal.Create[RunRow](path)
	if errors.Is(err, fs.ErrExist) {
		kept, rerr := journal.KeepAside(path, now)
		if rerr != nil {
			return nil, "", fmt.Errorf("journal: %s exists and cannot be kept aside: %v", path, rerr)
		}
		note = fmt.Sprintf("a journal of an earlier replay that did not finish was found in %s and kept as %s", dir, kept)
		j, err = journal.Create[RunRow](path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("journal: %w", err)
	}
	return j, note, nil
}

// Batch replays each record of sources in turn, on sessions acquired from
// one pool (one session per record, or, with Share, one per system lent to
// each of its records), writing each record's reports (and its journal
// while it runs) under the batch's policy, and calls yield with each
// outcome. It stops after an interruption (ctx cancelled) or when yield
// returns false. Errors are per record, in Outcome.Err; a record that fails
// before any run because it is invalid or fails its integrity checks
// writes no reports, while one whose system never started (the engine,
// the image, a server never ready within the start timeout, a container
// that exited) writes report.json and report.md with the error and an
// empty runs.parquet. Each reports
// folder is locked while its record replays (a second replay into it fails
// with ErrLocked), and a request id seen before in the batch is refused
// (its reports would overwrite the first's), naming the first record.
func Batch(ctx context.Context, st Blobs, sources iter.Seq[Source], opts BatchOptions, yield func(Outcome) bool) {
	pool := launch.NewPool(st, launch.PoolOptions{NewRunner: opts.NewRunner, Share: opts.Share})
	defer pool.Close(ctx)
	b := &batch{st: st, opts: opts, pool: pool, seen: map[string]string{}, now: opts.Now}
	if b.now == nil {
		b.now = time.Now
	}
	for src := range sources {
		out := Outcome{Source: src.Name}
		out.Err = b.one(ctx, src, &out)
		if out.Err != nil {
			out.Verdict = verdict.Failed
		}
		if !yield(out) || ctx.Err() != nil {
			return
		}
	}
}

// batch is the state of one Batch: the pool and the request ids seen.
type batch struct {
	st   Blobs
	opts BatchOptions
	pool *launch.Pool
	seen map[string]string // request id -> the record that had it first
	now  func() time.Time
}

// one replays one record of the batch into its reports folder.
func (b *batch) one(ctx context.Context, src Source, out *Outcome) error {
	rec, err := src.Load()
	if err != nil {
		return err
	}
	out.RequestID = rec.RequestID
	if first, dup := b.seen[rec.RequestID]; dup {
		return fmt.Errorf("%w: request id %s is already in this batch (%s, reports in %s); not replayed, the first one's reports are kept",
			ErrDuplicateRequest, rec.RequestID, first, b.opts.ReportsDir(rec.RequestID))
	}
	b.seen[rec.RequestID] = src.Name
	ro := b.opts.Options
	ro.defaults()
	p, err := Prepare(ctx, b.st, rec, ro)
	if err != nil {
		return err
	}
	if b.opts.Progress != nil {
		ro.Progress = b.opts.Progress(rec.RequestID)
	}
	dir := b.opts.ReportsDir(rec.RequestID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return inputf(ErrReportsDir, "reports folder: %v", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	journalPath := filepath.Join(dir, JournalName)
	jf, note, err := createJournal(dir, b.now())
	if err != nil {
		return err
	}
	if note != "" {
		out.Notes = append(out.Notes, note)
		ro.Notes = append(slices.Clone(ro.Notes), note)
	}
	ro.Journal = jf
	res, rerr := b.run(ctx, p, ro)
	jf.Close()
	if res != nil && (rerr == nil || len(res.Runs) > 0 || !errors.Is(rerr, ErrIntegrity)) {
		if werr := res.WriteFiles(dir); werr != nil {
			return fmt.Errorf("write reports: %w (the runs are in %s)", werr, journalPath)
		}
		out.Reports = dir
	}
	os.Remove(journalPath)
	if rerr != nil {
		return rerr
	}
	out.Verdict, out.Basis = res.Report.Verdict, res.Report.Basis
	return nil
}

// run runs a prepared record on a session of the pool and decides it; a
// failed run's session is discarded (it may be dead or out of step).
func (b *batch) run(ctx context.Context, p *Prepared, ro Options) (*Result, error) {
	t0 := ro.Now()
	sess, err := b.pool.Acquire(ctx, p.Target(), p.Launch)
	if err != nil {
		return p.Fail(SessionError(err), ro)
	}
	p.SessionMS = ms(ro.Now().Sub(t0))
	res, err := Run(ctx, sess, p, ro)
	if err == nil {
		err = Decide(res, ro)
	}
	b.pool.Release(ctx, sess, err != nil)
	return res, err
}
