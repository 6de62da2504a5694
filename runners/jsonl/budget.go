package jsonl

import (
	"context"
	"time"

	"github.com/reprise-dev/reprise/runners"
)

// Explain completes the outcome of run, sent with timeout: err is Do's
// error (nil for an answer), the result what the session reports. A
// lifecycle names its causes here (runners.Budget.Explain, a limit that
// killed the system) and notes the start-up time after run 0.
type Explain func(err error, run int, timeout time.Duration) error

// DoWithin is Do with the run's timeout taken from b when it starts
// (Budget.Next: a passed session deadline is a *runners.RunError) and its
// outcome passed through explain.
func (c *Conn) DoWithin(ctx context.Context, req runners.Request, b runners.Budget, explain Explain) (runners.Response, error) {
	run := c.Runs()
	timeout, err := b.Next(run, time.Now())
	if err != nil {
		return runners.Response{}, &runners.RunError{Run: run, Err: err}
	}
	resp, err := c.Do(ctx, req, timeout)
	return resp, explain(err, run, timeout)
}

// DoAllWithin is DoAll with each run's timeout taken from b when it starts
// (Budget.Next) and each outcome passed through explain, with the timeout
// of the latest run started, before yield sees it.
func (c *Conn) DoAllWithin(ctx context.Context, reqs []runners.Request, window int, b runners.Budget, explain Explain, yield func(i int, resp runners.Response, err error) bool) {
	first := c.Runs()
	var last time.Duration
	c.DoAll(ctx, reqs, window, func(run int) (time.Duration, error) {
		var err error
		last, err = b.Next(run, time.Now())
		return last, err
	}, func(i int, resp runners.Response, err error) bool {
		return yield(i, resp, explain(err, first+i, last))
	})
}
