package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/process"
	"github.com/reprise-dev/reprise/verdict"
)

const helperEnv = "REPRISE_REPLAY_TEST_HELPER"

// TestMain lets the test binary act as a jsonl-stdio system (helperEnv=big:
// a 1 MiB text answer per request, different per seed).
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "big" {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		w := bufio.NewWriter(os.Stdout)
		for sc.Scan() {
			var req struct{ Params struct{ Seed int64 } }
			json.Unmarshal(sc.Bytes(), &req)
			text := strconv.FormatInt(req.Params.Seed, 10) + strings.Repeat("x", 1<<20)
			b, _ := json.Marshal(map[string]string{"text": text})
			w.Write(append(b, '\n'))
			w.Flush()
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// errorSession answers an error at the runs in errAt, and an
// OutOfStepError (since `since`) at run oosAt.
type errorSession struct {
	fakeSession
	errAt        map[int]bool
	oosAt, since int
}

func (s *errorSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	n := s.n
	if n == s.oosAt {
		s.n++
		return runners.Response{}, &runners.RunError{Run: n, Err: &runners.OutOfStepError{Since: s.since, Err: fmt.Errorf("%w: unsolicited line %q", runners.ErrProtocol, `{"label":"a"}`)}}
	}
	if s.errAt[n] {
		s.n++
		return runners.Response{Error: "model exploded", Raw: []byte(`{"error":"model exploded"}`)}, nil
	}
	return s.fakeSession.Run(ctx, req)
}

type errorSystem struct {
	fakeSystem
	errAt        map[int]bool
	oosAt, since int
}

func (f *errorSystem) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	return &errorSession{fakeSession: fakeSession{sys: &f.fakeSystem}, errAt: f.errAt, oosAt: f.oosAt, since: f.since}, nil
}

func TestErrorAnswersAreOutcomes(t *testing.T) {
	sys := &errorSystem{fakeSystem: fakeSystem{labels: []string{"a", "b"}, probs: []float64{0.95, 0.05}, failAt: -1}, errAt: map[int]bool{3: true, 7: true}, oosAt: -1}
	probe := &fakeSession{sys: &sys.fakeSystem}
	l, p := probe.answer(1)
	st, rec := newRecord(t, &sys.fakeSystem, 1, l, p)
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 40, Launch: launch.Options{HostClass: hw}})
	if err != nil {
		t.Fatalf("an error answer ended the replay: %v", err)
	}
	if res.Report.ErrorAnswers != 2 || res.Report.Verdict == verdict.Failed {
		t.Fatalf("error answers %d, verdict %s", res.Report.ErrorAnswers, res.Report.Verdict)
	}
	if r := res.Runs[3]; r.Outcome != OutcomeError || !strings.Contains(r.Error, "model exploded") || r.Label != nil {
		t.Fatalf("run 3: %+v", r)
	}
	total := 0
	for _, c := range res.Report.LabelCounts {
		total += c
	}
	if total != 38 { // 40 fresh runs (1..40), two error answers among them
		t.Fatalf("the tests used %d outputs, want 38", total)
	}
	if !strings.Contains(res.Report.Markdown(), "Error answers: **2**") {
		t.Fatal("report.md does not show the error answers")
	}
}

func TestOutOfStepRunsAreInvalid(t *testing.T) {
	sys := &errorSystem{fakeSystem: fakeSystem{labels: []string{"a", "b"}, probs: []float64{0.5, 0.5}, failAt: -1}, oosAt: 6, since: 0}
	st, rec := newRecord(t, &sys.fakeSystem, 1, "a", 0.5)
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 10, Launch: launch.Options{HostClass: hw}})
	if !errors.Is(err, runners.ErrProtocol) || res.Report.Verdict != verdict.Failed || res.Report.Exact != nil {
		t.Fatalf("err %v, verdict %s, exact %+v", err, res.Report.Verdict, res.Report.Exact)
	}
	for _, r := range res.Runs[:6] {
		if r.Outcome != OutcomeInvalid || r.Label != nil || !strings.Contains(r.Error, "out of step since run 0") {
			t.Fatalf("run %d kept: %+v", r.Index, r)
		}
	}
}

// TestMemoryConstantInN: 1 MiB answers through the process runner; the heap
// kept after a replay must not grow with N.
func TestMemoryConstantInN(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 250 answers of 1 MiB")
	}
	exe, _ := os.Executable()
	runner := &process.Runner{Entrypoint: exe}
	kept := func(n int) uint64 {
		st, rec := newRecord(t, &fakeSystem{}, 1, "a", 0.5)
		text := "stored"
		rec.Output.Output = output.Output{Text: &text}
		rec.System.Seal()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := Replay(context.Background(), st, rec, runner, Options{N: n, Launch: launch.Options{HostClass: hw, Env: map[string]string{helperEnv: "big"}}})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(res)
		if len(res.Runs) != n+verdict.PinnedRuns { // the pinned seed, its probe runs (the stored text is not the answer), n fresh seeds
			t.Fatalf("%d runs", len(res.Runs))
		}
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	}
	small, large := kept(50), kept(200)
	t.Logf("heap kept: N=50 %d bytes, N=200 %d bytes", small, large)
	if large > small+8<<20 {
		t.Fatalf("heap kept grows with N: %d bytes at N=50, %d at N=200", small, large)
	}
}
