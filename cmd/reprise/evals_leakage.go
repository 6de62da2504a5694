package main

import (
	"context"
	"fmt"
	"io"

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
	cmd := &cobra.Command{
		Use:   "leakage --suite SUITE --train DATASET [--threshold T]",
		Short: "Test whether a suite leaked into training data (13-gram overlap, exact duplicates)",
		Long: `Stream the training dataset (a digest from 'reprise data pack') and report, per
item, the share of its 13-grams found in it (as the GPT-3 paper and
lm-evaluation-harness decontamination do) and whether its whole text is a
document of the training data after normalization (exact duplicate). An item's
text is the scalar values of its input and reference; normalization lower-cases,
removes ASCII punctuation and splits on whitespace; an item shorter than 13
tokens is one n-gram of its own length. Exit 1 when any item's share exceeds
--threshold (default 0: any overlap) or it is an exact duplicate.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsLeakage(c.Context(), g, s, o)
		},
	}
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
	su, err := resolveSuite(ctx, readOnly{st}, o.Suite)
	if err != nil {
		return err
	}
	ds, err := evals.LoadDataset(ctx, st, td)
	if err != nil {
		return err
	}
	rep, err := evals.Leakage(ctx, su, o.Threshold, evals.ScanDataset(ctx, st, ds))
	if err != nil {
		return err
	}
	rep.Dataset = td
	if err := writeResult(s.Out, o.Output, rep, func(w io.Writer) error {
		fmt.Fprintf(w, "suite %s %s (%s), %d items; dataset %s: %d documents, %d bytes\n",
			su.Spec.Name, su.Spec.Version, su.Digest, len(su.Items), td, rep.Documents, rep.Bytes)
		for _, it := range rep.Items {
			if it.Found > 0 || it.Duplicate {
				dup := ""
				if it.Duplicate {
					dup = "  exact duplicate"
				}
				fmt.Fprintf(w, "  %s  %d of %d n-grams found (%.2f)%s\n", it.Item, it.Found, it.NGrams, it.Share, dup)
			}
		}
		fmt.Fprintf(w, "flagged (share > %g or duplicate): %d\n", o.Threshold, len(rep.Flagged))
		return nil
	}); err != nil {
		return err
	}
	if len(rep.Flagged) > 0 {
		return &silentError{code: exitDiverged}
	}
	return nil
}
