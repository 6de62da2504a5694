package main

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/store"
)

type evalsRescoreOptions struct {
	evalsRunFlags
	Results []string
	Systems []string
}

func newEvalsRescoreCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsRescoreOptions{}
	cmd := newCommand("rescore --suite NEW (--results RUN… | --system SYS…)", "Bring stored runs onto a new suite: re-score unchanged items, run only new or changed ones",
		help("evals-rescore"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runEvalsRescore(ctx, g, s, o) })
	o.addFlags(cmd, "the new suite: digest or folder (required)")
	f := cmd.Flags()
	f.StringArrayVar(&o.Results, "results", nil, "stored run to bring over (repeatable)")
	f.StringArrayVar(&o.Systems, "system", nil, "system (file, record or id) whose latest run on another suite to bring over (repeatable)")
	return cmd
}

func runEvalsRescore(ctx context.Context, g *globalOptions, s *streams, o *evalsRescoreOptions) error {
	if o.Suite == "" || len(o.Results)+len(o.Systems) == 0 {
		return usageErrorf("--suite and at least one --results or --system are required")
	}
	if err := o.checkConf(); err != nil {
		return err
	}
	st, su, err := o.openSuite(ctx, g)
	if err != nil {
		return err
	}
	runs, err := o.runs(ctx, st, su)
	if err != nil {
		return err
	}
	results, err := evals.RescoreAll(ctx, st, su, runs, o.Conf, o.now(), o.runItems(ctx, st, su, g.logger(s)))
	if err != nil {
		return err
	}
	return writeResult(s.Out, o.Output, results, results.WriteEach)
}

// runs are the runs to bring over: --results, then the latest run of
// each --system on a suite other than su.
func (o *evalsRescoreOptions) runs(ctx context.Context, st *store.Layout, su *evals.Suite) ([]string, error) {
	runs := slices.Clone(o.Results)
	for _, sysArg := range o.Systems {
		id, err := capture.SystemID(sysArg)
		if err != nil {
			return nil, err
		}
		d, err := evals.LatestElsewhere(ctx, st, su.Digest, id)
		if err != nil {
			return nil, err
		}
		if d.IsZero() {
			return nil, usageErrorf("--system %s: no stored run of system %s on another suite", sysArg, id)
		}
		runs = append(runs, d.String())
	}
	return runs, nil
}
