package evals

import (
	"context"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// WithSession starts a session of target, calls f with it and closes it:
// the caller owns the session's lifecycle.
type WithSession func(target launch.Target, f func(*launch.Session) error) error

// CheckRecord replays the eval suite rec pins on its system, on a session
// with starts (labelled with the suite), paired against the stored run
// (FindBaseline: ErrNoBaseline when there is none), stores the new run and
// returns the check's result. o's system, protocol and hardware class are
// the record's.
func CheckRecord(ctx context.Context, st interface {
	Lister
	store.Writer
}, rec *record.Record, o ReproduceOptions, with WithSession) (CheckResult, error) {
	pinned, err := FindBaseline(ctx, st, rec.EvalSuite, rec.System.ID)
	if err != nil {
		return CheckResult{}, err
	}
	target := launch.FromRecord(rec)
	o.System, o.Protocol, o.HardwareClass = target.System, target.Protocol, target.HardwareClass
	target.Labels = map[string]string{"reprise.evals.suite": pinned.Suite.Digest.String()}
	var r *Reproduction
	err = with(target, func(sess *launch.Session) error {
		r, err = pinned.Reproduce(ctx, sess, st, o)
		return err
	})
	if err != nil {
		return CheckResult{}, err
	}
	return r.CheckResult(rec.RequestID), nil
}
