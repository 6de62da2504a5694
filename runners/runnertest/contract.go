package runnertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/reprise-dev/reprise/runners"
)

// Contract is a system under the session contract: what every
// runners.Session keeps, whatever its lifecycle and codec, and whatever the
// system behind it. The real runners run it as part of Run and RunHTTP; the
// tests' hand-written fakes run it alone (RunContract), so that a fake
// behaves as a real session does (restic's in-memory backend runs the
// backend suite).
type Contract struct {
	// Spec is the session to start. When its Codec is set, every answer's
	// Raw decodes to the answer's Output, and exact matches compare the
	// codec's canonical bytes (else Raw).
	Spec runners.Spec
	// Input is a request input the system answers with an output.
	Input json.RawMessage
	// Crash, when set, returns a runner and a spec whose session crashes at
	// run at (0-based): runs before it answer, run at fails with ErrCrashed.
	Crash func(t *testing.T, at int) (Starter, runners.Spec)
	// AfterClose is called after each session is closed.
	AfterClose func(t *testing.T)
}

func (c Contract) canonical(raw []byte) []byte {
	if c.Spec.Codec == nil {
		return raw
	}
	return c.Spec.Codec.Canonical(raw)
}

// answer checks one run's answer as every session gives it: no error, an
// output that validates, its raw bytes, which the codec decodes to the same
// output, and a latency that is not negative.
func (c Contract) answer(t *testing.T, run int, resp runners.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("run %d: %v", run, err)
	}
	if resp.Error != "" || resp.Output.Validate() != nil || len(resp.Raw) == 0 || resp.Latency < 0 {
		t.Fatalf("run %d: answer %+v (output: %v)", run, resp, resp.Output.Validate())
	}
	if c.Spec.Codec == nil {
		return
	}
	dec, err := c.Spec.Codec.Decode(resp.Raw)
	if err != nil || !dec.Output.Equal(resp.Output) {
		t.Fatalf("run %d: raw %q decodes to %v (%v), the session answered %v", run, resp.Raw, dec.Output, err, resp.Output)
	}
}

// RunContract runs the session contract against the sessions r starts.
func RunContract(t *testing.T, r Starter, c Contract) {
	t.Run("same seed same canonical bytes, many runs in one session", func(t *testing.T) {
		s := startSpec(t, r, c.Spec, c.AfterClose)
		if s.Info().Runner == "" {
			t.Errorf("Info names no runner: %+v", s.Info())
		}
		ctx := context.Background()
		first, err := s.Run(ctx, runners.Request{Input: c.Input, Params: seed(42)})
		c.answer(t, 0, first, err)
		for i := range 50 {
			resp, err := s.Run(ctx, runners.Request{Input: c.Input, Params: seed(int64(i))})
			c.answer(t, 1+i, resp, err)
		}
		again, err := s.Run(ctx, runners.Request{Input: c.Input, Params: seed(42)})
		c.answer(t, 51, again, err)
		if !bytes.Equal(c.canonical(again.Raw), c.canonical(first.Raw)) {
			t.Fatalf("seed 42 again: %q vs %q", again.Raw, first.Raw)
		}
		if fin, ok := s.(runners.Finisher); ok {
			if err := fin.Finish(ctx); err != nil {
				t.Fatalf("Finish: %v", err)
			}
		}
	})
	t.Run("a batch answers each request as one run would, in order", func(t *testing.T) {
		s := startSpec(t, r, c.Spec, c.AfterClose)
		b, ok := s.(runners.Batcher)
		if !ok {
			t.Skip("the session is not a runners.Batcher")
		}
		var reqs []runners.Request
		var want [][]byte
		for i := range 20 {
			req := runners.Request{Input: c.Input, Params: seed(int64(i))}
			resp, err := s.Run(context.Background(), req)
			c.answer(t, i, resp, err)
			reqs, want = append(reqs, req), append(want, c.canonical(resp.Raw))
		}
		got := 0
		b.RunBatch(context.Background(), reqs, func(i int, resp runners.Response, err error) bool {
			if i != got {
				t.Fatalf("yielded request %d after %d", i, got)
			}
			c.answer(t, len(want)+i, resp, err)
			if !bytes.Equal(c.canonical(resp.Raw), want[i]) {
				t.Fatalf("batch request %d: %q, want %q", i, resp.Raw, want[i])
			}
			got++
			return true
		})
		if got != len(reqs) {
			t.Fatalf("%d answers of %d", got, len(reqs))
		}
	})
	t.Run("a crash is an error of its run, never an output", func(t *testing.T) {
		if c.Crash == nil {
			t.Skip("the system cannot be made to crash")
		}
		cr, spec := c.Crash(t, 2)
		s := startSpec(t, cr, spec, c.AfterClose)
		for i := range 2 {
			resp, err := s.Run(context.Background(), runners.Request{Input: c.Input, Params: seed(int64(i))})
			c.answer(t, i, resp, err)
		}
		resp, err := s.Run(context.Background(), runners.Request{Input: c.Input, Params: seed(2)})
		var re *runners.RunError
		if !errors.Is(err, runners.ErrCrashed) || !errors.As(err, &re) || re.Run != 2 || !resp.Output.IsZero() {
			t.Fatalf("run 2: %+v, %v; want a *runners.RunError of run 2 wrapping ErrCrashed, and no output", resp, err)
		}
	})
}

// crashAfter is the fixture's switch that makes it crash at a run.
func crashAfter(at int) map[string]string {
	return map[string]string{"REPRISE_FIXTURE_CRASH_AFTER": fmt.Sprint(at)}
}
