package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/runnertest"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// fakeSystem is a hand-written stand-in for a jsonl-stdio system: labels
// drawn from probs with a PCG seeded by the request seed, score = the
// chosen label's probability. failAt >= 0 makes run failAt fail.
type fakeSystem struct {
	labels  []string
	probs   []float64
	failAt  int
	starts  int
	closed  int
	lastEnv map[string]string
	// ignoreSeed: the sessions answer by their own run count, not the
	// request's seed (a system that does not honour seeds).
	ignoreSeed bool
}

func (f *fakeSystem) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	f.starts++
	f.lastEnv = spec.Env
	if _, err := os.Stat(spec.ModelPath); err != nil {
		return nil, fmt.Errorf("model not handed over: %w", err)
	}
	return &fakeSession{sys: f}, nil
}

type fakeSession struct {
	sys *fakeSystem
	n   int
}

// answer is the fake system's label and score for seed.
func (s *fakeSession) answer(seed int64) (string, float64) {
	return runnertest.Draw(s.sys.labels, s.sys.probs, seed)
}

func (s *fakeSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	defer func() { s.n++ }()
	if s.n == s.sys.failAt {
		return runners.Response{}, &runners.RunError{Run: s.n, Err: fmt.Errorf("%w: exited with status 3", runners.ErrCrashed)}
	}
	seed := *req.Params.Seed
	if s.sys.ignoreSeed {
		seed = int64(s.n) + 1000
	}
	l, p := s.answer(seed)
	return runnertest.Decision(l, p, time.Millisecond), nil
}

func (s *fakeSession) Info() runners.Info              { return runners.Info{Runner: "fake", Pinned: true} }
func (s *fakeSession) Close(ctx context.Context) error { s.sys.closed++; return nil }

var _ Runner = (*fakeSystem)(nil)
var _ runners.Session = (*fakeSession)(nil)

const hw = "cpu/amd64/x86-64-v3"

// newRecord stores input, model and config and builds a record whose stored
// output is what the fake system answers for seed.
func newRecord(t *testing.T, sys *fakeSystem, seed int64, label string, score float64) (*store.Layout, *record.Record) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Init(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := st.PutBytes(ctx, []byte(`{"income": 1}`), store.Meta{})
	m, _ := st.PutBytes(ctx, []byte("model"), store.Meta{})
	c, _ := st.PutBytes(ctx, []byte("config"), store.Meta{})
	raw := runnertest.DecisionRaw(label, score)
	rec := &record.Record{
		Schema: record.Schema, RequestID: "req_test", Timestamp: time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC),
		Input:   record.Input{Digest: in, MediaType: "application/json"},
		Params:  system.Params{Seed: &seed},
		System:  system.System{Image: system.ImageRef{Digest: digest.MustParse("sha256:" + strings.Repeat("1", 64))}, Model: system.Artifact{Name: "m", Version: "1", Digest: m}, Config: system.Artifact{Name: "c", Version: "1", Digest: c}},
		Runtime: record.Runtime{Protocol: "jsonl-stdio", HardwareClass: hw},
		Output:  record.Output{Output: output.Output{Label: &label, Score: &score}, Digest: digest.FromBytes(raw)},
	}
	rec.System.Seal()
	return st, rec
}

// unseeded drops rec's pinned seed (so the replay is behavioral: it runs
// fresh seeds) and reseals its system.
func unseeded(rec *record.Record) {
	rec.Params.Seed = nil
	rec.System.Seal()
}

// replayOn replays rec with runner on a host of rec's hardware class (hw)
// and fails the test on an error.
func replayOn(t *testing.T, st Blobs, rec *record.Record, runner Runner, opts Options) *Result {
	t.Helper()
	opts.Launch.HostClass = hw
	res, err := Replay(context.Background(), st, rec, runner, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReplayVerdicts(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: -1}
	probe := &fakeSession{sys: sys}
	l42, p42 := probe.answer(42)

	t.Run("exact", func(t *testing.T) {
		st, rec := newRecord(t, sys, 42, l42, p42)
		res := replayOn(t, st, rec, sys, Options{N: 50})
		if res.Report.Verdict != verdict.Reproduced || res.Report.Basis != "exact" || !res.Report.Exact.ExactMatch {
			t.Fatalf("verdict %s basis %s exact %+v", res.Report.Verdict, res.Report.Basis, res.Report.Exact)
		}
		if len(res.Runs) != 51 || res.Runs[0].Kind != "pinned" || res.Runs[0].Seed != 42 {
			t.Fatalf("runs: %d, first %+v", len(res.Runs), res.Runs[0])
		}
	})
	t.Run("behavioral", func(t *testing.T) {
		// Stored under another seed's answer but a plausible label: the pinned
		// seed does not reproduce it, the distribution does.
		st, rec := newRecord(t, sys, 42, "approved", 0.8)
		unseeded(rec)
		// 700 runs: enough for both checks to have power at alpha 0.01 (528
		// runs for the label, 399 scores with the stored label).
		res := replayOn(t, st, rec, sys, Options{N: 700})
		if res.Report.Verdict != verdict.Reproduced || res.Report.Basis != "behavioral" || res.Report.Exact != nil {
			t.Fatalf("verdict %s basis %s", res.Report.Verdict, res.Report.Basis)
		}
	})
	for _, c := range []struct {
		name   string
		label  string
		score  float64
		n      int
		want   verdict.Verdict
		advice string // a reason that must be given
	}{
		{"diverged label", "escalated", 0.9, 600, verdict.Diverged, ""},
		// label fine, score impossible; three checks (label, score, the
		// seed probe): 599 scores needed
		{"diverged score", "approved", 0.42, 800, verdict.Diverged, ""},
		// 0 of 20: the upper bound 0.168 is above the minimum frequency
		// 0.01. alpha 0.01 over three checks (label, score and the seed
		// probe, which runs since seed 7 does not give the stored output):
		// ln(0.01/3)/ln(0.99) = 567.5: 568 runs settle it.
		{"inconclusive", "escalated", 0.9, 20, verdict.Inconclusive, "at least 568 runs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, rec := newRecord(t, sys, 7, c.label, c.score)
			r := replayOn(t, st, rec, sys, Options{N: c.n}).Report
			if r.Verdict != c.want || !strings.Contains(strings.Join(r.Reasons, "\n"), c.advice) {
				t.Fatalf("verdict %s, reasons %v; want %s and a reason saying %q", r.Verdict, r.Reasons, c.want, c.advice)
			}
		})
	}
}

// TestReplaySequential: a sequential replay stops at the first look where
// the verdict is settled, says so in the report, and runs the pinned seed
// first. Every source of randomness is pinned (the fake system's seeds).
func TestReplaySequential(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: -1}
	l42, p42 := (&fakeSession{sys: sys}).answer(42)
	cases := []struct {
		name         string
		seed         int64
		label        string
		score        float64
		noSeed       bool
		want         verdict.Verdict
		minN, maxN   int
		stoppedMatch string
	}{
		{"exact stops before any fresh seed", 42, l42, p42, false, verdict.Reproduced, 0, 0, "stopped after 0 of at most 1000 runs"},
		// the label check has power from run 528 on: the first look is at 530.
		// With the record's seed 7 its answer is not the stored one, so the
		// seed probe runs (TestSeedProbe): it takes its share of alpha (three
		// checks at 0.00333: the label check has power from run 568 on) and,
		// the answer being common among the fresh seeds, does not vote.
		{"never-seen label", 7, "escalated", 0.9, false, verdict.Diverged, 570, 570, "stopped after 570"},
		// 599 approved scores (80%, level 0.00333) come by about run 750.
		{"impossible score", 7, "approved", 0.42, false, verdict.Diverged, 650, 850, "was settled"},
		// the label is seen at once (its test cannot reject any more), its
		// confidence sequence clears 1% within a batch and the score ties.
		{"behavioral", 42, "approved", 0.8, true, verdict.Reproduced, 10, 10, "was settled"},
		// a 5% label: its confidence sequence clears 1% after about 11 of 270.
		{"rare label", 42, "referred", 0.05, true, verdict.Reproduced, 100, 400, "was settled"},
		// a score outside 19 scores of a 5% label: 399 such scores need
		// about 8000 runs, so the cap cannot settle it.
		{"rare label, impossible score: the cap cannot settle it", 42, "referred", 0.9, true, verdict.Inconclusive, 250, 600, "the cap cannot settle it (score_rank would need"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, rec := newRecord(t, sys, c.seed, c.label, c.score)
			if c.noSeed {
				unseeded(rec)
			}
			res := replayOn(t, st, rec, sys, Options{Sequential: true})
			r := res.Report
			if r.Verdict != c.want || r.Replay.N < c.minN || r.Replay.N > c.maxN || !strings.Contains(r.Replay.Stopped, c.stoppedMatch) {
				t.Fatalf("verdict %s after %d runs (%s); want %s after %d..%d runs; reasons %v", r.Verdict, r.Replay.N, r.Replay.Stopped, c.want, c.minN, c.maxN, r.Reasons)
			}
			if !c.noSeed && res.Runs[0].Kind != "pinned" {
				t.Fatalf("first run %+v", res.Runs[0])
			}
			fresh := len(res.Runs)
			for _, r := range res.Runs {
				if r.Kind == "pinned" {
					fresh--
				}
			}
			if fresh != r.Replay.N || !r.Replay.Sequential || r.Replay.MaxRuns != 1000 || r.Replay.Batch != 10 {
				t.Fatalf("%d fresh runs, replay params %+v", fresh, r.Replay)
			}
			if md := r.Markdown(); !strings.Contains(md, "Sequential: batches of 10, at most 1000 runs; stopped") {
				t.Fatalf("report.md does not say why it stopped:\n%s", md)
			}
		})
	}
}

func TestReplayIsRepeatable(t *testing.T) {
	sys := &fakeSystem{labels: []string{"a", "b"}, probs: []float64{0.5, 0.5}, failAt: -1}
	st, rec := newRecord(t, sys, 1, "a", 0.5)
	r1, _ := Replay(context.Background(), st, rec, sys, Options{N: 30, Launch: launch.Options{HostClass: hw}})
	r2, _ := Replay(context.Background(), st, rec, sys, Options{N: 30, Launch: launch.Options{HostClass: hw}})
	for i := range r1.Runs {
		if r1.Runs[i].Seed != r2.Runs[i].Seed || *r1.Runs[i].Label != *r2.Runs[i].Label {
			t.Fatalf("run %d differs", i)
		}
	}
	seed := uint64(99)
	r3, _ := Replay(context.Background(), st, rec, sys, Options{N: 30, Launch: launch.Options{HostClass: hw}, ReplaySeed: &seed})
	if r3.Runs[1].Seed == r1.Runs[1].Seed || r3.Report.Replay.ReplaySeed != 99 {
		t.Fatal("--replay-seed not used")
	}
	if uint64(r1.Report.Replay.ReplaySeed) != DeriveReplaySeed("req_test") {
		t.Fatal("default replay seed not derived from the request id")
	}
}

func TestReplayIntegrityStopsBeforeRunning(t *testing.T) {
	sys := &fakeSystem{labels: []string{"a"}, probs: []float64{1}, failAt: -1}
	st, rec := newRecord(t, sys, 1, "a", 1)
	p := filepath.Join(st.Root(), "blobs", "sha256", rec.Input.Digest.Hex())
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte(`{"income": 2}`), 0o644)
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 10, Launch: launch.Options{HostClass: hw}})
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), "input.digest") {
		t.Fatalf("err = %v", err)
	}
	if sys.starts != 0 || res.Report.Verdict != verdict.Failed {
		t.Fatalf("a session was started (%d) or verdict %s", sys.starts, res.Report.Verdict)
	}
}

func TestReplayHardwareClass(t *testing.T) {
	sys := &fakeSystem{labels: []string{"a"}, probs: []float64{1}, failAt: -1}
	st, rec := newRecord(t, sys, 1, "a", 1)
	_, err := Replay(context.Background(), st, rec, sys, Options{N: 5, Launch: launch.Options{HostClass: "cpu/arm64/armv8.2"}})
	if !errors.Is(err, ErrHardwareMismatch) || sys.starts != 0 {
		t.Fatalf("err = %v, starts %d", err, sys.starts)
	}
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 5, Launch: launch.Options{HostClass: "cpu/arm64/armv8.2", AllowHardwareMismatch: true}})
	if err != nil || !res.Report.Hardware.Override || res.Report.Hardware.Match || len(res.Report.Notes) == 0 {
		t.Fatalf("override: %v %+v", err, res.Report.Hardware)
	}
}

func TestReplayRunFailureKeepsPartialRuns(t *testing.T) {
	sys := &fakeSystem{labels: []string{"a", "b"}, probs: []float64{0.5, 0.5}, failAt: 5}
	st, rec := newRecord(t, sys, 1, "a", 0.5)
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 10, Launch: launch.Options{HostClass: hw}})
	var re *runners.RunError
	if !errors.As(err, &re) || re.Run != 5 || !errors.Is(err, runners.ErrCrashed) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Runs) != 6 || res.Runs[5].Error == "" || res.Report.Verdict != verdict.Failed || sys.closed != 1 {
		t.Fatalf("runs %d, verdict %s, closed %d", len(res.Runs), res.Report.Verdict, sys.closed)
	}
	dir := t.TempDir()
	if err := res.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	runs, err := ReadRuns(filepath.Join(dir, "runs.parquet"))
	if err != nil || len(runs) != 6 || runs[5].Error != res.Runs[5].Error {
		t.Fatalf("runs.parquet: %v, %d rows", err, len(runs))
	}
}

func TestReportFiles(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.9, 0.1}, failAt: -1}
	st, rec := newRecord(t, sys, 3, "approved", 0.9)
	res := replayOn(t, st, rec, sys, Options{N: 25})
	dir := filepath.Join(t.TempDir(), "out")
	if err := res.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "record", "runner", "hardware", "replay", "exact", "tests", "verdict", "timings"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report.json lacks %q", k)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "# Replay of req_test: "+string(res.Report.Verdict)) {
		t.Errorf("report.md:\n%s", md)
	}
	runs, err := ReadRuns(filepath.Join(dir, "runs.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(res.Runs) {
		t.Fatalf("%d rows, want %d", len(runs), len(res.Runs))
	}
	for i := range runs {
		a, b := runs[i], res.Runs[i]
		if a.Index != b.Index || a.Seed != b.Seed || *a.Label != *b.Label || *a.Score != *b.Score || a.OutputDigest != b.OutputDigest || a.LatencyNS != b.LatencyNS || a.Kind != b.Kind {
			t.Fatalf("row %d: %+v != %+v", i, a, b)
		}
	}
}

// TestReplayEnvironmentProvenance: the record's env_vars and limits are the
// defaults of a replay, explicit settings win, the report lists every
// effective setting with its source, and an extra variable the record does
// not pin, or an override of one it does, makes the environment not pinned
// (issue 8, items 3 and 4).
func TestReplayEnvironmentProvenance(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved"}, probs: []float64{1}, failAt: -1}
	l42, p42 := (&fakeSession{sys: sys}).answer(42)
	base := launch.Options{HostClass: hw, Limits: runners.Limits{MemoryBytes: 512 << 20, NanoCPUs: 1e9, Pids: 64},
		RunTimeout: 30 * time.Second, SessionTimeout: time.Hour}
	source := func(rep *Report) map[string]string {
		m := map[string]string{}
		for _, s := range rep.Environment.Settings {
			m[s.Name] = s.Value + " from " + s.Source
		}
		return m
	}

	t.Run("record pins, no flags", func(t *testing.T) {
		st, rec := newRecord(t, sys, 42, l42, p42)
		rec.Runtime.EnvVars = map[string]string{"A": "1"}
		rec.Runtime.Limits = &record.Limits{MemoryBytes: 1 << 30, Pids: 128}
		res, err := Replay(context.Background(), st, rec, sys, Options{N: 5, Launch: base})
		if err != nil {
			t.Fatal(err)
		}
		if sys.lastEnv["A"] != "1" || len(sys.lastEnv) != 1 {
			t.Fatalf("the record's env_vars were not used: %v", sys.lastEnv)
		}
		got, want := source(res.Report), map[string]string{
			"memory_bytes": "1073741824 from record", "cpus": "1 from default", "pids": "128 from record",
			"run_timeout": "30s from default", "session_timeout": "1h0m0s from default", "env.A": "1 from record"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("settings:\n got %v\nwant %v", got, want)
		}
		if !res.Report.Environment.Pinned || len(res.Report.Environment.Reasons) != 0 {
			t.Fatalf("environment: %+v", res.Report.Environment)
		}
		md := res.Report.Markdown()
		for _, s := range []string{"environment pinned: true", "| pids | 128 | record |", "| env.A | 1 | record |"} {
			if !strings.Contains(md, s) {
				t.Errorf("report.md lacks %q:\n%s", s, md)
			}
		}
	})

	t.Run("flags override and add", func(t *testing.T) {
		st, rec := newRecord(t, sys, 42, l42, p42)
		rec.Runtime.EnvVars = map[string]string{"A": "1", "B": "2"}
		rec.Runtime.Limits = &record.Limits{MemoryBytes: 1 << 30, Pids: 128}
		lo := base
		lo.Limits.Pids = 256
		lo.Env = map[string]string{"A": "9", "REPRISE_FIXTURE_NOISE": "50", "B": "2"}
		res, err := Replay(context.Background(), st, rec, sys, Options{N: 5, Launch: lo, Explicit: Explicit{Pids: true}})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(sys.lastEnv) != "map[A:9 B:2 REPRISE_FIXTURE_NOISE:50]" {
			t.Fatalf("env handed to the runner: %v", sys.lastEnv)
		}
		got := source(res.Report)
		if got["pids"] != "256 from flag" || got["memory_bytes"] != "1073741824 from record" || got["env.A"] != "9 from flag" || got["env.B"] != "2 from flag" {
			t.Fatalf("settings: %v", got)
		}
		env := res.Report.Environment
		if env.Pinned || len(env.Reasons) != 2 || !strings.Contains(env.Reasons[0], "--env A overrides the record's value \"1\"") ||
			!strings.Contains(env.Reasons[1], "REPRISE_FIXTURE_NOISE is not pinned by the record") {
			t.Fatalf("environment: %+v", env)
		}
		if !res.Report.Runner.Pinned {
			t.Error("the runner's own pinned fact changed")
		}
		md := res.Report.Markdown()
		if !strings.Contains(md, "environment pinned: false") || !strings.Contains(md, "REPRISE\\_FIXTURE\\_NOISE is not pinned") {
			t.Errorf("report.md:\n%s", md)
		}
	})
}

// TestReplayWithReference: a record with reference outputs is also compared
// with them; the same system is REPRODUCED (equivalent within the margin),
// references from another model make it DIVERGED. Seeds pinned.
func TestReplayWithReference(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: -1}
	other := &fakeSystem{labels: sys.labels, probs: []float64{0.6, 0.3, 0.1}, failAt: -1}
	for _, c := range []struct {
		name string
		from *fakeSystem
		want verdict.Verdict
	}{{"same system", sys, verdict.Reproduced}, {"another model", other, verdict.Diverged}} {
		t.Run(c.name, func(t *testing.T) {
			st, rec := newRecord(t, sys, 42, "approved", 0.8)
			unseeded(rec)
			ref := make([]output.Output, 1000)
			for i := range ref {
				l, p := (&fakeSession{sys: c.from}).answer(int64(1_000_000 + i))
				ref[i] = output.Output{Label: &l, Score: &p}
			}
			d, err := st.PutBytes(context.Background(), record.EncodeReference(ref), store.Meta{MediaType: record.ReferenceMediaType})
			if err != nil {
				t.Fatal(err)
			}
			rec.Reference = &record.Reference{Digest: d, Runs: len(ref)}
			res := replayOn(t, st, rec, sys, Options{N: 1500})
			r := res.Report
			if r.Verdict != c.want || len(r.Tests) != 4 || r.Tests[2].Name != "reference_labels" || r.Tests[3].Name != "reference_scores" {
				t.Fatalf("verdict %s, %d tests; reasons %v", r.Verdict, len(r.Tests), r.Reasons)
			}
		})
	}
}

// seedlessText answers textSystem's texts by its own run count, not the
// request's seed (a system that does not honour seeds).
type seedlessText struct{}

func (seedlessText) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	return &seedlessSession{}, nil
}

type seedlessSession struct{ n int64 }

func (s *seedlessSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	s.n++
	return (&textSession{}).Run(ctx, runners.Request{Input: req.Input, Params: req.Params.WithSeed(1000 + s.n)})
}
func (*seedlessSession) Info() runners.Info              { return runners.Info{Runner: "fake", Pinned: true} }
func (*seedlessSession) Close(ctx context.Context) error { return nil }

// TestSeedProbe: after a pinned-seed mismatch the replay runs the pinned
// seed twice more (runs 1 and 2, kind "pinned"; the fresh seeds follow
// from run 3). On a system deterministic given the seed (textSystem: one
// text per seed) the three answers are identical and no fresh seed gives that answer, so
// the record is DIVERGED (exact) though its stored text is a plausible
// replay (the issue: a record naming model A but storing model B's text
// was REPRODUCED (behavioral) with "the pinned seed did not reproduce the
// stored output exactly" among its reasons). On a system that ignores
// seeds the report says so and the behavioral checks decide.
func TestSeedProbe(t *testing.T) {
	stored := longText(vocabA, 123456) // a plausible text, not the pinned seed's
	textRecord := func(t *testing.T) (*store.Layout, *record.Record) {
		st, rec := newRecord(t, &fakeSystem{}, 7, "a", 0.5)
		rec.Output.Output = output.Output{Text: &stored}
		rec.Output.Digest = digest.FromBytes([]byte(stored))
		rec.System.Seal()
		return st, rec
	}
	var journal strings.Builder
	st, rec := textRecord(t)
	res := replayOn(t, st, rec, textSystem{}, Options{N: 100, Journal: &journal})
	r := res.Report
	if r.Verdict != verdict.Diverged || r.Basis != "exact" || r.Exact == nil || r.Exact.ExactMatch || r.Exact.SeedProbe == nil || !r.Exact.SeedProbe.Identical || r.Exact.SeedProbe.Run != 1 {
		t.Fatalf("deterministic: %s %q, exact %+v, reasons %v", r.Verdict, r.Basis, r.Exact, r.Reasons)
	}
	if res.Runs[0].Kind != "pinned" || res.Runs[1].Kind != "pinned" || res.Runs[1].Seed != 7 || res.Runs[1].Index != 1 || res.Runs[2].Kind != "pinned" || res.Runs[2].Index != 2 ||
		res.Runs[3].Kind != "replay" || res.Runs[3].Index != 3 || len(res.Runs) != 103 {
		t.Fatalf("runs: %d, %+v %+v %+v %+v", len(res.Runs), res.Runs[0], res.Runs[1], res.Runs[2], res.Runs[3])
	}
	if n := strings.Count(journal.String(), `"kind":"pinned"`); n != 3 {
		t.Fatalf("journal has %d pinned rows", n)
	}
	md := r.Markdown()
	for _, want := range []string{
		"Diverged **exact**",
		"Seed probe: the pinned seed ran again (runs 1–2): identical **true**; the 3 runs of the pinned seed are bit-identical",
		"none of the first 100 fresh seeds gave that answer",
		"| seed\\_determinism |",
	} {
		if !strings.Contains(md, want) {
			t.Fatalf("report.md lacks %q:\n%s", want, md)
		}
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"seed_probe":{"run":1,"last_run":2,"output_digest":"sha256:`) {
		t.Fatalf("report.json lacks exact.seed_probe: %s", b)
	}
	// Sequential: settled at the first look after n* = 10 fresh outputs.
	st, rec = textRecord(t)
	res, err := Replay(context.Background(), st, rec, textSystem{}, Options{Sequential: true, Launch: launch.Options{HostClass: hw}})
	if err != nil || res.Report.Verdict != verdict.Diverged || res.Report.Basis != "exact" || res.Report.Replay.N != 10 {
		t.Fatalf("sequential: %s %q after %d runs, %v", res.Report.Verdict, res.Report.Basis, res.Report.Replay.N, err)
	}

	st, rec = textRecord(t)
	res, err = Replay(context.Background(), st, rec, seedlessText{}, Options{N: 100, Launch: launch.Options{HostClass: hw}})
	if err != nil {
		t.Fatal(err)
	}
	r = res.Report
	if r.Verdict == verdict.Diverged || r.Basis == "exact" || r.Exact.SeedProbe == nil || r.Exact.SeedProbe.Identical ||
		!strings.Contains(strings.Join(r.Reasons, "\n"), "the system does not honour the seed: runs of the pinned seed differ") {
		t.Fatalf("seed-ignoring: %s %q, probe %+v, reasons %v", r.Verdict, r.Basis, r.Exact.SeedProbe, r.Reasons)
	}
	if !r.Exact.SeedIgnored {
		t.Fatalf("seed-ignoring: exact.seed_ignored not set: %+v", r.Exact)
	}
	md = r.Markdown()
	for _, want := range []string{
		"identical **false**; the server does not honour seed (runs with the pinned seed differed).",
		"exact match **false** (compared by the jsonl-stdio codec's canonical response bytes); the server does not honour seed (runs with the pinned seed differed), so the mismatch says nothing",
	} {
		if !strings.Contains(md, want) {
			t.Fatalf("report.md lacks %q:\n%s", want, md)
		}
	}
}
