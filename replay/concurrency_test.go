package replay

import (
	"context"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/verdict"
)

// batchingSystem is fakeSystem behind a session that keeps conc runs in
// flight (runners.Batcher), as an HTTP session with --concurrency does; it
// records the largest batch it was handed.
type batchingSystem struct {
	fakeSystem
	conc, largest int
}

type batchingSession struct {
	*fakeSession
	b *batchingSystem
}

func (b *batchingSystem) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	s, err := b.fakeSystem.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &batchingSession{fakeSession: s.(*fakeSession), b: b}, nil
}

func (s *batchingSession) Info() runners.Info {
	i := s.fakeSession.Info()
	i.Concurrency = s.b.conc
	return i
}

func (s *batchingSession) RunBatch(ctx context.Context, reqs []runners.Request, yield func(int, runners.Response, error) bool) {
	s.b.largest = max(s.b.largest, len(reqs))
	for i, r := range reqs {
		resp, err := s.Run(ctx, r)
		if !yield(i, resp, err) || err != nil {
			return
		}
	}
}

var _ runners.Batcher = (*batchingSession)(nil)

// TestSequentialKeepsConcurrency: a sequential replay hands a session with
// --concurrency C batches of at least C (a multiple of --batch), so C
// requests can really be in flight, and looks only where a batch ends.
func TestSequentialKeepsConcurrency(t *testing.T) {
	for _, c := range []struct{ conc, wantLargest, wantStepMultiple int }{
		{1, 10, 10}, {10, 10, 10}, {32, 40, 40},
	} {
		sys := &batchingSystem{fakeSystem: fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.8, 0.2}, failAt: -1}, conc: c.conc}
		st, rec := newRecord(t, &sys.fakeSystem, 43, "approved", 0.8)
		// No pinned seed: the replay is behavioral, so it runs fresh seeds.
		unseeded(rec)
		res := replayOn(t, st, rec, sys, Options{Sequential: true})
		r := res.Report
		if sys.largest != c.wantLargest || r.Replay.N%c.wantStepMultiple != 0 || r.Verdict == verdict.Diverged {
			t.Fatalf("concurrency %d: largest batch %d (want %d), stopped after %d runs (want a multiple of %d), %s",
				c.conc, sys.largest, c.wantLargest, r.Replay.N, c.wantStepMultiple, r.Verdict)
		}
	}
}
