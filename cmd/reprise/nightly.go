package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture/proxy"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/verdict"
)

// nightlyOptions are the flags of `nightly`.
type nightlyOptions struct {
	runnerOptions
	selectOptions
	nightly.Request
	Log    string
	Output outputFormat
	Limits record.ParquetLimits
	DryRun bool

	now    func() time.Time
	getenv func(string) string
}

func newNightlyCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &nightlyOptions{now: time.Now, getenv: os.Getenv}
	cmd := newCommand("nightly --log LOG [--sample K] [--stratify system] [--seed S] [--parallel P] [--fdr Q] [--min-rate R] [--output DIR] [--shard i/n]",
		"Replay a sample of a decision log, control false discoveries, report for CI",
		help("nightly"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runNightly(ctx, g, s, o) })
	o.Request.Given = cmd.Flags().Changed
	o.runnerOptions.addFlags(cmd)
	o.selectOptions.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Log, "log", "", "Parquet decision log of records (required; see record import), or a directory or glob of capture serve's segments")
	f.IntVar(&o.Sample, "sample", 0, "records to draw (per system with --stratify system); 0 replays every selected record")
	f.StringVar(&o.Stratify, "stratify", "", `"system": draw --sample records of each system`)
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the sample (the same seed redraws the same sample)")
	f.IntVar(&o.Parallel, "parallel", 1, "systems replayed at once (one session each)")
	addMaxPageSizeFlag(cmd, &o.Limits)
	f.Float64Var(&o.FDR, "fdr", 0.05, "false discovery rate of the Benjamini–Hochberg control across the night")
	f.Float64Var(&o.MinRate, "min-rate", 0, "fail a system whose reproducibility rate interval lies wholly below this (0: off)")
	addDestFlag(cmd, &o.Out, "DIR", "output directory (default out/nightly-<date>)")
	f.StringVar(&o.Shard, "shard", "", "replay shard i of n (i/n, 0 <= i < n), by system; merge with 'nightly merge'")
	f.IntVarP(&o.N, "n", "n", 100, "exactly N runs with fresh seeds per record (default: sequential, each record stops once its verdict is settled, at most 1000 runs; a record not reproduced exactly is then replayed with --confirm-n fresh seeds, and if still inconclusive 20 times as many)")
	f.IntVar(&o.ConfirmN, "confirm-n", verdict.DefaultMaxRuns, "fresh seeds of the first confirming replay of a record not reproduced exactly (the second, when that is inconclusive, has 20 times as many); not with -n")
	f.IntVar(&o.FleetRuns, "fleet-runs", nightly.DefaultFleetRuns, "fresh seeds behind each record's fleet p-value (at most -n or --confirm-n; with -n, default N; 0: no fleet test); a record reproduced exactly in a sequential night gets these runs for the fleet test alone")
	f.Float64Var(&o.FleetAlpha, "fleet-alpha", nightly.DefaultFleetAlpha, "level of the fleet substitution test of each system")
	dr := verdict.DefaultRules()
	f.Float64Var(&o.MinFrequency, "min-frequency", dr.MinFrequency, "minimum frequency of the stored label among replays for REPRODUCED")
	f.Float64Var(&o.Alpha, "alpha", dr.Alpha, "false-alarm rate of each record's replay: the most probability that an honest record is called DIVERGED, all checks together (the night then controls the false discovery rate across records at --fdr)")
	f.Float64Var(&o.Conf, "conf", dr.Conf, "confidence level of the frequency intervals")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "replay even if this host's hardware class differs from the records'")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the night's plan (selection, sample, systems and shards, estimated runs) and replay nothing")
	addFormatFlag(cmd, &o.Output, outputText)
	cmd.AddCommand(newMergeCmd("Merge the shards of one night into one night (FDR over all of them)", help("nightly-merge"),
		"output directory of the merged night (default out/nightly-<date>)",
		func(dirs []string) (func(string, outputFormat) error, error) {
			n, err := nightly.Merge(dirs, g.logger(s))
			return func(dir string, f outputFormat) error { return finishNight(s, f, o.getenv, n, dir) }, err
		}, func() string { return nightly.DefaultOut(o.now(), nightly.Shard{}) }))
	cmd.AddCommand(newNightlyHistoryCmd(s))
	return cmd
}

// runNightly runs (or continues) the night the flags describe, then
// finishes it (finishNight).
func runNightly(ctx context.Context, g *globalOptions, s *streams, o *nightlyOptions) error {
	if o.Log == "" {
		return usageErrorf("--log is required")
	}
	if err := o.runnerOptions.Validate(); err != nil {
		return err
	}
	if err := o.Request.Validate(); err != nil {
		return &usageError{err}
	}
	opts, err := o.Request.Options(o.now())
	if err != nil {
		return &usageError{err}
	}
	filter, err := o.Filter(o.now())
	if err != nil {
		return err
	}
	if opts.Log, err = proxy.LogOf(o.Log, opts.Out, o.Limits); err != nil {
		var se *proxy.SegmentsError
		if errors.As(err, &se) {
			err = fmt.Errorf("%w: %w", nightly.ErrLog, se.Err)
		}
		return err
	}
	log := g.logger(s)
	opts.Limits, opts.Filter, opts.Replay.Logger, opts.NewRunner = o.Limits, *filter, log, o.runners(log)
	opts.Progress = nightly.NewProgressWriter(s.Err, s.ErrTTY, o.now, o.now()).Show
	if o.DryRun {
		return planNight(ctx, s, o.Output, opts)
	}
	lo, st, err := o.open(ctx, g, log)
	if err != nil {
		return err
	}
	opts.Replay.Launch = lo
	n, err := nightly.Run(ctx, st, opts)
	if err != nil {
		return interrupted(s, err, opts.Out)
	}
	return finishNight(s, o.Output, o.getenv, n, opts.Out)
}

// finishNight publishes the night's reports (and its CI output), prints
// its brief and returns its exit code.
func finishNight(s *streams, f outputFormat, getenv func(string) string, n *nightly.Night, out string) error {
	return finish(s, f, func() error { return n.Publish(out, s.Out, getenv) }, func() nightly.Brief { return n.Brief(out) }, func() int { return nightCode(n) })
}

// finish writes the reports of a night or a comparison (write), prints its
// brief and returns its exit code.
func finish[B interface{ Text(io.Writer) error }](s *streams, f outputFormat, write func() error, brief func() B, code func() int) error {
	if err := write(); err != nil {
		return err
	}
	b := brief()
	if err := writeResult(s.Out, f, b, b.Text); err != nil {
		return err
	}
	if c := code(); c != exitOK {
		return &silentError{c}
	}
	return nil
}

// newMergeCmd is a verb `merge DIR...` (nightly, compare): merge reads the
// shard folders and returns the finisher of the merged result, called with
// --output (else def()) and --format.
func newMergeCmd(short, long, outUsage string, merge func(dirs []string) (func(dir string, f outputFormat) error, error), def func() string) *cobra.Command {
	var out string
	var format outputFormat
	cmd := newCommand("merge DIR...", short, long, cobra.MinimumNArgs(1), func(_ context.Context, args []string) error {
		finish, err := merge(args)
		if err != nil {
			return err
		}
		if out == "" {
			out = def()
		}
		return finish(out, format)
	})
	addDestFlag(cmd, &out, "DIR", outUsage)
	addFormatFlag(cmd, &format, outputText)
	return cmd
}

// planNight prints the plan of the night opts describes (nightly
// --dry-run): what it would select, draw and replay, replaying nothing.
func planNight(ctx context.Context, s *streams, f outputFormat, opts nightly.Options) error {
	p, err := nightly.PlanNight(ctx, opts)
	if err != nil {
		return err
	}
	return writeResult(s.Out, f, p, p.Text)
}

// interrupted says, when err is an interrupt, that the finished records of
// a night or a comparison are kept in out; it returns err.
func interrupted(s *streams, err error, out string) error {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(s.Err, "reprise: interrupted; the finished records are kept in %s: run the same command again to continue\n", out)
	}
	return err
}
