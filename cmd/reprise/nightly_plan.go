package main

import (
	"context"

	"github.com/reprise-dev/reprise/replay/nightly"
)

// planNight prints the plan of the night opts describes (nightly
// --dry-run): what it would select, draw and replay, replaying nothing.
func planNight(ctx context.Context, s *streams, f outputFormat, opts nightly.Options) error {
	p, err := nightly.PlanNight(ctx, opts)
	if err != nil {
		return err
	}
	return writeResult(s.Out, f, p, p.Text)
}
