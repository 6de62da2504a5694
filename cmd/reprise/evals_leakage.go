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
		`Stream the training dataset (a digest from 'reprise data pack') and report, per
item, the share of its 13-grams found in it (as the GPT-3 paper and
lm-evaluation-harness decontamination do) and whether its whole text is a
document of the training data after normalization (exact duplicate). An item's
text is the scalar values of its input and reference; normalization lower-cases,
removes ASCII punctuation and splits on whitespace; an item shorter than 13
tokens is one n-gram of its own length. Exit 1 when any item's share exceeds
--threshold (default 0: any overlap) or it is an exact duplicate.`, cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEvalsLeakage(ctx, g, s, o) })
	cmd.Flags().StringVar(&o.Suite, "suite", "", "suite digest or folder (required)")
	cmd.Flags().StringVar(&o.Train, "train", "", "training dataset digest (required)")
	cmd.Flags().Float64Var(&o.Threshold, "threshold", 0, "flag an item whose share of 13-grams found exceeds this")
	addOutputFlag(cmd, &o.Output, outputText)
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
