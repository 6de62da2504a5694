package main

import (
	"context"
	"log/slog"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/runners"
)

// newRunner builds the runner selected by o.
func newRunner(ctx context.Context, o *runnerOptions, log *slog.Logger) (replay.Runner, error) {
	return nil, runners.ErrUnsupported
}

// closeRunner releases a runner's resources (the engine client) if it holds any.
func closeRunner(r replay.Runner) {
	if c, ok := r.(interface{ Close() error }); ok {
		c.Close()
	}
}
