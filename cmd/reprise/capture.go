package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/replay/record"
	"github.com/reprise-dev/reprise/replay/store"
)

// captureOptions are the flags of `record create --capture`.
type captureOptions struct{}

func addCaptureFlags(cmd *cobra.Command, o *recordCreateOptions) {}

func (o *recordCreateOptions) captureEnabled() bool { return false }

func capture(ctx context.Context, g *globalOptions, s *streams, o *recordCreateOptions, st *store.Store, rec *record.Record) error {
	return nil
}
