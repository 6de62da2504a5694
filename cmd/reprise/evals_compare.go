package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/evals"
)

type evalsCompareOptions struct {
	Margin    float64
	Alpha     float64
	Conf      float64
	Resamples int
	Seed      uint64
	Output    outputFormat
}

func newEvalsCompareCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsCompareOptions{}
	cmd := newCommand("compare A B", "Paired comparison of two runs on the same suite",
		help("evals-compare"), cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error {
			return runEvalsCompare(ctx, g, s, o, args[0], args[1])
		})
	f := cmd.Flags()
	f.Float64Var(&o.Margin, "margin", 0, "equivalence margin of the mean score difference (0 = no TOST verdict)")
	f.Float64Var(&o.Alpha, "alpha", 0.05, "level of the TOST")
	f.Float64Var(&o.Conf, "conf", 0.95, "level of the bootstrap interval")
	f.IntVar(&o.Resamples, "resamples", 10000, "bootstrap resamples")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the bootstrap")
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsCompare(ctx context.Context, g *globalOptions, s *streams, o *evalsCompareOptions, a, b string) error {
	if o.Margin < 0 || !(o.Alpha > 0 && o.Alpha < 1) || !(o.Conf > 0 && o.Conf < 1) || o.Resamples < 1 {
		return usageErrorf("--margin must be ≥ 0, --alpha and --conf in (0, 1), --resamples ≥ 1")
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	ra, err := evals.ResolveRun(ctx, st, a)
	if err != nil {
		return err
	}
	rb, err := evals.ResolveRun(ctx, st, b)
	if err != nil {
		return err
	}
	c, err := evals.CompareRuns(ra, rb, evals.CompareOptions{Margin: o.Margin, Alpha: o.Alpha, Conf: o.Conf, Resamples: o.Resamples, Seed: o.Seed})
	if err != nil {
		return err
	}
	text := func(w io.Writer) error { return c.WriteText(w, ra.RunManifest, rb.RunManifest) }
	if err := writeResult(s.Out, o.Output, c, text); err != nil {
		return err
	}
	if c.Equivalent != nil && !*c.Equivalent {
		return &silentError{code: exitInconclusive}
	}
	return nil
}
