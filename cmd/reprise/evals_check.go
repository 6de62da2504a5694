package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
)

type evalsCheckOptions struct {
	runnerOptions
	Margin  float64
	Alpha   float64
	RunSeed int64
	Output  outputFormat
	now     func() time.Time
}

func newEvalsCheckCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsCheckOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "check RECORD",
		Short: "Replay a record's pinned eval suite and test whether its score distribution reproduces",
		Long: `The record must pin an eval suite (eval_suite) and the store must hold a run of the
record's system on it. The suite is run again on the pinned system (one sandboxed
session, the stored run's epochs, a fresh run seed: --run-seed, default the stored
run's seed + 1) and paired per item against the stored run (the earliest run of the system
on the suite that is not itself a check's). REPRODUCED (exit 0)
when a paired TOST establishes equivalence of the mean score within --eval-margin;
DIVERGED (exit 1) when the 1 − 2α interval of the difference lies outside the
margin; INCONCLUSIVE (exit 3) otherwise. The new run is stored like any other.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.RunSeed = -1
			if c.Flags().Changed("run-seed") {
				o.RunSeed, _ = c.Flags().GetInt64("run-seed")
			}
			return runEvalsCheck(c.Context(), g, s, o, args[0])
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.Margin, "eval-margin", 0.02, "equivalence margin of the mean score")
	f.Float64Var(&o.Alpha, "alpha", 0.05, "level of the TOST")
	f.Int64("run-seed", 0, "run seed of the replayed run (default: the stored run's seed + 1)")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "run even when this host's hardware class differs from the record's")
	addOutputFlag(cmd, &o.Output, outputText)
	o.runnerOptions.addFlags(cmd)
	return cmd
}

// evalCheckResult is what evals check prints.
type evalCheckResult struct {
	Record     string            `json:"record"`
	Suite      digest.Digest     `json:"suite"`
	System     digest.Digest     `json:"system"`
	StoredRun  digest.Digest     `json:"stored_run"`
	ReplayRun  digest.Digest     `json:"replayed_run"`
	Comparison *evals.Comparison `json:"comparison"`
	Verdict    string            `json:"verdict"`
}

func runEvalsCheck(ctx context.Context, g *globalOptions, s *streams, o *evalsCheckOptions, path string) error {
	if !(o.Margin > 0) || !(o.Alpha > 0 && o.Alpha < 0.5) {
		return usageErrorf("--eval-margin must be > 0 and --alpha in (0, 0.5)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return usageErrorf("record %s: %v", path, err)
	}
	rec, err := record.Parse(b)
	if err != nil {
		return fmt.Errorf("record %s: %w", path, err)
	}
	if rec.EvalSuite.IsZero() {
		return usageErrorf("record %s pins no eval suite (eval_suite)", path)
	}
	if err := rec.System.Check(); err != nil {
		return fmt.Errorf("record %s: %w", path, err)
	}
	st, err := initStore(g)
	if err != nil {
		return err
	}
	su, err := evals.Load(ctx, st, rec.EvalSuite)
	if err != nil {
		return err
	}
	h, err := evals.History(ctx, st, su.Digest, rec.System.ID)
	if err != nil {
		return err
	}
	// The baseline is the earliest run that is not itself a check's run.
	var stored *evals.HistoryEntry
	for i := range h {
		if h[i].Replays.IsZero() {
			stored = &h[i]
			break
		}
	}
	if stored == nil {
		return usageErrorf("the store holds no run of system %s on suite %s %s (%s): run 'reprise evals run --suite %s --system %s' first",
			rec.System.ID, su.Spec.Name, su.Spec.Version, su.Digest, su.Digest, path)
	}
	storedRows, err := evals.LoadRows(ctx, st, stored.RunManifest)
	if err != nil {
		return err
	}
	seed := o.RunSeed
	if seed < 0 {
		seed = stored.RunSeed + 1
	}
	target := launch.FromRecord(rec)
	m := &evals.RunManifest{Suite: su.Digest, SuiteName: su.Spec.Name, SuiteVersion: su.Spec.Version, System: target.System,
		Protocol: target.Protocol, HardwareClass: target.HardwareClass, Params: stored.Params, RunSeed: seed, Epochs: stored.Epochs, Replays: stored.Run}
	rows, err := runItems(ctx, g, s, &o.runnerOptions, st, target, su, m, nil)
	if err != nil {
		return err
	}
	m.Ran = len(su.Items)
	m.Summary = evals.Summarize(su, rows, stored.Summary.Conf)
	m.Created = o.now().UTC()
	nd, err := evals.Save(ctx, st, m, rows)
	if err != nil {
		return err
	}
	c, err := evals.Compare(stored.Run, nd, stored.RunManifest, m, storedRows, rows, evals.CompareOptions{Margin: o.Margin, Alpha: o.Alpha, Seed: uint64(seed)})
	if err != nil {
		return err
	}
	res := evalCheckResult{Record: rec.RequestID, Suite: su.Digest, System: rec.System.ID, StoredRun: stored.Run, ReplayRun: nd, Comparison: c, Verdict: evals.EvalVerdict(c)}
	if err := writeResult(s.Out, o.Output, res, func(w io.Writer) error {
		fmt.Fprintf(w, "%s: eval suite %s %s (%s): %s\n", rec.RequestID, su.Spec.Name, su.Spec.Version, su.Digest, res.Verdict)
		fmt.Fprintf(w, "  stored run %s: %.4f; replayed run %s: %.4f\n", short(stored.Run), c.MeanA, short(nd), c.MeanB)
		fmt.Fprintf(w, "  difference %+.4f, %g%% interval [%.4f, %.4f], margin ±%g, TOST p = %.4g\n",
			c.Diff, (1-2*o.Alpha)*100, *c.EqLower, *c.EqUpper, c.Margin, *c.TOSTP)
		fmt.Fprintf(w, "  %s: p = %.4g; flipped items: %d\n", c.Test, c.PValue, len(c.Flipped))
		return nil
	}); err != nil {
		return err
	}
	switch res.Verdict {
	case evals.Diverged:
		return &silentError{code: exitDiverged}
	case evals.Inconclusive:
		return &silentError{code: exitInconclusive}
	}
	return nil
}
