package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/render"
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
	MinFrequency float64
	Alpha        float64
	Conf         float64
	Output       outputFormat

	set    func(string) bool
	now    func() time.Time
	getenv func(string) string
}

func newNightlyCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &nightlyOptions{now: time.Now, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "nightly --log LOG [--sample K] [--stratify system] [--seed S] [--parallel P] [--fdr Q] [--min-rate R] [--out DIR] [--shard i/n]",
		Short: "Replay a sample of a decision log, control false discoveries, report for CI",
		Long: `Select records of a Parquet decision log (--where, --since, --until), draw a
seeded sample in one pass (--sample K; with --stratify system, K per system),
and replay them with one sandboxed session per system and hardware class (at
most --parallel at once). Each record gets its replay verdict; then
Benjamini–Hochberg at --fdr across the night decides which are DIVERGED (a
record's p-value is the smallest of its tests', Bonferroni-corrected; a record
the pinned seed reproduced exactly is not tested; see the README). The
reproducibility rate per system is given with a 95% Clopper–Pearson interval.

Reports in --out (default out/nightly-<date>/): results.parquet, report.json,
junit.xml, summary.md, report.html; the summary is appended to
$GITHUB_STEP_SUMMARY when set, and ::error annotations are printed under
GitHub Actions. A night killed at any moment continues when the same command
is run again.

Exit 1 when a record is DIVERGED after FDR control or a system's rate
interval lies wholly below --min-rate; 3 when nothing failed but something is
inconclusive; 4/5 for integrity/environment failures; 0 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.set = c.Flags().Changed
			return runNightly(c.Context(), g, s, o)
		},
	}
	o.runnerOptions.addFlags(cmd)
	o.selectOptions.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.Log, "log", "", "Parquet decision log of records (required; see record import)")
	f.IntVar(&o.Sample, "sample", 0, "records to draw (per system with --stratify system); 0 replays every selected record")
	f.StringVar(&o.Stratify, "stratify", "", `"system": draw --sample records of each system`)
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the sample (the same seed redraws the same sample)")
	f.IntVar(&o.Parallel, "parallel", 1, "systems replayed at once (one session each)")
	f.Float64Var(&o.FDR, "fdr", 0.05, "false discovery rate of the Benjamini–Hochberg control across the night")
	f.Float64Var(&o.MinRate, "min-rate", 0, "fail a system whose reproducibility rate interval lies wholly below this (0: off)")
	f.StringVar(&o.Out, "out", "", "output directory (default out/nightly-<date>)")
	f.StringVar(&o.Shard, "shard", "", "replay shard i of n (i/n, 0 <= i < n), by system; merge with 'nightly merge'")
	f.IntVarP(&o.N, "n", "n", 100, "exactly N runs with fresh seeds per record (default: sequential, each record stops once its verdict is settled, at most 1000 runs; a record not reproduced exactly is then replayed with --confirm-n fresh seeds, and if still inconclusive 20 times as many)")
	f.IntVar(&o.ConfirmN, "confirm-n", verdict.DefaultMaxRuns, "fresh seeds of the first confirming replay of a record not reproduced exactly (the second, when that is inconclusive, has 20 times as many); not with -n")
	dr := verdict.DefaultRules()
	f.Float64Var(&o.MinFrequency, "min-frequency", dr.MinFrequency, "minimum frequency of the stored label among replays for REPRODUCED")
	f.Float64Var(&o.Alpha, "alpha", dr.Alpha, "significance level of the score test")
	f.Float64Var(&o.Conf, "conf", dr.Conf, "confidence level of the frequency intervals")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "replay even if this host's hardware class differs from the records'")
	addOutputFlag(cmd, &o.Output, outputText)
	cmd.AddCommand(newNightlyMergeCmd(g, s, o))
	return cmd
}

func runNightly(ctx context.Context, g *globalOptions, s *streams, o *nightlyOptions) error {
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
	case o.set("confirm-n") && o.set("n"):
		return usageErrorf("--confirm-n is for sequential nights: with -n every record gets exactly N runs and no confirming replay")
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
	filter, err := o.filter(o.now())
	if err != nil {
		return err
	}
	out := o.Out
	if out == "" {
		out = filepath.Join("out", "nightly-"+o.now().UTC().Format("2006-01-02"))
		if shard.N > 0 {
			out += fmt.Sprintf("-shard-%d-of-%d", shard.I, shard.N)
		}
	}
	lo, err := o.launchOptions(ctx)
	if err != nil {
		return err
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	log := g.logger(s)
	lo.Logger = log
	started := o.now()
	opts := nightly.Options{
		Log: o.Log, Filter: *filter, Sample: o.Sample, Stratify: o.Stratify == "system", Seed: o.Seed,
		Parallel: o.Parallel, FDR: o.FDR, MinRate: o.MinRate, Out: out, Shard: shard,
		// As replay: sequential (each record stops once settled, at most
		// verdict.DefaultMaxRuns runs) unless -n asks for exactly N runs.
		Replay: replay.Options{N: o.N, Sequential: !o.set("n"), MaxRuns: verdict.DefaultMaxRuns, Launch: lo, Logger: log, Rules: rules,
			Explicit: replay.Explicit{Memory: o.set("memory"), CPUs: o.set("cpus"), Pids: o.set("pids"),
				RunTimeout: o.set("run-timeout"), SessionTimeout: o.set("session-timeout")}},
		ConfirmN:  o.ConfirmN,
		NewRunner: func(ctx context.Context) (replay.Runner, error) { return newRunner(ctx, &o.runnerOptions, log) },
		Progress:  nightProgress(s, o.now, started),
	}
	n, err := nightly.Run(ctx, st, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(s.Err, "reprise: interrupted; the finished records are kept in %s: run the same command again to continue\n", out)
		}
		return err
	}
	return finishNight(s, o.Output, o.getenv, n, out)
}

// finishNight writes the reports, the GitHub summary and annotations, prints
// the result and returns the night's exit code.
func finishNight(s *streams, f outputFormat, getenv func(string) string, n *nightly.Night, out string) error {
	if err := n.WriteReports(out); err != nil {
		return err
	}
	if p := getenv("GITHUB_STEP_SUMMARY"); p != "" {
		sf, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
		_, werr := io.WriteString(sf, n.Markdown())
		if cerr := sf.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", werr)
		}
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		io.WriteString(s.Out, n.Annotations())
	}
	res := nightResult{Out: out, Outcome: n.Outcome, Summary: n.Summary, Counts: n.Counts, Systems: n.Systems, Diverged: []nightly.Result{}}
	for _, r := range n.Records {
		if r.Verdict == verdict.Diverged {
			res.Diverged = append(res.Diverged, r)
		}
	}
	if err := writeResult(s.Out, f, res, res.text); err != nil {
		return err
	}
	if code := nightCode(n); code != exitOK {
		return &silentError{code}
	}
	return nil
}

// nightCode is the exit code of a night.
func nightCode(n *nightly.Night) int {
	switch n.Outcome {
	case nightly.OutcomeDiverged, nightly.OutcomeRate:
		return exitDiverged
	case nightly.OutcomeError:
		switch n.ErrorClass {
		case "integrity":
			return exitIntegrity
		case "usage":
			return exitUsage
		}
		return exitEnvironment
	case nightly.OutcomeInconclusive:
		return exitInconclusive
	}
	return exitOK
}

// nightResult is what `nightly` prints.
type nightResult struct {
	Out      string               `json:"out"`
	Outcome  string               `json:"outcome"`
	Summary  string               `json:"summary"`
	Counts   nightly.Counts       `json:"counts"`
	Systems  []nightly.SystemRate `json:"systems"`
	Diverged []nightly.Result     `json:"diverged"`
}

func (r nightResult) text(w io.Writer) error {
	fmt.Fprintf(w, "outcome: %s\n%s\nreports: %s\n", r.Outcome, r.Summary, r.Out)
	for _, s := range r.Systems {
		mark := ""
		if s.BelowMin {
			mark = "  BELOW MIN RATE"
		}
		fmt.Fprintf(w, "  %s: %d/%d reproduced, rate %.3f [%.3f, %.3f], %d errors%s\n", render.Terminal(s.Name, false), s.Reproduced, s.Records, s.Rate, s.Lower, s.Upper, s.Errors, mark)
	}
	for _, d := range r.Diverged {
		if _, err := fmt.Fprintf(w, "DIVERGED %s (%s): %s\n", render.Terminal(d.RequestID, false), render.Terminal(d.SystemName, false), render.Terminal(d.Why, false)); err != nil {
			return err
		}
	}
	return nil
}

// nightProgress draws a progress bar on stderr when it is a terminal, and
// plain lines (about every tenth of the night) otherwise.
func nightProgress(s *streams, now func() time.Time, started time.Time) func(nightly.Progress) {
	lastLine := -1
	return func(p nightly.Progress) {
		c := p.Counts
		counts := fmt.Sprintf("REPRODUCED %d  DIVERGED %d  INCONCLUSIVE %d  ERROR %d",
			c[verdict.Reproduced], c[verdict.Diverged], c[verdict.Inconclusive], c[verdict.Failed])
		eta := "?"
		if fresh := p.Done - p.Resumed; fresh > 0 {
			per := now().Sub(started) / time.Duration(fresh)
			eta = (per * time.Duration(p.Total-p.Done)).Round(time.Second).String()
		}
		if s.ErrTTY {
			const width = 30
			fill := 0
			if p.Total > 0 {
				fill = width * p.Done / p.Total
			}
			fmt.Fprintf(s.Err, "\r[%s%s] %d/%d  %s  ETA %s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.Done, p.Total, counts, eta)
			if p.Done == p.Total {
				fmt.Fprintln(s.Err)
			}
			return
		}
		step := max(1, p.Total/10)
		if line := p.Done / step; line != lastLine || p.Done == p.Total {
			lastLine = line
			fmt.Fprintf(s.Err, "nightly: %d/%d records  %s  ETA %s\n", p.Done, p.Total, counts, eta)
		}
	}
}

func newNightlyMergeCmd(g *globalOptions, s *streams, parent *nightlyOptions) *cobra.Command {
	var out string
	var format outputFormat
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge the shards of one night into one night (FDR over all of them)",
		Long: `Merge the output folders of the shards of one night (nightly --shard i/n, all of
them, finished) into one night: the false-discovery control is taken over
every record, so the result equals the unsharded night's. Reports go to --out.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			n, err := nightly.Merge(args)
			if err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = filepath.Join("out", "nightly-"+parent.now().UTC().Format("2006-01-02"))
			}
			return finishNight(s, format, parent.getenv, n, dir)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output directory of the merged night (default out/nightly-<date>)")
	addOutputFlag(cmd, &format, outputText)
	return cmd
}
