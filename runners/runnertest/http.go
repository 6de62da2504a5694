package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// HTTPFixture is an HTTP system under the suite: the loan approver over
// kserve-v2 (or any server whose Input answers with seeded outputs and
// whose BadInput is refused with a non-2xx status).
type HTTPFixture struct {
	Image      system.ImageRef
	ModelPath  string
	ConfigPath string
	Env        map[string]string
	Codec      runners.HTTPCodec
	Input      json.RawMessage
	BadInput   json.RawMessage
	AfterClose func(t *testing.T)
	// WithSwitches, when set, returns a runner of a server started with the
	// extra environment env (the fixture's test switches), for runners that
	// cannot start one themselves (endpoint); otherwise env goes into the
	// spec.
	WithSwitches func(t *testing.T, env map[string]string) Starter
}

func (f HTTPFixture) spec() runners.Spec {
	return runners.Spec{Image: f.Image, ModelPath: f.ModelPath, ConfigPath: f.ConfigPath,
		Env: f.Env, Codec: f.Codec, StartTimeout: 30 * time.Second, RunTimeout: 5 * time.Second, SessionTimeout: time.Minute}
}

func (f HTTPFixture) start(t *testing.T, r Starter) runners.Session {
	t.Helper()
	return startSpec(t, r, f.spec(), f.AfterClose)
}

// startWith starts a session of a server with the test switches env and
// the spec changed by edit.
func (f HTTPFixture) startWith(t *testing.T, r Starter, env map[string]string, edit func(*runners.Spec)) runners.Session {
	t.Helper()
	r, spec := f.switched(t, r, env)
	if edit != nil {
		edit(&spec)
	}
	return startSpec(t, r, spec, f.AfterClose)
}

// switched returns the runner and spec of a server with the test switches
// env.
func (f HTTPFixture) switched(t *testing.T, r Starter, env map[string]string) (Starter, runners.Spec) {
	spec := f.spec()
	if f.WithSwitches != nil {
		return f.WithSwitches(t, env), spec
	}
	spec.Env = maps.Clone(spec.Env)
	if spec.Env == nil {
		spec.Env = map[string]string{}
	}
	maps.Copy(spec.Env, env)
	return r, spec
}

// runUntilError runs seeds 0, 1, … up to n times and stops at the first
// error: it returns how many runs answered with an output, and the error.
func (f HTTPFixture) runUntilError(s runners.Session, n int) (int, error) {
	ok := 0
	for i := range n {
		resp, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(int64(i))})
		if err != nil {
			return ok, err
		}
		if !resp.Output.IsZero() {
			ok++
		}
	}
	return ok, nil
}

// RunHTTP runs the conformance suite of HTTP sessions: the session
// contract, then what an HTTP session of the fixture does (concurrency,
// timeouts, crashes, garbage, refused requests).
func RunHTTP(t *testing.T, r Starter, f HTTPFixture) {
	t.Run("session contract", func(t *testing.T) {
		RunContract(t, r, Contract{Spec: f.spec(), Input: f.Input, AfterClose: f.AfterClose,
			Crash: func(t *testing.T, at int) (Starter, runners.Spec) { return f.switched(t, r, crashAfter(at)) }})
	})
	t.Run("same seed same canonical bytes, many runs in one session", func(t *testing.T) {
		s := f.start(t, r)
		ctx := context.Background()
		first, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(42)})
		if err != nil {
			t.Fatal(err)
		}
		if first.Output.IsZero() || len(first.Raw) == 0 || s.Info().URL == "" {
			t.Fatalf("response %+v, info %+v", first, s.Info())
		}
		distinct := map[string]bool{}
		for i := range 100 {
			resp, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(int64(i))})
			if err != nil {
				t.Fatalf("run %d: %v", i, err)
			}
			distinct[string(f.Codec.Canonical(resp.Raw))] = true
		}
		again, err := s.Run(ctx, runners.Request{Input: f.Input, Params: seed(42)})
		if err != nil || !bytes.Equal(f.Codec.Canonical(again.Raw), f.Codec.Canonical(first.Raw)) {
			t.Fatalf("seed 42 again: %q vs %q (%v)", again.Raw, first.Raw, err)
		}
		if len(distinct) < 2 {
			t.Fatalf("100 seeds gave one answer")
		}
	})
	t.Run("concurrent requests: each answer is its own seed's, in order", func(t *testing.T) {
		one := f.start(t, r)
		want := map[int64][]byte{}
		var reqs []runners.Request
		for i := range 40 {
			resp, err := one.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(int64(i))})
			if err != nil {
				t.Fatal(err)
			}
			want[int64(i)] = f.Codec.Canonical(resp.Raw)
			reqs = append(reqs, runners.Request{Input: f.Input, Params: seed(int64(i))})
		}
		one.Close(context.Background()) // one session at a time: AfterClose checks for leftovers
		s := f.startWith(t, r, nil, func(s *runners.Spec) { s.Concurrency = 4 })
		if s.Info().Concurrency != 4 {
			t.Fatalf("info: %+v", s.Info())
		}
		got := 0
		s.(runners.Batcher).RunBatch(context.Background(), reqs, func(i int, resp runners.Response, err error) bool {
			if err != nil || i != got || !bytes.Equal(f.Codec.Canonical(resp.Raw), want[int64(i)]) {
				t.Fatalf("run %d (after %d): %q, want %q (%v)", i, got, resp.Raw, want[int64(i)], err)
			}
			got++
			return true
		})
		if got != len(reqs) {
			t.Fatalf("%d answers", got)
		}
	})
	t.Run("an answer past the run timeout is a timeout of its run, the runs before keep their answers", func(t *testing.T) {
		s := f.startWith(t, r, map[string]string{"REPRISE_FIXTURE_HANG_AFTER": "2"}, func(s *runners.Spec) { s.RunTimeout = time.Second })
		ok, err := f.runUntilError(s, 4)
		var re *runners.RunError
		if !errors.Is(err, runners.ErrTimeout) || !errors.As(err, &re) || re.Run != 2 || ok != 2 {
			t.Fatalf("after %d answers: %v, want ErrTimeout at run 2", ok, err)
		}
	})
	t.Run("a crash mid-session is a run error, the runs before keep their answers", func(t *testing.T) {
		s := f.startWith(t, r, map[string]string{"REPRISE_FIXTURE_CRASH_AFTER": "2"}, nil)
		ok, err := f.runUntilError(s, 4)
		var re *runners.RunError
		if !errors.Is(err, runners.ErrCrashed) || !errors.As(err, &re) || re.Run != 2 || ok != 2 {
			t.Fatalf("after %d answers: %v, want ErrCrashed at run 2", ok, err)
		}
		t.Logf("crash reported as: %v", err)
	})
	t.Run("an answer that is not JSON is a protocol error of its run", func(t *testing.T) {
		s := f.startWith(t, r, map[string]string{"REPRISE_FIXTURE_GARBAGE_AFTER": "1"}, nil)
		if _, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(1)}); err != nil {
			t.Fatal(err)
		}
		resp, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(2)})
		var re *runners.RunError
		if !errors.Is(err, runners.ErrProtocol) || !errors.As(err, &re) || re.Run != 1 || !resp.Output.IsZero() || !strings.Contains(err.Error(), "not JSON") {
			t.Fatalf("garbage: %+v, %v", resp, err)
		}
	})
	t.Run("a refused request is a run error, never an output; the session goes on", func(t *testing.T) {
		s := f.start(t, r)
		resp, err := s.Run(context.Background(), runners.Request{Input: f.BadInput, Params: seed(1)})
		var re *runners.RunError
		if !errors.As(err, &re) || re.Run != 0 || !errors.Is(err, runners.ErrProtocol) || !resp.Output.IsZero() {
			t.Fatalf("refused request: %+v, %v", resp, err)
		}
		if resp, err := s.Run(context.Background(), runners.Request{Input: f.Input, Params: seed(2)}); err != nil || resp.Output.IsZero() {
			t.Fatalf("run after a refused request: %+v, %v", resp, err)
		}
	})
}
