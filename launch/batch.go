package launch

import (
	"context"

	"github.com/reprise-dev/reprise/runners"
)

// RunBatch implements runners.Batcher: through the runner's session when
// it keeps several runs in flight (runners.Batcher), else one Run at a
// time, with the same contract (answers in request order; it stops at the
// first error, after yielding it, or when yield returns false).
func (s *Session) RunBatch(ctx context.Context, reqs []runners.Request, yield func(i int, resp runners.Response, err error) bool) {
	if b, ok := s.Session.(runners.Batcher); ok {
		b.RunBatch(ctx, reqs, yield)
		return
	}
	for i, req := range reqs {
		resp, err := s.Session.Run(ctx, req)
		if !yield(i, resp, err) || err != nil {
			return
		}
	}
}

var _ runners.Batcher = (*Session)(nil)
