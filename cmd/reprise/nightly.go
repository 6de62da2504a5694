package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/verdict"
)

// nightlyOptions are the flags of `nightly`.
type nightlyOptions struct {
	runnerOptions
	selectOptions
	Log          string
	Sample       int
	Stratify     string
	Seed         uint64
	Parallel     int
	FDR          float64
	MinRate      float64
	Out          string
	Shard        string
	N            int
	ConfirmN     int
	FleetRuns    int
	FleetAlpha   float64
	MinFrequency float64
	Alpha        float64
	Conf         float64
	Output       outputFormat
	MaxPageSize  byteSize
	DryRun       bool

	set    func(string) bool
	now    func() time.Time
	getenv func(string) string
}

func newNightlyCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &nightlyOptions{now: time.Now, getenv: os.Getenv}
	cmd := newCommand("nightly --log LOG [--sample K] [--stratify system] [--seed S] [--parallel P] [--fdr Q] [--min-rate R] [--output DIR] [--shard i/n]",
		"Replay a sample of a decision log, control false discoveries, report for CI",
		`Select records of a Parquet decision log (--where, --since, --until), draw a
seeded sample in one pass (--sample K; with --stratify system, K per system),
and replay them with one sandboxed session per system and hardware class (at
most --parallel at once). Each record gets its replay verdict; then
Benjamini–Hochberg at --fdr across the night decides which are DIVERGED (a
record's p-value is the smallest of its tests', Bonferroni-corrected; a record
the pinned seed reproduced exactly is not tested; see the README). The
reproducibility rate per system is given with a 95% Clopper–Pearson interval.

Reports in --output (default out/nightly-<date>/): results.parquet, report.json,
junit.xml, summary.md, report.html; the summary is appended to
$GITHUB_STEP_SUMMARY when set, and ::error annotations are printed under
GitHub Actions. A night killed at any moment continues when the same command
is run again.

--where is type-checked against the log's column types (output.score is a
double: output.score == "x" is refused) and held to --where-cost-limit. The
night is identified by the digest of the log's content: a log rewritten since
the night began is refused, not resumed.

The fleet test (per system): each record's randomized conformal p-value over
its first --fleet-runs fresh seeds, uniform when the pinned system made the
decision; a one-sided KS test of their uniformity at --fleet-alpha flags a
system part of whose traffic another system served, though no record is
significant alone, and Storey's 1 − π0 estimates that share (see the README).

Exit 1 when a record is DIVERGED after FDR control, a system's fleet test is
flagged, or a system's rate interval lies wholly below --min-rate (or the
lower bound of its share not explained by the pinned system exceeds
1 − --min-rate); 3 when nothing failed but something is inconclusive, or when the night replayed no record (nothing selected: every
report says why); with --dry-run, 0 once the plan is printed (nothing is
replayed, nothing written); 2 for bad input (a --where that does not type-check or is
over its cost limit, another night or a rewritten log in --output); 4/5 for
integrity/environment failures; 0 otherwise.`, cobra.NoArgs,
		func(ctx context.Context, _ []string) error { return runNightly(ctx, g, s, o) })
	o.set = cmd.Flags().Changed
	o.runnerOptions.addFlags(cmd)
	o.selectOptions.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Log, "log", "", "Parquet decision log of records (required; see record import), or a directory or glob of capture serve's segments")
	f.IntVar(&o.Sample, "sample", 0, "records to draw (per system with --stratify system); 0 replays every selected record")
	f.StringVar(&o.Stratify, "stratify", "", `"system": draw --sample records of each system`)
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the sample (the same seed redraws the same sample)")
	f.IntVar(&o.Parallel, "parallel", 1, "systems replayed at once (one session each)")
	addMaxPageSizeFlag(cmd, &o.MaxPageSize)
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
	addOutputFlag(cmd, &o.Output, outputText)
	cmd.AddCommand(newNightlyMergeCmd(g, s, o))
	cmd.AddCommand(newNightlyHistoryCmd(s))
	return cmd
}

// validate checks the flags of `nightly` (usage errors).
func (o *nightlyOptions) validate() error {
	if o.Log == "" {
		return usageErrorf("--log is required")
	}
	if err := o.runnerOptions.validate(); err != nil {
		return err
	}
	switch {
	case o.Stratify != "" && o.Stratify != "system":
		return usageErrorf("--stratify: only \"system\" is supported, got %q", o.Stratify)
	case o.Sample < 0:
		return usageErrorf("--sample must not be negative")
	case o.Parallel < 1:
		return usageErrorf("--parallel must be at least 1")
	case !(o.FDR > 0 && o.FDR < 1):
		return usageErrorf("--fdr must be in (0, 1), got %g", o.FDR)
	case o.MinRate < 0 || o.MinRate >= 1:
		return usageErrorf("--min-rate must be in [0, 1), got %g", o.MinRate)
	case o.N < 1 || o.N > 1_000_000:
		return usageErrorf("-n must be between 1 and 1000000, got %d", o.N)
	case o.ConfirmN < 1 || o.ConfirmN > 1_000_000/nightly.ConfirmGrowth:
		return usageErrorf("--confirm-n must be between 1 and %d, got %d", 1_000_000/nightly.ConfirmGrowth, o.ConfirmN)
	case o.FleetRuns < 0 || !(o.FleetAlpha > 0 && o.FleetAlpha < 1):
		return usageErrorf("--fleet-runs must not be negative (0: off) and --fleet-alpha must be in (0, 1), got %d and %g", o.FleetRuns, o.FleetAlpha)
	case o.set("confirm-n") && o.set("n"):
		return usageErrorf("--confirm-n is for sequential nights: with -n every record gets exactly N runs and no confirming replay")
	}
	return nil
}

// runNightly runs (or continues) the night the flags describe, then
// finishes it (finishNight).
func runNightly(ctx context.Context, g *globalOptions, s *streams, o *nightlyOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	rules := verdict.Rules{MinFrequency: o.MinFrequency, Alpha: o.Alpha, Conf: o.Conf}.WithDefaults()
	if err := rules.Validate(); err != nil {
		return &usageError{err}
	}
	var shard nightly.Shard
	if o.Shard != "" {
		var err error
		if shard, err = nightly.ParseShard(o.Shard); err != nil {
			return usageErrorf("--shard: %v", err)
		}
	}
	filter, err := o.Filter(o.now())
	if err != nil {
		return err
	}
	out := o.Out
	if out == "" {
		out = nightly.DefaultOut(o.now(), shard)
	}
	logPath, err := segmentSetLog(o.Log, out, o.MaxPageSize.parquetLimits())
	if err != nil {
		return err
	}
	log := g.logger(s)
	opts := nightly.Options{
		Log: logPath, Limits: o.MaxPageSize.parquetLimits(), Filter: *filter, Sample: o.Sample, Stratify: o.Stratify == "system", Seed: o.Seed,
		Parallel: o.Parallel, FDR: o.FDR, MinRate: o.MinRate, Out: out, Shard: shard,
		// As replay: sequential (each record stops once settled, at most
		// verdict.DefaultMaxRuns runs) unless -n asks for exactly N runs.
		Replay: replay.Options{N: o.N, Sequential: !o.set("n"), MaxRuns: verdict.DefaultMaxRuns, Logger: log, Rules: rules,
			Explicit: replay.Explicit{Memory: o.set("memory"), CPUs: o.set("cpus"), Pids: o.set("pids"),
				RunTimeout: o.set("run-timeout"), SessionTimeout: o.set("session-timeout")}},
		ConfirmN: o.ConfirmN, FleetRuns: o.fleetRuns(), NoFleet: o.FleetRuns == 0, FleetAlpha: o.FleetAlpha,
		NewRunner: func(ctx context.Context) (replay.Runner, error) { return newRunner(ctx, &o.runnerOptions, log) },
		Progress:  nightly.NewProgressWriter(s.Err, s.ErrTTY, o.now, o.now()).Show,
	}
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
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(s.Err, "reprise: interrupted; the finished records are kept in %s: run the same command again to continue\n", out)
		}
		return err
	}
	return finishNight(s, o.Output, o.getenv, n, out)
}

// finishNight publishes the night's reports (and its CI output), prints
// its brief and returns its exit code.
func finishNight(s *streams, f outputFormat, getenv func(string) string, n *nightly.Night, out string) error {
	if err := n.Publish(out, s.Out, getenv); err != nil {
		return err
	}
	b := n.Brief(out)
	if err := writeResult(s.Out, f, b, b.Text); err != nil {
		return err
	}
	if code := nightCode(n); code != exitOK {
		return &silentError{code}
	}
	return nil
}

func newNightlyMergeCmd(g *globalOptions, s *streams, parent *nightlyOptions) *cobra.Command {
	var out string
	var format outputFormat
	cmd := newCommand("merge DIR...", "Merge the shards of one night into one night (FDR over all of them)",
		`Merge the output folders of the shards of one night (nightly --shard i/n, all of
them, finished) into one night: the false-discovery control is taken over
every record, so the result equals the unsharded night's. Reports go to --output.`, cobra.MinimumNArgs(1),
		func(_ context.Context, args []string) error {
			n, err := nightly.Merge(args, g.logger(s))
			if err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = nightly.DefaultOut(parent.now(), nightly.Shard{})
			}
			return finishNight(s, format, parent.getenv, n, dir)
		})
	addDestFlag(cmd, &out, "DIR", "output directory of the merged night (default out/nightly-<date>)")
	addOutputFlag(cmd, &format, outputText)
	return cmd
}

// fleetRuns is --fleet-runs for nightly.Options: 0 (the default: N with
// -n, else the smaller of nightly.DefaultFleetRuns and --confirm-n) when
// not given.
func (o *nightlyOptions) fleetRuns() int {
	if !o.set("fleet-runs") {
		return 0
	}
	return o.FleetRuns
}
