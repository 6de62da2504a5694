package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
}

func (f HTTPFixture) start(t *testing.T, r Starter) runners.Session {
	t.Helper()
	return startSpec(t, r, runners.Spec{Image: f.Image, ModelPath: f.ModelPath, ConfigPath: f.ConfigPath,
		Env: f.Env, Codec: f.Codec, StartTimeout: 30 * time.Second, RunTimeout: 5 * time.Second, SessionTimeout: time.Minute}, f.AfterClose)
}

// RunHTTP runs the conformance suite of HTTP sessions.
func RunHTTP(t *testing.T, r Starter, f HTTPFixture) {
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
