package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
)

type evalsRescoreOptions struct {
	runnerOptions
	Suite   string
	Results []string
	Systems []string
	Conf    float64
	Output  outputFormat
	now     func() time.Time
}

func newEvalsRescoreCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsRescoreOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "rescore --suite NEW (--results RUN… | --system SYS…)",
		Short: "Bring stored runs onto a new suite: re-score unchanged items, run only new or changed ones",
		Long: `For each stored run (--results, or the latest run of each --system on another
suite), the outputs stored for items whose id and input are unchanged in NEW are
re-scored with NEW's scorer and references, without running anything; only new
items and items whose input changed are run, on the run's pinned system, with
the run's seed and epochs. The result is a new run on NEW, stored like any other,
that says how many items were re-scored and how many run.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runEvalsRescore(c.Context(), g, s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Suite, "suite", "", "the new suite: digest or folder (required)")
	f.StringArrayVar(&o.Results, "results", nil, "stored run to bring over (repeatable)")
	f.StringArrayVar(&o.Systems, "system", nil, "system (file, record or id) whose latest run on another suite to bring over (repeatable)")
	f.Float64Var(&o.Conf, "conf", 0.95, "confidence level of the intervals")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "run even when this host's hardware class differs from the system's")
	addOutputFlag(cmd, &o.Output, outputText)
	o.runnerOptions.addFlags(cmd)
	return cmd
}

func runEvalsRescore(ctx context.Context, g *globalOptions, s *streams, o *evalsRescoreOptions) error {
	if o.Suite == "" || len(o.Results)+len(o.Systems) == 0 {
		return usageErrorf("--suite and at least one --results or --system are required")
	}
	if !(o.Conf > 0 && o.Conf < 1) {
		return usageErrorf("--conf %g: must be in (0, 1)", o.Conf)
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	su, err := resolveSuite(ctx, st, o.Suite)
	if err != nil {
		return err
	}
	runs := append([]string(nil), o.Results...)
	for _, sysArg := range o.Systems {
		id, err := systemID(sysArg)
		if err != nil {
			return err
		}
		h, err := evals.History(ctx, st, digest.Digest{}, id)
		if err != nil {
			return err
		}
		found := ""
		for _, e := range h {
			if e.Suite != su.Digest {
				found = e.Run.String() // the latest wins (history is oldest first)
			}
		}
		if found == "" {
			return usageErrorf("--system %s: no stored run of system %s on another suite", sysArg, id)
		}
		runs = append(runs, found)
	}
	var results []evalRunResult
	for _, r := range runs {
		d, old, rows, err := loadRunArg(ctx, st, r)
		if err != nil {
			return err
		}
		rs := evals.RescoreRows(su, rows)
		m := &evals.RunManifest{Suite: su.Digest, SuiteName: su.Spec.Name, SuiteVersion: su.Spec.Version, System: old.System,
			Protocol: old.Protocol, HardwareClass: old.HardwareClass, Params: old.Params, RunSeed: old.RunSeed, Epochs: old.Epochs,
			Ran: len(rs.Missing), Rescored: rs.Items, From: []digest.Digest{d}}
		all := rs.Rows
		if len(rs.Missing) > 0 {
			target := launch.Target{System: old.System, Protocol: old.Protocol, HardwareClass: old.HardwareClass}
			ran, err := runItems(ctx, g, s, &o.runnerOptions, st, target, su, m, rs.Missing, nil, nil)
			if err != nil {
				return err
			}
			all = evals.Merge(su, rs.Rows, ran)
		}
		m.Summary = evals.Summarize(su, all, o.Conf)
		m.Created = o.now().UTC()
		nd, err := evals.Save(ctx, st, m, all)
		if err != nil {
			return err
		}
		results = append(results, resultOf(nd, m))
	}
	if o.Output == outputJSON {
		return writeJSON(s.Out, results)
	}
	for _, r := range results {
		if err := writeRunResult(s.Out, o.Output, r); err != nil {
			return err
		}
	}
	return nil
}
