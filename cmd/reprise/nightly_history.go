package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/replay/nightly"
)

// nightlyHistoryOptions are the flags of `nightly history`.
type nightlyHistoryOptions struct {
	Alpha  float64
	Output outputFormat
}

func newNightlyHistoryCmd(s *streams) *cobra.Command {
	o := &nightlyHistoryOptions{}
	cmd := newCommand("history DIR...", "Show the reproducibility rate and substitution share per system across nights",
		help("nightly-history"), cobra.MinimumNArgs(1),
		func(_ context.Context, args []string) error { return runNightlyHistory(s, o, args) })
	cmd.Flags().Float64Var(&o.Alpha, "alpha", nightly.DefaultHistoryAlpha, "family-wise level of the tests of tonight against the previous nights")
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

// runNightlyHistory reads the nights, prints their history and returns
// its exit code.
func runNightlyHistory(s *streams, o *nightlyHistoryOptions, dirs []string) error {
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return usageErrorf("--alpha must be in (0, 1), got %g", o.Alpha)
	}
	h, err := nightly.ReadHistory(dirs, o.Alpha)
	if err != nil {
		return err
	}
	if err := writeResult(s.Out, o.Output, h, h.Text); err != nil {
		return err
	}
	if h.Changed {
		return &silentError{exitDiverged}
	}
	return nil
}
