package replay

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"

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
	Err     error  `json:"-"`
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

// Batch replays each record of sources in turn, one session per record,
// writing each record's reports (and its journal while it runs) under the
// batch's policy, and calls yield with each outcome. It stops after an
// interruption (ctx cancelled) or when yield returns false. Errors are
// per record, in Outcome.Err; a record that fails before any run (invalid,
// integrity) writes no reports.
func Batch(ctx context.Context, st Blobs, sources iter.Seq[Source], opts BatchOptions, yield func(Outcome) bool) {
	var runner Runner
	defer func() {
		if c, ok := runner.(interface{ Close() error }); ok {
			c.Close()
		}
	}()
	for src := range sources {
		out := Outcome{Source: src.Name}
		out.Err = func() error {
			rec, err := src.Load()
			if err != nil {
				return err
			}
			out.RequestID = rec.RequestID
			if probs := Verify(ctx, st, rec); len(probs) > 0 {
				return &IntegrityError{Problems: probs}
			}
			if runner == nil {
				if runner, err = opts.NewRunner(ctx); err != nil {
					runner = nil
					return err
				}
			}
			ro := opts.Options
			if opts.Progress != nil {
				ro.Progress = opts.Progress(rec.RequestID)
			}
			dir := opts.ReportsDir(rec.RequestID)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("%w: reports folder: %v", ErrUsage, err)
			}
			journalPath := filepath.Join(dir, JournalName)
			jf, err := os.OpenFile(journalPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("journal: %w", err)
			}
			ro.Journal = jf
			res, rerr := Replay(ctx, st, rec, runner, ro)
			jf.Close()
			if res != nil && (rerr == nil || len(res.Runs) > 0 || errors.Is(rerr, ErrHardwareMismatch)) {
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
		}()
		if out.Err != nil {
			out.Verdict = verdict.Failed
		}
		if !yield(out) || ctx.Err() != nil {
			return
		}
	}
}
