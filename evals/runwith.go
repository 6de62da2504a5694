package evals

import (
	"context"
	"time"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/store"
)

// RunItems runs items of a suite on a system: the caller starts the
// session of target (Run on it) with the options given.
type RunItems func(target launch.Target, ro RunOptions) ([]Row, error)

// RunJournaled runs the items of su that journal j has no answer for
// (resuming past the answers it has, appending each new one) on target
// with run,
// then stores the run (Finish, at level conf, dated now) and removes the
// journal. A run that fails keeps the journal (RunJournal.Interrupted).
func (m *RunManifest) RunJournaled(ctx context.Context, w store.Writer, su *Suite, target launch.Target, j *RunJournal, conf float64, now time.Time, run RunItems) (RunResult, error) {
	ro := m.Options()
	ro.Resume, ro.Journal = j.Resume(), j
	rows, err := run(target, ro)
	if err != nil {
		return RunResult{}, j.Interrupted(err, rows)
	}
	m.Ran = len(su.Items)
	d, err := m.Finish(ctx, w, su, rows, conf, now)
	if err != nil {
		return RunResult{}, err
	}
	j.Remove()
	return m.Result(d), nil
}

// Run brings the old run onto the new suite: it runs the items missing
// from it with run (on the old run's system, seed and epochs), then stores
// the new run (Finish, at level conf, dated now).
func (rb *Rebase) Run(ctx context.Context, w store.Writer, conf float64, now time.Time, run RunItems) (RunResult, error) {
	var ran []Row
	if len(rb.Missing) > 0 {
		ro := rb.Manifest.Options()
		ro.Only = rb.Missing
		var err error
		if ran, err = run(rb.Manifest.Target(), ro); err != nil {
			return RunResult{}, err
		}
	}
	d, err := rb.Finish(ctx, w, ran, conf, now)
	if err != nil {
		return RunResult{}, err
	}
	return rb.Manifest.Result(d), nil
}

// RescoreAll brings each stored run named in runs (ResolveRun: a digest or
// a prefix) onto su (RebaseRun, then Rebase.Run with run), in order, and
// returns the new runs' results.
func RescoreAll(ctx context.Context, st interface {
	Lister
	store.Writer
}, su *Suite, runs []string, conf float64, now time.Time, run RunItems) (RunResults, error) {
	var results RunResults
	for _, r := range runs {
		old, err := ResolveRun(ctx, st, r)
		if err != nil {
			return nil, err
		}
		res, err := RebaseRun(su, old).Run(ctx, st, conf, now, run)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}
