package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
)

type evalsHistoryOptions struct {
	Suite  string
	System string
	Output outputFormat
}

func newEvalsHistoryCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsHistoryOptions{}
	cmd := newCommand("history (--suite SUITE | --system SYS)", "Every system's score on a suite, or every suite a system was scored on", "", cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEvalsHistory(ctx, g, s, o) })
	cmd.Flags().StringVar(&o.Suite, "suite", "", "suite digest or folder")
	cmd.Flags().StringVar(&o.System, "system", "", "system id (sha256:…), system file or decision record")
	addFormatFlag(cmd, &o.Output, outputText)
	return cmd
}

func runEvalsHistory(ctx context.Context, g *globalOptions, s *streams, o *evalsHistoryOptions) error {
	if o.Suite == "" && o.System == "" {
		return usageErrorf("give --suite or --system (or both)")
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	var suite, sys digest.Digest
	if o.Suite != "" {
		su, err := evals.ResolveSuite(ctx, evals.ReadOnly{Reader: st}, o.Suite)
		if err != nil {
			return err
		}
		suite = su.Digest
	}
	if o.System != "" {
		if sys, err = capture.SystemID(o.System); err != nil {
			return err
		}
	}
	h, err := evals.History(ctx, st, suite, sys)
	if err != nil {
		return err
	}
	res := evals.Results(h)
	return writeResult(s.Out, o.Output, res, res.WriteText)
}
