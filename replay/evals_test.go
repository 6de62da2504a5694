package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// evalFixture packs a label suite of 30 items (27 with reference
// "approved", 3 "denied") into st, pins it in rec, and, when baseline is not
// nil, stores a run of baseline's answers (2 epochs, run seed 1) as the run
// of rec's system on it.
func evalFixture(t *testing.T, st *store.Layout, rec *record.Record, baseline *fakeSystem) digest.Digest {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, evals.SpecFile), []byte(`{"name":"fake-labels","version":"1","scorer":{"type":"label"}}`), 0o644)
	var items strings.Builder
	for i := range 30 {
		ref := "approved"
		if i%10 == 9 {
			ref = "denied"
		}
		fmt.Fprintf(&items, `{"id":"it-%02d","input":{"i":%d},"reference":%q}`+"\n", i, i, ref)
	}
	os.WriteFile(filepath.Join(dir, evals.ItemsFile), []byte(items.String()), 0o644)
	su, err := evals.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evals.Pack(ctx, st, su); err != nil {
		t.Fatal(err)
	}
	rec.EvalSuite = su.Digest
	if baseline != nil {
		rows, err := evals.Run(ctx, &fakeSession{sys: baseline}, su, rec.System.ID, evals.RunOptions{Epochs: 2, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		m := &evals.RunManifest{Suite: su.Digest, SuiteName: su.Spec.Name, SuiteVersion: su.Spec.Version, System: rec.System,
			Protocol: rec.Runtime.Protocol, HardwareClass: hw, RunSeed: 1, Epochs: 2, Ran: 30,
			Summary: evals.Summarize(su, rows, 0.95), Created: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}
		if _, err := evals.Save(ctx, st, m, rows); err != nil {
			t.Fatal(err)
		}
	}
	return su.Digest
}

func findTest(rep *Report, prefix string) *verdict.TestResult {
	for i := range rep.Tests {
		if strings.HasPrefix(rep.Tests[i].Name, prefix) {
			return &rep.Tests[i]
		}
	}
	return nil
}

// TestReplayPinnedEvalSuite replays records that pin a suite on a
// deterministic fake system (every answer "approved", so nothing depends on
// a draw): the suite runs on the replay's one session before the replay's
// runs, is one more check sharing alpha, and fills the report's eval section.
func TestReplayPinnedEvalSuite(t *testing.T) {
	ctx := context.Background()
	same := &fakeSystem{labels: []string{"approved"}, probs: []float64{1}, failAt: -1}
	other := &fakeSystem{labels: []string{"denied"}, probs: []float64{1}, failAt: -1}
	opts := func(st *store.Layout, mode evals.CheckMode) Options {
		return Options{N: 50, Launch: launch.Options{HostClass: hw}, System: evals.Checker{Options: evals.CheckOptions{Mode: mode, Store: st}}}
	}

	t.Run("reproduced", func(t *testing.T) {
		sys := &fakeSystem{labels: same.labels, probs: same.probs, failAt: -1}
		st, rec := newRecord(t, sys, 42, "approved", 1)
		suite := evalFixture(t, st, rec, same)
		res, err := Replay(ctx, st, rec, sys, opts(st, ""))
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		if sys.starts != 1 || rep.Verdict != verdict.Reproduced || rep.Eval == nil || rep.Eval.Verdict != verdict.Reproduced {
			t.Fatalf("starts %d verdict %s eval %+v reasons %v", sys.starts, rep.Verdict, rep.Eval, rep.Reasons)
		}
		ev := rep.Eval
		// Same answers on every item: difference 0 with no variance.
		if ev.Suite != suite.String() || ev.Items != 30 || ev.Epochs != 2 || ev.RunSeed != 2 || ev.Diff != 0 || math.Abs(ev.MeanBaseline-0.9) > 1e-12 ||
			len(ev.Flipped) != 0 || ev.TOSTP != 0 || ev.Margin != evals.DefaultEvalMargin {
			t.Fatalf("eval section %+v", ev)
		}
		// Three checks (label, score, eval): each at alpha/3.
		et := findTest(rep, "eval suite fake-labels 1")
		if et == nil || et.Level == nil || *et.Level != 0.01/3 || ev.Level != 0.01/3 || len(rep.Tests) != 3 {
			t.Fatalf("tests %+v", rep.Tests)
		}
		// The replay's own runs keep their indices: the pinned seed is run 0.
		if len(res.Runs) != 51 || res.Runs[0].Kind != "pinned" || res.Runs[0].Index != 0 {
			t.Fatalf("runs %d, first %+v", len(res.Runs), res.Runs[0])
		}
		// The new run is stored, marked as a reproduction of the baseline.
		h, err := evals.History(ctx, st, suite, rec.System.ID)
		if err != nil || len(h) != 2 || h[1].Run.String() != ev.Run || h[1].Replays.String() != ev.BaselineRun {
			t.Fatalf("history %v %+v", err, h)
		}
		md := rep.Markdown()
		for _, want := range []string{"## Eval suite: REPRODUCED", "fake-labels 1", "No item flipped."} {
			if !strings.Contains(md, want) {
				t.Fatalf("report.md lacks %q:\n%s", want, md)
			}
		}
	})

	t.Run("diverged despite an exact match", func(t *testing.T) {
		// The stored run says the system answered "denied" everywhere: 27
		// items flip from 0 to 1 and 3 from 1 to 0; the difference +0.8 has
		// the 1 − 2·0.01/3 paired t interval [0.474, 1.126] (0.8 ± t(29,
		// 1 − 0.01/3) · sqrt(10.8/29/30), gonum's StudentsT quantile),
		// outside ±0.02.
		sys := &fakeSystem{labels: same.labels, probs: same.probs, failAt: -1}
		st, rec := newRecord(t, sys, 42, "approved", 1)
		evalFixture(t, st, rec, other)
		res, err := Replay(ctx, st, rec, sys, opts(st, evals.CheckOn))
		if err != nil {
			t.Fatal(err)
		}
		rep := res.Report
		if rep.Exact == nil || !rep.Exact.ExactMatch || rep.Verdict != verdict.Diverged || rep.Eval.Verdict != verdict.Diverged ||
			len(rep.Eval.Flipped) != 30 || rep.Eval.Diff < 0.79 || rep.Eval.Diff > 0.81 || !(rep.Eval.Lower > 0.02) {
			t.Fatalf("verdict %s eval %+v", rep.Verdict, rep.Eval)
		}
		if et := findTest(rep, "eval suite"); et == nil || et.Rejected == nil || !*et.Rejected {
			t.Fatalf("eval test %+v", et)
		}
		if !strings.Contains(rep.Markdown(), "| it-00 | 0.000 | 1.000 |") {
			t.Fatalf("report.md lacks the flipped items:\n%s", rep.Markdown())
		}
	})

	t.Run("sequential stops early with the eval check", func(t *testing.T) {
		sys := &fakeSystem{labels: same.labels, probs: same.probs, failAt: -1}
		st, rec := newRecord(t, sys, 42, "approved", 1)
		evalFixture(t, st, rec, same)
		o := opts(st, evals.CheckAuto)
		o.Sequential, o.MaxRuns, o.Batch = true, 1000, 10
		res, err := Replay(ctx, st, rec, sys, o)
		if err != nil {
			t.Fatal(err)
		}
		// The pinned seed gives the stored output back and the eval suite
		// reproduces: a sequential replay settles before any fresh seed.
		if res.Report.Verdict != verdict.Reproduced || res.Report.Replay.N != 0 || res.Report.Eval == nil {
			t.Fatalf("verdict %s after %d runs, eval %+v", res.Report.Verdict, res.Report.Replay.N, res.Report.Eval)
		}
	})

	t.Run("modes", func(t *testing.T) {
		sys := &fakeSystem{labels: same.labels, probs: same.probs, failAt: -1}
		st, rec := newRecord(t, sys, 42, "approved", 1)
		suite := evalFixture(t, st, rec, nil) // no stored run
		// auto: skipped, with a note naming the command that makes a run.
		res, err := Replay(ctx, st, rec, sys, opts(st, evals.CheckAuto))
		if err != nil || res.Report.Eval != nil || !strings.Contains(strings.Join(res.Report.Notes, "\n"), "reprise evals run --suite "+suite.String()) {
			t.Fatalf("auto: %v %+v %v", err, res.Report.Eval, res.Report.Notes)
		}
		// on: a usage error before anything starts.
		starts := sys.starts
		_, err = Replay(ctx, st, rec, sys, opts(st, evals.CheckOn))
		if !errors.Is(err, evals.ErrCheckRequired) || !errors.Is(err, evals.ErrNoBaseline) || sys.starts != starts {
			t.Fatalf("on: %v (starts %d → %d)", err, starts, sys.starts)
		}
		// off: never run, even with a stored run.
		evalFixture(t, st, rec, same)
		res, err = Replay(ctx, st, rec, sys, opts(st, evals.CheckOff))
		if err != nil || res.Report.Eval != nil {
			t.Fatalf("off: %v %+v", err, res.Report.Eval)
		}
		// on, a record that pins no suite: a usage error.
		rec.EvalSuite = digest.Digest{}
		if _, err := Replay(ctx, st, rec, sys, opts(st, evals.CheckOn)); !errors.Is(err, evals.ErrCheckRequired) || !strings.Contains(err.Error(), "pins no eval suite") {
			t.Fatalf("on without a suite: %v", err)
		}
	})
}

// TestReportMarkdownEvalGolden renders the report of a fixed replay with a
// diverged eval suite (fake systems, fixed clock, so even the run digests
// are fixed) and compares it with testdata/report.eval.golden.md
// (go test ./replay -run Golden -update rewrites it).
func TestReportMarkdownEvalGolden(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved"}, probs: []float64{1}, failAt: -1}
	st, rec := newRecord(t, sys, 42, "approved", 1)
	evalFixture(t, st, rec, &fakeSystem{labels: []string{"denied"}, probs: []float64{1}, failAt: -1})
	now := fixedClock()
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 40, Launch: launch.Options{HostClass: hw}, Now: now,
		System: evals.Checker{Options: evals.CheckOptions{Store: st, Now: now}}})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report.eval.golden.md", res.Report.Markdown())
}

// TestPinnedEvalInconclusiveStops: an inconclusive eval check cannot be
// settled by more replay runs, so a sequential replay stops as soon as the
// other checks can no longer reject instead of running to --max-runs.
// Every answer comes from a PCG seeded by the request seed: deterministic.
func TestPinnedEvalInconclusiveStops(t *testing.T) {
	ctx := context.Background()
	mixed := func() *fakeSystem {
		return &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.5, 0.5}, failAt: -1}
	}
	sys := mixed()
	st, rec := newRecord(t, sys, 42, "approved", 0.5)
	unseeded(rec)
	evalFixture(t, st, rec, mixed())
	o := Options{Sequential: true, MaxRuns: 1000, Batch: 10, Launch: launch.Options{HostClass: hw}, System: evals.Checker{Options: evals.CheckOptions{Mode: evals.CheckOn, Store: st}}}
	res, err := Replay(ctx, st, rec, sys, o)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	if rep.Eval == nil || rep.Eval.Verdict != verdict.Inconclusive {
		t.Fatalf("eval %+v", rep.Eval)
	}
	if rep.Verdict != verdict.Inconclusive || rep.Replay.N >= 1000 || !strings.Contains(rep.Replay.Stopped, "the cap cannot settle it") {
		t.Fatalf("verdict %s after %d runs (%s)", rep.Verdict, rep.Replay.N, rep.Replay.Stopped)
	}
}
