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
		`Read the output folders of finished nights (their report.json; at least two),
order them by their latest decision, and show per system, night by night, the
reproducibility rate with its 95% interval, the fleet test's share of decisions
not explained by the pinned system, and what the server said of itself
(system_fingerprint, served model). Tonight (the last night) is tested against
the previous nights pooled: Fisher's exact test on the reproduced counts and on
the counts of fleet p-values below 0.5, at --alpha family-wise (Bonferroni over
the tests). A change of fingerprint or served model between two nights in which
a system was replayed is flagged.

Exit 1 when tonight differs or the server changed; 2 when a folder is not a
night's (no report.json) or fewer than two are given; 0 otherwise.`, cobra.MinimumNArgs(1),
		func(_ context.Context, args []string) error { return runNightlyHistory(s, o, args) })
	cmd.Flags().Float64Var(&o.Alpha, "alpha", nightly.DefaultHistoryAlpha, "family-wise level of the tests of tonight against the previous nights")
	addOutputFlag(cmd, &o.Output, outputText)
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
