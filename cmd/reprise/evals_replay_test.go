package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// replayEvals runs the pinned-suite scenario through the CLI with the
// runner flags run (the loan approver, suite loan-v1, record captured from
// 2.4.1 with seed 42, so its pinned seed reproduces it exactly):
//   - replay --evals on without a stored run: exit 2 naming 'evals run';
//   - with a stored run of 2.4.1: exit 0, eval section REPRODUCED;
//   - in a store whose run of "2.4.1" was made by 2.4.2 (a baseline that
//     pins 2.4.1 but holds 2.4.2's answers, as the demo's diverged record
//     stores 2.4.2's decision): exit 1, eval section DIVERGED.
//
// The loan approver answers each seed deterministically and every run seed
// is pinned (evals run --run-seed 1, the replay's run seed 2), so nothing
// depends on the luck of a draw.
func replayEvals(t *testing.T, img string, run ...string) {
	ctx := context.Background()
	setup := func() (st, rec, v1 string) {
		st = filepath.Join(t.TempDir(), "store")
		v1 = strings.TrimSpace(cli(t, "", "--store", st, "evals", "pack", fx("suites", "loan-v1")).out)
		rec = captureRec(t, st, img, "2.4.1", "req_eval", append([]string{"--eval-suite", v1}, run...)...)
		return st, rec, v1
	}
	replayJSON := func(st, rec string, want int, args ...string) *replay.Report {
		t.Helper()
		out := filepath.Join(t.TempDir(), "o")
		r := cli(t, "", append(append([]string{"--store", st, "replay", rec, "-n", "100", "--output", out}, args...), run...)...)
		if r.code != want {
			t.Fatalf("replay %v: exit %d, want %d: %s %s", args, r.code, want, r.out, r.err)
		}
		var rep replay.Report
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report.json: %v", err)
		}
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		if !strings.Contains(string(md), "## Eval suite: "+string(rep.Eval.Verdict)) {
			t.Fatalf("report.md has no eval section:\n%s", md)
		}
		return &rep
	}
	evalRun := func(st, sys, v1 string) {
		t.Helper()
		if r := cli(t, "", append([]string{"--store", st, "evals", "run", "--suite", v1, "--system", sys, "-k", "20", "--run-seed", "1"}, run...)...); r.code != 0 {
			t.Fatalf("evals run: %d %s", r.code, r.err)
		}
	}

	t.Run("reproduced", func(t *testing.T) {
		st, rec, v1 := setup()
		r := cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "20", "--evals", "on", "--output", t.TempDir()}, run...)...)
		if r.code != 2 || !strings.Contains(r.err, "reprise evals run --suite "+v1) {
			t.Fatalf("--evals on without a stored run: %d %s", r.code, r.err)
		}
		evalRun(st, rec, v1)
		// 12 items × 20 epochs: the 1 − 2·0.01/3 interval of the difference
		// is about ±0.1 wide here.
		rep := replayJSON(st, rec, 0, "--eval-margin", "0.15")
		ev := rep.Eval
		if rep.Verdict != "REPRODUCED" || ev == nil || ev.Verdict != verdict.Reproduced || ev.Suite != v1 || ev.Items != 12 || ev.Epochs != 20 ||
			ev.RunSeed != 2 || len(ev.Flipped) != 0 || !(ev.Lower > -ev.Margin && ev.Upper < ev.Margin) {
			t.Fatalf("verdict %s eval %+v", rep.Verdict, ev)
		}
		// At the default margin ±0.02 the same evidence settles nothing: the
		// pinned seed reproduces the decision, the record is INCONCLUSIVE.
		rep = replayJSON(st, rec, 3)
		if rep.Verdict != "INCONCLUSIVE" || rep.Eval.Verdict != verdict.Inconclusive || rep.Eval.Margin != 0.02 || !rep.Exact.ExactMatch {
			t.Fatalf("default margin: verdict %s eval %+v", rep.Verdict, rep.Eval)
		}
	})

	t.Run("diverged", func(t *testing.T) {
		st, rec, v1 := setup()
		sys242 := filepath.Join(t.TempDir(), "sys-2.4.2.json")
		if r := cli(t, "", "--store", st, "system", "create", "--image", img, "--model", fx("models", "loan-approver-2.4.2.safetensors"),
			"--config", fx("configs", "loan-params-3.json"), "-o", sys242); r.code != 0 {
			t.Fatalf("system create: %d %s", r.code, r.err)
		}
		evalRun(st, sys242, v1)
		// Store 2.4.2's run again as a run of the record's system (2.4.1).
		s, err := store.Open(st)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(rec)
		rc, err := record.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		h, err := evals.History(ctx, s, digest.MustParse(v1), digest.Digest{})
		if err != nil || len(h) != 1 || h[0].System.ID == rc.System.ID {
			t.Fatalf("history %v %+v", err, h)
		}
		rows, err := evals.LoadRows(ctx, s, h[0].RunManifest)
		if err != nil {
			t.Fatal(err)
		}
		m := *h[0].RunManifest
		m.System = rc.System
		for i := range rows {
			rows[i].System = rc.System.ID.String()
		}
		if _, err := evals.Save(ctx, s, &m, rows); err != nil {
			t.Fatal(err)
		}
		rep := replayJSON(st, rec, 1)
		ev := rep.Eval
		if rep.Verdict != "DIVERGED" || rep.Exact == nil || !rep.Exact.ExactMatch || ev.Verdict != verdict.Diverged || len(ev.Flipped) == 0 ||
			!(ev.Lower > ev.Margin || ev.Upper < -ev.Margin) {
			t.Fatalf("verdict %s exact %+v eval %+v", rep.Verdict, rep.Exact, ev)
		}
		// --evals off leaves the suite alone: the decision alone reproduces.
		if rep := replayEvalsOff(t, st, rec, run); rep.Verdict != "REPRODUCED" || rep.Eval != nil {
			t.Fatalf("--evals off: %s %+v", rep.Verdict, rep.Eval)
		}
	})
}

// replayEvalsOff replays with --evals off and reads report.json.
func replayEvalsOff(t *testing.T, st, rec string, run []string) *replay.Report {
	t.Helper()
	out := filepath.Join(t.TempDir(), "o")
	r := cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "100", "--evals", "off", "--output", out}, run...)...)
	if r.code != 0 {
		t.Fatalf("replay --evals off: exit %d: %s", r.code, r.err)
	}
	var rep replay.Report
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report.json: %v", err)
	}
	return &rep
}

// TestReplayEvalsProcess is the pinned-suite scenario with the process
// runner (fast, no engine).
func TestReplayEvalsProcess(t *testing.T) {
	bin := buildLoanserver(t)
	replayEvals(t, "sha256:"+strings.Repeat("0", 64), "--runner", "process", "--entrypoint", bin)
}

// TestReplayEvalsDocker is the same scenario in the real sandbox: the suite
// runs on the replay's one container.
func TestReplayEvalsDocker(t *testing.T) {
	_, img := fixtureImage(t)
	replayEvals(t, img, "--runner", "docker")
}
