package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/compare"
	"github.com/reprise-dev/reprise/replay/nightly"
)

// compareOptions are the flags of `compare`.
type compareOptions struct {
	runnerOptions
	selectOptions
	Log         string
	A, B        string
	Sample      int
	Seed        uint64
	N           int
	Alpha       float64
	Margin      float64
	FDR         float64
	Conf        float64
	Out         string
	Shard       string
	Output      outputFormat
	MaxPageSize byteSize

	set func(string) bool
	now func() time.Time
}

func newCompareCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &compareOptions{now: time.Now}
	cmd := newCommand("compare --log LOG --a SYS --b SYS [--where EXPR] [--sample K] [--seed S] [-n N] [--output DIR] [--shard i/n]",
		"Rollout impact: replay a sample of a decision log under two systems and find the decisions that flip",
		help("compare"), cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runCompare(ctx, g, s, o) })
	o.set = cmd.Flags().Changed
	o.runnerOptions.addFlags(cmd)
	o.selectOptions.addFlags(cmd)
	f := cmd.Flags()
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
	addMaxPageSizeFlag(cmd, &o.MaxPageSize)
	addOutputFlag(cmd, &o.Output, outputText)
	cmd.AddCommand(newCompareMergeCmd(g, s, o))
	return cmd
}

// validate checks the flags of `compare` (usage errors).
func (o *compareOptions) validate() error {
	switch {
	case o.Log == "":
		return usageErrorf("--log is required")
	case o.A == "" || o.B == "":
		return usageErrorf("--a and --b are required: the two systems to compare (system files or decision records)")
	case o.Sample < 0:
		return usageErrorf("--sample must not be negative")
	case o.N < 1 || o.N > 100_000:
		return usageErrorf("-n must be between 1 and 100000, got %d", o.N)
	case !(o.Alpha > 0 && o.Alpha < 1), !(o.FDR > 0 && o.FDR < 1), !(o.Conf > 0 && o.Conf < 1):
		return usageErrorf("--alpha, --fdr and --conf must be in (0, 1)")
	case !(o.Margin > 0 && o.Margin < 1):
		return usageErrorf("--margin must be in (0, 1), got %g", o.Margin)
	}
	return o.runnerOptions.validate()
}

// defaultCompareOut is the output folder of a comparison begun at now.
func defaultCompareOut(now time.Time, s nightly.Shard) string {
	out := filepath.Join("out", "compare-"+now.UTC().Format("2006-01-02"))
	if s.N > 0 {
		out += fmt.Sprintf("-shard-%d-of-%d", s.I, s.N)
	}
	return out
}

// runCompare runs (or continues) the comparison the flags describe.
func runCompare(ctx context.Context, g *globalOptions, s *streams, o *compareOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	var shard nightly.Shard
	if o.Shard != "" {
		var err error
		if shard, err = nightly.ParseShard(o.Shard); err != nil {
			return usageErrorf("--shard: %v", err)
		}
	}
	a, err := capture.LoadTarget(o.A)
	if err != nil {
		return fmt.Errorf("--a: %w", err)
	}
	b, err := capture.LoadTarget(o.B)
	if err != nil {
		return fmt.Errorf("--b: %w", err)
	}
	filter, err := o.Filter(o.now())
	if err != nil {
		return err
	}
	out := o.Out
	if out == "" {
		out = defaultCompareOut(o.now(), shard)
	}
	log := g.logger(s)
	lo, st, err := o.open(ctx, g, log)
	if err != nil {
		return err
	}
	opts := compare.Options{Log: o.Log, Limits: o.MaxPageSize.parquetLimits(), Filter: *filter, Sample: o.Sample, Seed: o.Seed,
		A: a, B: b, N: o.N, Alpha: o.Alpha, Margin: o.Margin, FDR: o.FDR, Conf: o.Conf, Out: out, Shard: shard,
		Replay: replay.Options{Launch: lo, Logger: log, Explicit: replay.Explicit{Memory: o.set("memory"), CPUs: o.set("cpus"), Pids: o.set("pids"),
			RunTimeout: o.set("run-timeout"), SessionTimeout: o.set("session-timeout")}},
		NewRunner: func(ctx context.Context) (replay.Runner, error) { return newRunner(ctx, &o.runnerOptions, log) },
	}
	c, err := compare.Run(ctx, st, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(s.Err, "reprise: interrupted; the finished records are kept in %s: run the same command again to continue\n", out)
		}
		return err
	}
	return finishCompare(s, o.Output, c, out)
}

// finishCompare writes the comparison's reports, prints its brief and
// returns its exit code.
func finishCompare(s *streams, f outputFormat, c *compare.Comparison, out string) error {
	if err := c.WriteReports(out); err != nil {
		return err
	}
	b := c.Brief(out)
	if err := writeResult(s.Out, f, b, b.Text); err != nil {
		return err
	}
	if code := compareCode(c); code != exitOK {
		return &silentError{code}
	}
	return nil
}

func newCompareMergeCmd(g *globalOptions, s *streams, parent *compareOptions) *cobra.Command {
	var out string
	var format outputFormat
	cmd := newCommand("merge DIR...", "Merge the shards of one comparison into one (its tests over every record)",
		help("compare-merge"), cobra.MinimumNArgs(1),
		func(_ context.Context, args []string) error {
			c, err := compare.Merge(args)
			if err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = defaultCompareOut(parent.now(), nightly.Shard{})
			}
			return finishCompare(s, format, c, dir)
		})
	addDestFlag(cmd, &out, "DIR", "output directory of the merged comparison (default out/compare-<date>)")
	addOutputFlag(cmd, &format, outputText)
	return cmd
}
