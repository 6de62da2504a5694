package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay/compare"
	"github.com/reprise-dev/reprise/replay/nightly"
)

// compareOptions are the flags of `compare`.
type compareOptions struct {
	runnerOptions
	selectOptions
	compare.Request
	Log    string
	A, B   string
	Output outputFormat
	Limits record.ParquetLimits

	now func() time.Time
}

func newCompareCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &compareOptions{now: time.Now}
	cmd := newCommand("compare --log LOG --a SYS --b SYS [--where EXPR] [--sample K] [--seed S] [-n N] [--output DIR] [--shard i/n]",
		"Rollout impact: replay a sample of a decision log under two systems and find the decisions that flip",
		help("compare"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runCompare(ctx, g, s, o) })
	o.runnerOptions.addFlags(cmd)
	o.selectOptions.addFlags(cmd)
	f := cmd.Flags()
	o.Request.Given = f.Changed
	f.StringVar(&o.Log, "log", "", "Parquet decision log of records (required)")
	f.StringVar(&o.A, "a", "", "system A, the one that decided (a system file or a decision record; required)")
	f.StringVar(&o.B, "b", "", "system B, the one to compare with (a system file or a decision record; required)")
	f.IntVar(&o.Sample, "sample", 0, "records to draw; 0 compares every selected record")
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the sample and of the permutation test")
	f.IntVarP(&o.N, "n", "n", compare.DefaultN, "fresh seeds per record and system")
	f.Float64Var(&o.Alpha, "alpha", 0.05, "level of the paired test across records (and 1 − the confidence of SAME's bound)")
	f.Float64Var(&o.Margin, "margin", compare.DefaultMargin, "largest share of flipping records SAME allows")
	f.Float64Var(&o.FDR, "fdr", 0.05, "Benjamini–Hochberg level of the records' own tests")
	f.Float64Var(&o.Conf, "conf", 0.95, "confidence level of the intervals")
	addDestFlag(cmd, &o.Out, "DIR", "output directory (default out/compare-<date>)")
	f.StringVar(&o.Shard, "shard", "", "compare shard i of n (i/n, 0 <= i < n), by request id; merge with 'compare merge'")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "run even if this host's hardware class differs from the systems'")
	addMaxPageSizeFlag(cmd, &o.Limits)
	addFormatFlag(cmd, &o.Output, outputText)
	cmd.AddCommand(newMergeCmd("Merge the shards of one comparison into one (its tests over every record)", help("compare-merge"),
		"output directory of the merged comparison (default out/compare-<date>)",
		func(dirs []string) (func(string, outputFormat) error, error) {
			c, err := compare.Merge(dirs)
			return func(dir string, f outputFormat) error { return finishCompare(s, f, c, dir) }, err
		}, func() string { return compare.DefaultOut(o.now(), nightly.Shard{}) }))
	return cmd
}

// runCompare runs (or continues) the comparison the flags describe.
func runCompare(ctx context.Context, g *globalOptions, s *streams, o *compareOptions) error {
	switch {
	case o.Log == "":
		return usageErrorf("--log is required")
	case o.A == "" || o.B == "":
		return usageErrorf("--a and --b are required: the two systems to compare (system files or decision records)")
	}
	if err := o.Request.Validate(); err != nil {
		return &usageError{err}
	}
	if err := o.runnerOptions.Validate(); err != nil {
		return err
	}
	opts, err := o.Request.Options(o.now())
	if err != nil {
		return &usageError{err}
	}
	if opts.A, err = capture.LoadTarget(o.A); err != nil {
		return fmt.Errorf("--a: %w", err)
	}
	if opts.B, err = capture.LoadTarget(o.B); err != nil {
		return fmt.Errorf("--b: %w", err)
	}
	filter, err := o.Filter(o.now())
	if err != nil {
		return err
	}
	log := g.logger(s)
	lo, st, err := o.open(ctx, g, log)
	if err != nil {
		return err
	}
	opts.Log, opts.Limits, opts.Filter, opts.NewRunner = o.Log, o.Limits, *filter, o.runners(log)
	opts.Replay.Launch, opts.Replay.Logger = lo, log
	c, err := compare.Run(ctx, st, opts)
	if err != nil {
		return interrupted(s, err, opts.Out)
	}
	return finishCompare(s, o.Output, c, opts.Out)
}

// finishCompare writes the comparison's reports, prints its brief and
// returns its exit code.
func finishCompare(s *streams, f outputFormat, c *compare.Comparison, out string) error {
	return finish(s, f, func() error { return c.WriteReports(out) }, func() compare.Brief { return c.Brief(out) }, func() int { return compareCode(c) })
}
