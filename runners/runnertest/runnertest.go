// Package runnertest is the conformance suite every runner passes. Run
// (stdio) and RunHTTP hold the real runners (docker, process, endpoint) to
// it against the fixture loan approver (fixtures/loanserver) and the
// fixture text server, with their test switches; both begin with the
// session contract (RunContract), which the tests' hand-written fake
// systems run alone against their own spec and input.
package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/system"
)

// Starter is what a runner offers.
type Starter interface {
	Start(ctx context.Context, spec runners.Spec) (runners.Session, error)
}

// Fixture says where the fixture system's files are.
type Fixture struct {
	Image      system.ImageRef // pinned image (docker) or zero (process)
	ModelPath  string
	ConfigPath string
	Input      json.RawMessage
	// AfterClose is called after each session is closed, e.g. to check that
	// no container is left.
	AfterClose func(t *testing.T)
}

func (f Fixture) spec(env map[string]string) runners.Spec {
	return runners.Spec{Image: f.Image, ModelPath: f.ModelPath, ConfigPath: f.ConfigPath, Env: env,
		Codec: jsonl.Codec{}, RunTimeout: 3 * time.Second, SessionTimeout: time.Minute}
}

func seed(s int64) system.Params { return system.Params{}.WithSeed(s) }

func start(t *testing.T, r Starter, f Fixture, env map[string]string) runners.Session {
	t.Helper()
	return startSpec(t, r, f.spec(env), f.AfterClose)
}

// startSpec starts a session of spec and, when the test ends, closes it
// twice (Close must be idempotent) and calls afterClose.
func startSpec(t *testing.T, r Starter, spec runners.Spec, afterClose func(*testing.T)) runners.Session {
	t.Helper()
	s, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if afterClose != nil {
			afterClose(t)
		}
	})
	return s
}

// Run runs the conformance suite: the session contract, then what a stdio
// session of the fixture does (error answers, echoed ids, pipelining,
// crashes, hangs, garbage, the response limit, cancellation).
func Run(t *testing.T, r Starter, f Fixture) {
	t.Run("session contract", func(t *testing.T) {
		RunContract(t, r, Contract{Spec: f.spec(nil), Input: f.Input, AfterClose: f.AfterClose,
			Crash: func(t *testing.T, at int) (Starter, runners.Spec) { return r, f.spec(crashAfter(at)) }})
	})
	t.Run("same seed same bytes, many runs in one session", func(t *testing.T) {
		s := start(t, r, f, nil)
		ctx := context.Background()
		first, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(42)})
		if err != nil {
			t.Fatal(err)
		}
		if first.Output.Label == nil || first.Output.Score == nil || len(first.Raw) == 0 {
			t.Fatalf("response %+v", first)
		}
		labels := map[string]int{}
		for i := range 200 {
			resp, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(int64(i))})
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
			labels[*resp.Output.Label]++
		}
		again, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(42)})
		canon := jsonl.Codec{}.Canonical // the raw line without the echoed id
		if err != nil || !bytes.Equal(canon(again.Raw), canon(first.Raw)) {
			t.Fatalf("seed 42 again: %q vs %q (%v)", again.Raw, first.Raw, err)
		}
		if len(labels) < 2 {
			t.Fatalf("200 seeds gave one label: %v", labels)
		}
	})
	t.Run("an error answer is an outcome of its run, the session goes on", func(t *testing.T) {
		s := start(t, r, f, nil)
		resp, err := s.Run(context.Background(), runners.Request{Input: json.RawMessage(`{"income": 1}`), Params: seed(1)})
		if err != nil || resp.Error == "" || !resp.Output.IsZero() {
			t.Fatalf("error answer: %+v, %v", resp, err)
		}
		resp, err = s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(2)})
		if err != nil || resp.Error != "" || resp.Output.Label == nil {
			t.Fatalf("run after an error answer: %+v, %v", resp, err)
		}
	})
	t.Run("ids are echoed, and a finished session printed nothing more", func(t *testing.T) {
		s := start(t, r, f, nil)
		for i := range 3 {
			resp, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(int64(i))})
			if err != nil || resp.ID != fmt.Sprintf("r%d", i) {
				t.Fatalf("run %d: id %q, %v", i, resp.ID, err)
			}
		}
		fin, ok := s.(runners.Finisher)
		if !ok {
			t.Fatal("the session is not a runners.Finisher")
		}
		if err := fin.Finish(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("pipelined runs: each answer is its own seed's, in order", func(t *testing.T) {
		one := start(t, r, f, nil)
		var reqs []runners.Request
		var want [][]byte
		canon := jsonl.Codec{}.Canonical
		for i := range 60 {
			resp, err := one.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(int64(i))})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, canon(resp.Raw))
			reqs = append(reqs, runners.Request{Input: f.Input, Params: seed(int64(i))})
		}
		one.Close(context.Background()) // one session at a time: AfterClose checks for leftovers
		for _, window := range []int{1, 8} {
			spec := f.spec(nil)
			spec.Window = window
			s := startSpec(t, r, spec, f.AfterClose)
			got := 0
			s.(runners.Batcher).RunBatch(context.Background(), reqs, func(i int, resp runners.Response, err error) bool {
				if err != nil || i != got || !bytes.Equal(canon(resp.Raw), want[i]) || resp.ID != fmt.Sprintf("r%d", i) {
					t.Fatalf("window %d, run %d (after %d): %q (id %q), want %q (%v)", window, i, got, resp.Raw, resp.ID, want[i], err)
				}
				got++
				return true
			})
			if info := s.Info(); got != len(reqs) || info.Window != window || info.Pipelined != (window > 1) {
				t.Fatalf("window %d: %d answers, info %+v", window, got, info)
			}
			if err := s.(runners.Finisher).Finish(context.Background()); err != nil {
				t.Fatalf("window %d: finish: %v", window, err)
			}
			s.Close(context.Background())
		}
	})
	t.Run("a crash and a hang while pipelined", func(t *testing.T) {
		for _, tc := range []struct {
			env  string
			want error
		}{{"REPRISE_FIXTURE_CRASH_AFTER", runners.ErrCrashed}, {"REPRISE_FIXTURE_HANG_AFTER", runners.ErrTimeout}} {
			s := start(t, r, f, map[string]string{tc.env: "7"})
			var reqs []runners.Request
			for i := range 20 {
				reqs = append(reqs, runners.Request{Input: f.Input, Params: seed(int64(i))})
			}
			ok := 0
			var last error
			s.(runners.Batcher).RunBatch(context.Background(), reqs, func(i int, resp runners.Response, err error) bool {
				if err != nil {
					last = err
					return false
				}
				ok++
				return true
			})
			var re *runners.RunError
			if !errors.Is(last, tc.want) || !errors.As(last, &re) || re.Run != 7 || ok != 7 || !s.Info().Pipelined {
				t.Fatalf("%s=7: %d answers, %v (pipelined %v)", tc.env, ok, last, s.Info().Pipelined)
			}
			s.Close(context.Background())
		}
	})
	t.Run("a response over the limit", func(t *testing.T) {
		spec := f.spec(nil)
		spec.MaxResponseBytes = 10
		s, err := r.Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		_, err = s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(1)})
		if !errors.Is(err, runners.ErrProtocol) || !strings.Contains(err.Error(), "--max-response-size") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a crash mid-session", func(t *testing.T) {
		s := start(t, r, f, map[string]string{"REPRISE_FIXTURE_CRASH_AFTER": "3"})
		var err error
		for i := 0; i < 5 && err == nil; i++ {
			_, err = s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(int64(i))})
		}
		var re *runners.RunError
		if !errors.Is(err, runners.ErrCrashed) || !errors.As(err, &re) || re.Run != 3 {
			t.Fatalf("err = %v, want ErrCrashed at run 3", err)
		}
		t.Logf("crash reported as: %v", err)
	})
	t.Run("a hang", func(t *testing.T) {
		s := start(t, r, f, map[string]string{"REPRISE_FIXTURE_HANG_AFTER": "1"})
		if _, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(1)}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(2)})
		var re *runners.RunError
		if !errors.Is(err, runners.ErrTimeout) || !errors.As(err, &re) || re.Run != 1 {
			t.Fatalf("err = %v, want ErrTimeout at run 1", err)
		}
		if d := time.Since(t0); d > 20*time.Second {
			t.Fatalf("timeout took %s", d)
		}
	})
	t.Run("a line that is not JSON", func(t *testing.T) {
		s := start(t, r, f, map[string]string{"REPRISE_FIXTURE_GARBAGE_AFTER": "0"})
		_, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(1)})
		if !errors.Is(err, runners.ErrProtocol) {
			t.Fatalf("err = %v, want ErrProtocol", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		s := start(t, r, f, map[string]string{"REPRISE_FIXTURE_HANG_AFTER": "0"})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(200 * time.Millisecond); cancel() }()
		_, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(1)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// BenchRuns runs b.N requests of input with fresh seeds through s: in
// batches of 100 through runners.Batcher (so a pipelining session keeps
// its window full), one Run at a time when s is not a Batcher. It reports
// runs/s.
func BenchRuns(b *testing.B, s runners.Session, input json.RawMessage) {
	b.Helper()
	ctx := context.Background()
	bt, batched := s.(runners.Batcher)
	reqs := make([]runners.Request, 0, 100)
	send := func() {
		if batched {
			bt.RunBatch(ctx, reqs, func(i int, _ runners.Response, err error) bool {
				if err != nil {
					b.Fatal(err)
				}
				return true
			})
		} else {
			for _, req := range reqs {
				if _, err := s.Run(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		}
		reqs = reqs[:0]
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		reqs = append(reqs, runners.Request{Input: input, Params: seed(int64(i))})
		if len(reqs) == cap(reqs) {
			send()
		}
	}
	send()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
