package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
)

type evalsCheckOptions struct {
	runnerOptions
	Margin  float64
	Alpha   float64
	RunSeed int64
	Output  outputFormat
	now     func() time.Time
	set     func(string) bool
}

func newEvalsCheckCmd(g *globalOptions, s *streams) *cobra.Command {
	o := &evalsCheckOptions{now: time.Now}
	cmd := newCommand("check RECORD", "Replay a record's pinned eval suite and test whether its score distribution reproduces",
		help("evals-check"), cobra.ExactArgs(1),
		func(ctx context.Context, args []string) error { return runEvalsCheck(ctx, g, s, o, args[0]) })
	f := cmd.Flags()
	o.set = f.Changed
	f.Float64Var(&o.Margin, "eval-margin", 0.02, "equivalence margin of the mean score")
	f.Float64Var(&o.Alpha, "alpha", 0.05, "level of the TOST")
	f.Int64Var(&o.RunSeed, "run-seed", 0, "run seed of the replayed run (default: the stored run's seed + 1)")
	f.BoolVar(&o.AllowHardwareMismatch, "allow-hardware-mismatch", false, "run even when this host's hardware class differs from the record's")
	addFormatFlag(cmd, &o.Output, outputText)
	o.runnerOptions.addFlags(cmd)
	return cmd
}

func runEvalsCheck(ctx context.Context, g *globalOptions, s *streams, o *evalsCheckOptions, path string) error {
	if !(o.Margin > 0) || !(o.Alpha > 0 && o.Alpha < 0.5) {
		return usageErrorf("--eval-margin must be > 0 and --alpha in (0, 0.5)")
	}
	rec, err := capture.LoadRecord(ctx, path)
	if err != nil {
		return err
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
	ro := evals.ReproduceOptions{Margin: o.Margin, Alpha: o.Alpha, Logger: g.logger(s), Now: o.now}
	if o.set("run-seed") && o.RunSeed >= 0 { // as before: a negative seed means the default
		ro.RunSeed = &o.RunSeed
	}
	res, err := evals.CheckRecord(ctx, st, rec, ro, func(target launch.Target, f func(*launch.Session) error) error {
		return o.WithSession(ctx, st, target, ro.Logger, f)
	})
	if errors.Is(err, evals.ErrNoBaseline) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	if err := writeResult(s.Out, o.Output, res, res.WriteText); err != nil {
		return err
	}
	if code := verdictCode(res.Verdict); code != exitOK {
		return &silentError{code: code}
	}
	return nil
}
