package main

import (
	"context"

	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// evalChecker wires the record's pinned eval suite (evals.Check) into a
// replay as its system check: replay does not import evals.
type evalChecker struct{ o evals.CheckOptions }

var _ replay.SystemChecker = evalChecker{}

// Prepare implements replay.SystemChecker.
func (c evalChecker) Prepare(ctx context.Context, rec *record.Record) (replay.Gather, []string, error) {
	p, notes, err := evals.PrepareCheck(ctx, rec, c.o)
	if err != nil || p == nil {
		return nil, notes, err
	}
	return func(ctx context.Context, sess *launch.Session, rules verdict.Rules) (replay.SystemEvidence, error) {
		ch, err := evals.RunCheck(ctx, p, sess, rec, rules.Alpha, c.o)
		if err != nil {
			return nil, err
		}
		return evalEvidence{ch}, nil
	}, notes, nil
}

// evalEvidence is an eval check's evidence with the report's section.
type evalEvidence struct{ *evals.Check }

// Section implements replay.SystemEvidence.
func (e evalEvidence) Section() *replay.EvalSection {
	r := e.Reproduction()
	cmp := r.Comparison
	flipped := make([]replay.EvalFlip, len(cmp.Flipped))
	for i, f := range cmp.Flipped {
		flipped[i] = replay.EvalFlip(f)
	}
	return &replay.EvalSection{Suite: r.Suite.String(), SuiteName: r.SuiteName, SuiteVersion: r.SuiteVersion,
		BaselineRun: r.Baseline.String(), Run: r.Run.String(), RunSeed: r.RunSeed, Epochs: r.Epochs, Items: cmp.Items,
		MeanBaseline: cmp.MeanA, MeanReplay: cmp.MeanB, Diff: cmp.Diff, Lower: *cmp.EqLower, Upper: *cmp.EqUpper,
		Margin: cmp.Margin, Level: cmp.Alpha, TOSTP: *cmp.TOSTP, Test: cmp.Test, PValue: cmp.PValue, Flipped: flipped,
		Verdict: r.Verdict, Warnings: cmp.Warnings, RunsMS: e.RunsMS()}
}
