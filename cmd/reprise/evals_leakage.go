package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
)

type evalsLeakageOptions struct {
	Suite     string
	Train     string
	Threshold float64
	Output    outputFormat
}

func newEvalsLeakageCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsLeakageOptions{}
	cmd := newCommand("leakage --suite SUITE --train DATASET [--threshold T]", "Test whether a suite leaked into training data (13-gram overlap, exact duplicates)",
		help("evals-leakage"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEvalsLeakage(ctx, g, s, o) })
	cmd.Flags().StringVar(&o.Suite, "suite", "", "suite digest or folder (required)")
	cmd.Flags().StringVar(&o.Train, "train", "", "training dataset digest (required)")
	cmd.Flags().Float64Var(&o.Threshold, "threshold", 0, "flag an item whose share of 13-grams found exceeds this")
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsLeakage(ctx context.Context, g *globalOptions, s *streams, o *evalsLeakageOptions) error {
	if o.Suite == "" || o.Train == "" {
		return usageErrorf("--suite and --train are required")
	}
	if !(o.Threshold >= 0 && o.Threshold < 1) {
		return usageErrorf("--threshold %g: must be in [0, 1)", o.Threshold)
	}
	td, err := digest.Parse(o.Train)
	if err != nil {
		return usageErrorf("--train: %v", err)
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	su, err := evals.ResolveSuite(ctx, evals.ReadOnly{Reader: st}, o.Suite)
	if err != nil {
		return err
	}
	rep, err := evals.LeakageOf(ctx, st, su, td, o.Threshold)
	if err != nil {
		return err
	}
	if err := writeResult(s.Out, o.Output, rep, rep.WriteText); err != nil {
		return err
	}
	if len(rep.Flagged) > 0 {
		return &silentError{code: exitDiverged}
	}
	return nil
}
